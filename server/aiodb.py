"""A few PostgreSQL connections used straight from the event loop (psycopg's async API).

For the hottest request of a floor — the presence heartbeat, four in five requests — the
thread-pool hop around a one-statement primary-key read cost more CPU than the read
(~0.3 ms per hop, and under load every hop is a GIL hand-off between the loop and a pool
thread). These connections run such single statements on the loop without blocking it:
autocommit (no BEGIN/COMMIT round trips), statements prepared by psycopg after their
fifth use. Anything that needs a transaction, the ORM or the live floor's publishing
stays on the ordinary thread-pool path (server/api/common.py run_write).

SQLite has no async driver here and needs none (its reads are local file pages).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import make_url

#: Connections per server process. A statement takes a fraction of a millisecond in
#: PostgreSQL, but its connection stays checked out until the event loop reads the answer:
#: on a busy loop that is one loop turn (tens of ms), so concurrency, not PostgreSQL time,
#: sets the size (measured: 4 starved 1,000 heartbeats/s when the loop lagged).
SIZE = 12
#: A request that cannot get a connection within this long gets 503 (bounded wait; the
#: app's sync client retries it).
CHECKOUT_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 5


class Unavailable(Exception):
    """No connection within CHECKOUT_TIMEOUT_S (the database is down or swamped)."""


class AsyncPg:
    """A tiny pool: up to ``size`` autocommit connections, opened on first need; a
    connection that raised a database error is closed, the next checkout opens a new one."""

    def __init__(self, db_url: str, size: int = SIZE) -> None:
        url = make_url(db_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._size = size
        self._idle: list[Any] = []
        self._open = 0
        self._cond: asyncio.Condition | None = None
        self.stats = {"connects": 0, "discarded": 0, "statements": 0}

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:  # made on the loop that uses it
            self._cond = asyncio.Condition()
        return self._cond

    async def _checkout(self) -> Any:
        import psycopg

        cond = self._condition()
        async with cond:
            if not self._idle and self._open >= self._size:
                try:
                    await asyncio.wait_for(cond.wait_for(lambda: bool(self._idle) or self._open < self._size),
                                           CHECKOUT_TIMEOUT_S)
                except asyncio.TimeoutError as exc:
                    raise Unavailable("no database connection free") from exc
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True,
                                                         connect_timeout=CONNECT_TIMEOUT_S)
        except BaseException:
            async with cond:
                self._open -= 1
                cond.notify()
            raise
        self.stats["connects"] += 1
        return conn

    async def _checkin(self, conn: Any, broken: bool) -> None:
        cond = self._condition()
        if broken or conn.closed:
            self.stats["discarded"] += 1
            with contextlib.suppress(Exception):
                await conn.close()
            async with cond:
                self._open -= 1
                cond.notify()
            return
        async with cond:
            self._idle.append(conn)
            cond.notify()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        conn = await self._checkout()
        broken = True
        try:
            yield conn
            broken = False
        finally:
            # Cancelled mid-statement, or a database error: the connection's state is
            # unknown, so it is not reused.
            await self._checkin(conn, broken)

    async def fetchone(self, sql: str, params: dict[str, Any]) -> tuple | None:
        self.stats["statements"] += 1
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchone()

    async def rowcount(self, sql: str, params: dict[str, Any]) -> int:
        self.stats["statements"] += 1
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()
        self._open -= len(idle)


def compile_pg(stmt: Any) -> str:
    """SQL text of a SQLAlchemy Core statement for psycopg (``%(name)s`` parameters): the
    statements stay defined once, next to the models, and are compiled once at import."""
    from sqlalchemy.dialects import postgresql

    return str(stmt.compile(dialect=postgresql.psycopg.dialect()))


__all__ = ["AsyncPg", "Unavailable", "compile_pg"]
