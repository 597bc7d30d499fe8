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
import collections
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
    connection that raised a database error is closed, the next checkout opens a new one.

    A request that finds none free queues a future and a returned connection is handed
    straight to the oldest waiter (FIFO). The first version waited on an asyncio.Condition
    through ``asyncio.wait_for``: a task, a lock round and a predicate check per waiter per
    wake-up — under the 2,000-agent load, when the 12 connections were all out, that waiting
    was ~15 % of an instance's CPU (py-spy --gil)."""

    def __init__(self, db_url: str, size: int = SIZE) -> None:
        url = make_url(db_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._size = size
        self._idle: list[Any] = []
        self._open = 0
        #: Futures of the requests waiting; the result is a connection, or None for "a
        #: connection was closed: open a new one in its place" (``_open`` already counts it).
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self.stats = {"connects": 0, "discarded": 0, "statements": 0}

    def _give(self, conn: Any | None) -> None:
        """A connection (or, None, a free place for one) to the oldest live waiter; else back."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                if conn is None:
                    self._open += 1  # the waiter opens it
                fut.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    async def _checkout(self) -> Any:
        if self._idle:
            return self._idle.pop()
        if self._open < self._size:
            self._open += 1
            conn = None
        else:
            loop = asyncio.get_running_loop()
            fut: asyncio.Future = loop.create_future()
            self._waiters.append(fut)
            timer = loop.call_later(CHECKOUT_TIMEOUT_S, _expire, fut)
            try:
                conn = await fut
            except asyncio.CancelledError:
                # Cancelled after a connection (or a place) was handed over: pass it on.
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    got = fut.result()
                    if got is None:
                        self._open -= 1
                    self._give(got)
                raise
            finally:
                timer.cancel()
            if conn is not None:
                return conn
        return await self._connect()

    async def _connect(self) -> Any:
        """Open a connection for a place already counted in ``_open``."""
        import psycopg

        try:
            conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True,
                                                         connect_timeout=CONNECT_TIMEOUT_S)
        except BaseException:
            self._open -= 1
            if self._waiters:
                self._give(None)  # let a waiter try in its place
            raise
        self.stats["connects"] += 1
        return conn

    async def _checkin(self, conn: Any, broken: bool) -> None:
        if broken or conn.closed:
            self.stats["discarded"] += 1
            with contextlib.suppress(Exception):
                await conn.close()
            self._open -= 1
            if self._waiters:
                self._give(None)
            return
        self._give(conn)

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


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(Unavailable("no database connection free"))


def compile_pg(stmt: Any) -> str:
    """SQL text of a SQLAlchemy Core statement for psycopg (``%(name)s`` parameters): the
    statements stay defined once, next to the models, and are compiled once at import."""
    from sqlalchemy.dialects import postgresql

    return str(stmt.compile(dialect=postgresql.psycopg.dialect()))


__all__ = ["AsyncPg", "Unavailable", "compile_pg"]
