"""Login, refresh (rotation), logout, me."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from server import security
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, run_write
from server.models import RefreshFamily, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERRORS)


class LoginIn(In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device_id: str = Field(default="", max_length=100)


class RefreshIn(In):
    refresh_token: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: str
    team_id: str | None
    sip_user: str | None


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"
    user: UserOut


def user_out(u: User) -> UserOut:
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=u.role,
                   team_id=u.team_id, sip_user=u.sip_user)


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, request: Request, ctx: Ctx) -> TokenOut:
    cfg = ctx.config
    username = body.username.strip().lower()
    ip = _client_ip(request)
    keys = [f"user:{username}", f"ip:{ip}"]
    with ctx.reader() as s:
        wait = security.throttle_check(s, keys)
        user = s.execute(select(User).where(func.lower(User.username) == username)).scalar_one_or_none()
    if wait:
        raise ApiError(429, "throttled", "too many failed logins; try again later", {"Retry-After": str(wait)})
    # The slow hash runs outside any transaction: it must not hold SQLite's write lock.
    ok = security.verify_password(user.password_hash if user else None, body.password)
    if not ok or user is None or not user.active:
        limits = {keys[0]: cfg.login_max_failures}
        if not _is_loopback(ip):
            # Loopback is exempt from the per-address limit: behind a reverse proxy
            # without --proxy-headers every client would share it (and lock out all).
            limits[keys[1]] = cfg.login_ip_max_failures
        run_write(ctx, lambda s: security.throttle_fail(s, limits, cfg.login_window_s))
        raise ApiError(401, "bad_credentials", "wrong username or password")

    def issue(s) -> TokenOut:
        security.throttle_success(s, keys[0])
        fam = security.new_family(s, user, body.device_id)
        refresh = security.issue_refresh(s, fam.id, cfg.refresh_ttl_s)
        access = security.issue_access(ctx.keys.token_key, user, fam.id, cfg.access_ttl_s)
        return TokenOut(access_token=access, refresh_token=refresh, expires_in=cfg.access_ttl_s,
                        user=user_out(user))

    return run_write(ctx, issue)


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, ctx: Ctx) -> TokenOut:
    cfg = ctx.config

    def rotate(s) -> TokenOut:
        try:
            fam, user = security.rotate_refresh(s, body.refresh_token, cfg.refresh_grace_s)
        except security.RefreshError as exc:
            raise ApiError(401, exc.code, str(exc)) from exc
        new_refresh = security.issue_refresh(s, fam.id, cfg.refresh_ttl_s)
        access = security.issue_access(ctx.keys.token_key, user, fam.id, cfg.access_ttl_s)
        return TokenOut(access_token=access, refresh_token=new_refresh, expires_in=cfg.access_ttl_s,
                        user=user_out(user))

    return run_write(ctx, rotate)


@router.post("/logout", status_code=204, response_class=Response)
def logout(p: Caller, ctx: Ctx) -> Response:
    def revoke(s) -> None:
        fam = s.get(RefreshFamily, p.family_id)
        if fam is not None:
            security.revoke_family(s, fam, "logout")

    run_write(ctx, revoke)
    ctx.revocations.mark_revoked(p.family_id)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(p: Caller, ctx: Ctx) -> UserOut:
    with ctx.reader() as s:
        user = s.get(User, p.user_id)
    if user is None or not user.active:
        raise ApiError(401, "disabled", "account disabled")
    return user_out(user)
