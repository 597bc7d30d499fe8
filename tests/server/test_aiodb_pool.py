"""server/aiodb.py's pool on real PostgreSQL: the heartbeat's event-loop connections.

Under load every connection is out and requests queue; these tests check that the queue
hands connections over without losing or leaking any: every waiter gets an answer, never
more than ``size`` connections exist, a broken connection's place goes to a waiter, a
cancelled waiter does not swallow a connection, and a waiter that gets nothing in time gets
``Unavailable`` (the route's 503) instead of waiting for ever.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from server import aiodb


@pytest.fixture
def db_url(pg_cluster) -> str:
    return pg_cluster.create_database()


def _backends(db_url: str) -> int:
    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND pid <> pg_backend_pid()").fetchone()[0]


def test_queued_requests_all_get_answers_on_at_most_size_connections(db_url):
    async def main():
        pool = aiodb.AsyncPg(db_url, size=3)
        peak = 0

        async def one(i: int):
            nonlocal peak
            row = await pool.fetchone("SELECT %(i)s::int, pg_sleep(0.005)", {"i": i})
            peak = max(peak, pool._open)
            return row[0]

        got = await asyncio.gather(*(one(i) for i in range(60)))
        backends = await asyncio.to_thread(_backends, db_url)
        await pool.close()
        return got, peak, backends, pool.stats

    got, peak, backends, stats = asyncio.run(main())
    assert got == list(range(60))
    assert peak <= 3 and stats["connects"] == 3 and backends == 3, (peak, stats, backends)


def test_a_broken_connections_place_goes_to_a_waiter(db_url):
    async def main():
        pool = aiodb.AsyncPg(db_url, size=1)
        bad = asyncio.create_task(pool.fetchone("SELECT pg_sleep(0.1), 1/0", {}))
        await asyncio.sleep(0.02)
        good = asyncio.create_task(pool.fetchone("SELECT 7", {}))  # queued behind the bad one
        with pytest.raises(psycopg.errors.DivisionByZero):
            await bad
        row = await asyncio.wait_for(good, 10)
        open_after = pool._open
        await pool.close()
        return row, open_after, pool.stats

    row, open_after, stats = asyncio.run(main())
    assert row == (7,)
    assert open_after == 1 and stats["discarded"] == 1 and stats["connects"] == 2, (open_after, stats)


def test_a_cancelled_waiter_does_not_keep_a_connection_and_a_stuck_one_gets_unavailable(db_url, monkeypatch):
    monkeypatch.setattr(aiodb, "CHECKOUT_TIMEOUT_S", 0.3)

    async def main():
        pool = aiodb.AsyncPg(db_url, size=1)
        async with pool.connection():
            waiter = asyncio.create_task(pool.fetchone("SELECT 1", {}))
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            with pytest.raises(aiodb.Unavailable):  # nothing comes back within the timeout
                await pool.fetchone("SELECT 2", {})
        # Returned: the next request gets it at once, nothing was lost to the cancelled waiter.
        row = await asyncio.wait_for(pool.fetchone("SELECT 3", {}), 2)
        idle, opened = len(pool._idle), pool._open
        await pool.close()
        return row, idle, opened, pool.stats

    row, idle, opened, stats = asyncio.run(main())
    assert row == (3,) and idle == 1 and opened == 1 and stats["connects"] == 1, (idle, opened, stats)
