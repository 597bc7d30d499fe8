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

from server import changes
from server.config import ServerConfig
from server.keys import ServerKeys
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
    """Runs on the event loop: verifying the HMAC is microseconds, and the revocation
    set is reloaded at most once a second per worker (one small query)."""
    ctx: ServerContext = request.app.state.ctx
    if creds is None or not creds.credentials:
        raise ApiError(401, "not_authenticated", "missing bearer token", {"WWW-Authenticate": "Bearer"})
    p = read_access(ctx.keys.token_key, creds.credentials)
    if p is None:
        raise ApiError(401, "invalid_token", "invalid or expired access token", {"WWW-Authenticate": "Bearer"})
    if ctx.revocations.is_revoked(ctx.reader, p.family_id):
        raise ApiError(401, "revoked", "session was logged out", {"WWW-Authenticate": "Bearer"})
    return p


Caller = Annotated[Principal, Depends(principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    async def dep(p: Caller) -> Principal:
        if p.role not in roles:
            raise ApiError(403, "forbidden", f"requires role {' or '.join(roles)}")
        return p

    return dep


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
                changes.commit(s)
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
