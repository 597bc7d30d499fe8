"""Shared pieces of the HTTP layer: context, errors, auth dependencies, sessions."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from server import changes, floor
from server.aiodb import AsyncPg
from server.config import ServerConfig
from server.floor import FloorHub
from server.keys import ServerKeys
from server.models import User
from server.security import Principal, RevocationCache, read_access


@dataclass
class ServerContext:
    config: ServerConfig
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    keys: ServerKeys
    revocations: RevocationCache
    # SQLite has one writer at a time; a waiting writer sleeps in SQLite's busy
    # handler with growing back-off (up to 100 ms). Queueing writers of this
    # process on a lock instead hands the database over at once. None on PostgreSQL.
    write_lock: threading.Lock | None = None
    # The live floor's broadcaster (server/floor.py); None outside a running server.
    floor: FloorHub | None = None
    # PostgreSQL: a few autocommit connections for single statements on the event loop
    # (the heartbeat, server/aiodb.py). None on SQLite.
    aio: AsyncPg | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


class ErrorOut(BaseModel):
    detail: str
    code: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": desc}
    for code, desc in [(400, "Bad request"), (401, "Not authenticated"), (403, "Forbidden"),
                       (404, "Not found"), (409, "Conflict"), (413, "Too large"),
                       (422, "Invalid input"), (429, "Too many attempts")]
}


class In(BaseModel):
    """Base of request bodies: unknown fields are ignored; NUL characters refused
    (PostgreSQL text cannot store them and no legitimate client sends them)."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        def walk(v: Any, depth: int = 0) -> None:
            if depth > 20:
                raise ValueError("nested too deeply")
            if isinstance(v, str):
                if "\x00" in v:
                    raise ValueError("NUL characters are not allowed")
            elif isinstance(v, dict):
                for k, x in v.items():
                    walk(k, depth + 1)
                    walk(x, depth + 1)
            elif isinstance(v, list):
                for x in v:
                    walk(x, depth + 1)

        walk(data)
        return data


async def ctx_of(request: Request) -> ServerContext:
    # async: FastAPI runs sync dependencies in the thread pool, one hop each.
    return request.app.state.ctx


Ctx = Annotated[ServerContext, Depends(ctx_of)]
_bearer = HTTPBearer(auto_error=False)


async def principal(request: Request,
                    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """Runs on the event loop: verifying the HMAC is microseconds, and the revocations and
    recent role/team changes are reloaded at most once a second per worker (one small
    query). The caller gets the role and team the database has now, not the token's."""
    ctx: ServerContext = request.app.state.ctx
    if creds is None or not creds.credentials:
        raise ApiError(401, "not_authenticated", "missing bearer token", {"WWW-Authenticate": "Bearer"})
    p = read_access(ctx.keys.token_key, creds.credentials)
    if p is None:
        raise ApiError(401, "invalid_token", "invalid or expired access token", {"WWW-Authenticate": "Bearer"})
    now = ctx.revocations.current(ctx.reader, p)
    if now is None:
        raise ApiError(401, "revoked", "session was logged out", {"WWW-Authenticate": "Bearer"})
    return now


Caller = Annotated[Principal, Depends(principal)]


def bearer_caller(ctx: ServerContext, authorization: str | None) -> Principal | None:
    """What :func:`principal` returns for this ``Authorization`` header, or None where it
    would refuse (the same checks; its error says why). For ASGI-level fast paths."""
    scheme, _, token = (authorization or "").partition(" ")  # as fastapi.security.HTTPBearer
    if scheme.lower() != "bearer" or not token:
        return None
    p = read_access(ctx.keys.token_key, token)
    return None if p is None else ctx.revocations.current(ctx.reader, p)


def require(*roles: str) -> Callable[[Principal], Principal]:
    async def dep(p: Caller) -> Principal:
        if p.role not in roles:
            raise ApiError(403, "forbidden", f"requires role {' or '.join(roles)}")
        return p

    return dep


def supervised_team(p: Principal, team_id: str | None) -> str:
    """The team a supervisor endpoint works on, or 403. A TSR is refused; a TL gets their
    own team only (asking for another one is ``not_your_team``); an admin names one."""
    if p.role == "tl":
        if not p.team_id:
            raise ApiError(403, "no_team", "you are not in a team")
        if team_id is not None and team_id != p.team_id:
            raise ApiError(403, "not_your_team", "not your team")
        return p.team_id
    if p.role == "admin":
        if not team_id:
            raise ApiError(400, "team_required", "team_id is required for an admin")
        return team_id
    raise ApiError(403, "forbidden", "requires role tl or admin")


def team_agent(s: Session, p: Principal, agent_id: str) -> User:
    """An active TSR of the caller's (a TL's) team, or 403 ``not_your_team`` — the same
    answer for "no such agent", so nobody can probe other teams' ids."""
    agent = s.get(User, agent_id)
    if agent is None or not agent.active or agent.team_id is None or agent.team_id != p.team_id:
        raise ApiError(403, "not_your_team", "agent is not in your team")
    if agent.id == p.user_id:
        raise ApiError(409, "self", "not on yourself")
    return agent


def write_session(ctx: ServerContext) -> Session:
    return ctx.writer()


def read_session(ctx: ServerContext) -> Iterator[Session]:
    with ctx.reader() as s:
        yield s


def run_write(ctx: ServerContext, fn: Callable[[Session], Any], attempts: int = 4) -> Any:
    """Run ``fn`` in a write transaction, flush its sync changes and commit.

    Retries on conflicts a concurrent writer can cause (a duplicate event id
    inserted by a parallel retry, a PostgreSQL deadlock or serialization
    failure, SQLite busy): the retry sees the other writer's result.
    """
    last: Exception | None = None
    lock = ctx.write_lock or contextlib.nullcontext()
    for attempt in range(attempts):
        with lock, ctx.writer() as s:
            try:
                result = fn(s)
                published = floor.take(s)  # live-floor messages: out once the commit is in
                if published and ctx.floor is not None:
                    ctx.floor.before_commit(s, published)
                changes.commit(s)
                if published and ctx.floor is not None:
                    ctx.floor.after_commit(published)
                return result
            except (IntegrityError, OperationalError) as exc:
                s.rollback()
                last = exc
            except DBAPIError as exc:
                s.rollback()
                if getattr(exc.orig, "sqlstate", None) not in ("40001", "40P01"):
                    raise
                last = exc
        time.sleep(0.01 * (attempt + 1))
    raise ApiError(409, "conflict", "concurrent update, retry") from last
