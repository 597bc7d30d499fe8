"""Passwords (argon2), access tokens (short-lived, HMAC-signed), refresh tokens
(random, stored hashed, rotated; reuse revokes the whole family) and login
throttling."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import literal, null, select, union_all, update
from sqlalchemy.orm import Session

from core.timeutil import utcnow
from server.models import LoginThrottle, RefreshFamily, RefreshToken, User

log = logging.getLogger("seatmate.server.security")


def _make_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory: t=3, 64 MiB, p=4).

    ``SEATMATE_SERVER_ARGON2="t,memory_kib,p"`` overrides them for new hashes
    (tests use a cheap profile); verification always uses the parameters stored
    in each hash.
    """
    spec = os.environ.get("SEATMATE_SERVER_ARGON2", "")
    if spec:
        t, m, p = (int(x) for x in spec.split(","))
        return PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
    return PasswordHasher()


_hasher = _make_hasher()
# Verifying against this keeps the response time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("seatmate-dummy-password")

TOKEN_PREFIX = "sma1"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Principal:
    """Who is calling: read from the access token, no DB lookup needed."""

    user_id: str
    role: str
    team_id: str | None
    family_id: str
    exp: int


def issue_access(key: bytes, user: User, family_id: str, ttl_s: int) -> str:
    body = json.dumps({"sub": user.id, "role": user.role, "team": user.team_id, "fam": family_id,
                       "exp": int(time.time()) + ttl_s}, separators=(",", ":")).encode()
    sig = hmac.new(key, body, hashlib.sha256).digest()
    return f"{TOKEN_PREFIX}.{_b64e(body)}.{_b64e(sig)}"


def read_access(key: bytes, token: str) -> Principal | None:
    try:
        prefix, body_b64, sig_b64 = token.split(".")
        if prefix != TOKEN_PREFIX:
            return None
        body = _b64d(body_b64)
        if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), _b64d(sig_b64)):
            return None
        data = json.loads(body)
        p = Principal(user_id=str(data["sub"]), role=str(data["role"]),
                      team_id=None if data["team"] is None else str(data["team"]),
                      family_id=str(data["fam"]), exp=int(data["exp"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return p if p.exp > time.time() else None


class RevocationCache:
    """What an access token says about its caller is re-checked against the database
    without a query per request: one refresh every ``refresh_s`` (per process) reads

    - the login families revoked recently enough that their access tokens could still
      be alive (logout, refresh-token reuse): such a token gets 401;
    - the users whose role, team or active flag changed within that window
      (``users.authz_changed_at``): a token of theirs is read with the *current* role and
      team (:meth:`current`), or refused when the account was disabled.

    So on every instance behind the proxy a logout, a demoted TL or a TSR moved to
    another team takes effect within ``refresh_s`` (+ GRACE_S at worst), not at the token's
    expiry. Both are read by one statement (``users.authz_changed_at`` is indexed; on a
    quiet day it returns no rows).
    """

    #: The background reloader stops after this long without a request.
    IDLE_STOP_S = 10.0
    #: How much older than ``refresh_s`` a request accepts the data while the background
    #: reloader runs (it is due; the request does not wait for it).
    GRACE_S = 0.5

    def __init__(self, access_ttl_s: int, refresh_s: float = 1.0) -> None:
        self._window = dt.timedelta(seconds=access_ttl_s + 120)
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._revoked: frozenset[str] = frozenset()
        self._local: frozenset[str] = frozenset()  # revoked by this worker: known at once
        self._authz: dict[str, tuple[str, str | None, bool]] = {}  # user id -> (role, team, active)
        self._loaded_at = -1e9
        self._used_at = -1e9
        self._want_age = float("inf")
        self._bg: threading.Thread | None = None
        self._bg_lock = threading.Lock()

    def refresh(self, session_factory, max_age: float | None = None) -> None:
        """Reload if older than ``max_age`` (default ``refresh_s``); one thread reloads, the
        others wait for it. While requests come, a background thread reloads every
        ``refresh_s`` and a request uses data up to GRACE_S older than ``max_age`` without
        waiting: most callers run on the event loop (``principal``, the heartbeat's fast
        path), where a reload was a blocking query that stalled every request of the process
        once a second (three round trips, each waiting for the GIL under load). So a change
        takes effect within ``refresh_s`` + GRACE_S at worst, about a second as before."""
        max_age = self._refresh_s if max_age is None else max_age
        now = time.monotonic()
        self._used_at = now
        if max_age < self._want_age:
            self._want_age = max_age  # the background reloads when the data gets this old
        background = self._bg is not None and self._bg.is_alive()
        if not background:
            self._start_background(session_factory)
        age = now - self._loaded_at
        if age <= max_age or (background and age <= max_age + self.GRACE_S):
            return
        with self._lock:
            if time.monotonic() - self._loaded_at <= max_age:
                return
            self._reload(session_factory)

    def _reload(self, session_factory) -> None:
        """Under ``_lock``."""
        self._want_age = float("inf")  # requests from now on ask again
        since = utcnow() - self._window
        # One statement, one round trip: revoked families (kind "f") and changed users ("u").
        families = select(literal("f").label("kind"), RefreshFamily.id, null().label("role"),
                          null().label("team_id"), null().label("active")).where(
            RefreshFamily.revoked_at.is_not(None), RefreshFamily.revoked_at > since)
        users = select(literal("u"), User.id, User.role, User.team_id, User.active).where(
            User.authz_changed_at.is_not(None), User.authz_changed_at > since)
        with session_factory() as s:
            rows = s.execute(union_all(families, users)).all()
        self._revoked = frozenset(r[1] for r in rows if r[0] == "f") | (self._revoked & self._local)
        self._authz = {uid: (role, team, bool(active)) for kind, uid, role, team, active in rows if kind == "u"}
        self._loaded_at = time.monotonic()

    def _start_background(self, session_factory) -> None:
        with self._bg_lock:
            if self._bg is not None and self._bg.is_alive():
                return
            self._bg = threading.Thread(target=self._background, args=(session_factory,),
                                        name="revocation-refresh", daemon=True)
            self._bg.start()

    def _background(self, session_factory) -> None:
        """Reload when the data is as old as the freshest any caller asked for since the last
        reload (requests: ``refresh_s``; the live streams alone: every 3 s — so no more
        queries than before, and none without callers); stop after IDLE_STOP_S without a
        caller (the next one starts it again), so no thread outlives its use, e.g. in tests."""
        while time.monotonic() - self._used_at < self.IDLE_STOP_S:
            due = self._loaded_at + self._want_age - time.monotonic()
            if due > 0:
                time.sleep(min(max(due, 0.02), 0.25))
                continue
            try:
                with self._lock:
                    self._reload(session_factory)
            except Exception:  # the database is away: requests reload (and fail) themselves
                log.warning("revocation refresh failed; will retry", exc_info=True)
                time.sleep(self._refresh_s)

    def is_revoked(self, session_factory, family_id: str) -> bool:
        self.refresh(session_factory)
        return family_id in self._revoked

    def current(self, session_factory, p: Principal, max_age: float | None = None) -> Principal | None:
        """``p`` as the database has it now: None when its session was revoked or the
        account disabled; the current role and team when an admin changed them."""
        self.refresh(session_factory, max_age)
        if p.family_id in self._revoked:
            return None
        now = self._authz.get(p.user_id)
        if now is None:
            return p
        role, team_id, active = now
        if not active:
            return None
        if (role, team_id) == (p.role, p.team_id):
            return p
        return Principal(user_id=p.user_id, role=role, team_id=team_id, family_id=p.family_id, exp=p.exp)

    def mark_revoked(self, family_id: str) -> None:
        """This worker knows at once (the others within ``refresh_s``)."""
        with self._lock:
            self._local = self._local | {family_id}
            self._revoked = self._revoked | {family_id}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_family(session: Session, user: User, device_id: str) -> RefreshFamily:
    fam = RefreshFamily(id=uuid.uuid4().hex, user_id=user.id, device_id=device_id[:100])
    session.add(fam)
    return fam


def issue_refresh(session: Session, family_id: str, ttl_s: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(RefreshToken(token_hash=_hash_token(token), family_id=family_id,
                             expires_at=utcnow() + dt.timedelta(seconds=ttl_s)))
    return token


class RefreshError(Exception):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def rotate_refresh(session: Session, token: str, grace_s: float = 0.0) -> tuple[RefreshFamily, User]:
    """Marks the presented token used and returns its family. A token presented a
    second time means it leaked (or a race): the whole family is revoked, with one
    exception: a retry. If the client lost the answer to its refresh it presents
    the same token again; when that happens within ``grace_s`` of the first use and
    the token issued then (its successor) has never been used, the successor is
    expired instead and the client gets a fresh pair. Once the successor was used,
    the old token can only come from someone else: revoke."""
    row = session.get(RefreshToken, _hash_token(token))
    if row is None:
        raise RefreshError("unknown refresh token", "invalid_refresh")
    fam = session.get(RefreshFamily, row.family_id)
    if fam is None or fam.revoked_at is not None:
        raise RefreshError("refresh token revoked", "revoked")
    if row.used_at is not None:
        if not _retry_within_grace(session, row, grace_s):
            revoke_family(session, fam, "reuse")
            session.commit()
            raise RefreshError("refresh token already used; session revoked", "refresh_reused")
    elif row.expires_at < utcnow():
        raise RefreshError("refresh token expired", "expired")
    else:
        # Conditional update: two concurrent refreshes with one token cannot both win.
        res = session.execute(update(RefreshToken).where(RefreshToken.token_hash == row.token_hash,
                                                         RefreshToken.used_at.is_(None))
                              .values(used_at=utcnow()))
        if res.rowcount != 1:
            revoke_family(session, fam, "reuse")
            session.commit()
            raise RefreshError("refresh token already used; session revoked", "refresh_reused")
    user = session.get(User, fam.user_id)
    if user is None or not user.active:
        raise RefreshError("account disabled", "disabled")
    return fam, user


def _retry_within_grace(session: Session, row: RefreshToken, grace_s: float) -> bool:
    """True (and the unused successors expired) when ``row``'s reuse is a retry."""
    assert row.used_at is not None
    now = utcnow()
    if grace_s <= 0 or now - row.used_at > dt.timedelta(seconds=grace_s):
        return False
    successors = session.scalars(select(RefreshToken).where(
        RefreshToken.family_id == row.family_id, RefreshToken.created_at >= row.used_at,
        RefreshToken.token_hash != row.token_hash)).all()
    if any(t.used_at is not None for t in successors):
        return False
    for t in successors:  # the answers the client never saw: no longer valid
        t.expires_at = now - dt.timedelta(seconds=1)
    return True


def revoke_family(session: Session, fam: RefreshFamily, reason: str) -> None:
    if fam.revoked_at is None:
        fam.revoked_at = utcnow()
        fam.revoked_reason = reason


# --- login throttling -----------------------------------------------------------------


def throttle_check(session: Session, keys: list[str]) -> int:
    """Seconds until the caller may try again (0 = allowed)."""
    now = utcnow()
    wait = 0
    for row in session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars():
        if row.locked_until and row.locked_until > now:
            wait = max(wait, int((row.locked_until - now).total_seconds()) + 1)
    return wait


def throttle_fail(session: Session, limits: dict[str, int], window_s: int) -> None:
    now = utcnow()
    for key, limit in limits.items():
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_start=now)
            session.add(row)
        if (now - row.window_start).total_seconds() > window_s:
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + dt.timedelta(seconds=window_s)


def throttle_success(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
