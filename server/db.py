"""Engine and sessions for the server database (SQLite embedded or PostgreSQL)."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, background_checkpoint: bool = False) -> Engine:
    """``background_checkpoint`` (the server): SQLite's automatic WAL checkpoint runs
    inside whichever commit crosses the threshold and fsyncs the database while
    holding the write lock, stalling every writer behind it. The server turns it
    off and checkpoints from a thread instead (see :func:`start_checkpointer`)."""
    if is_sqlite(url):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            path = Path(db_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # The DB holds password hashes and the grant signing key: owner only.
                path.touch(mode=0o600)
            os.chmod(path, 0o600)
        # JSON columns (a lead's phones, an event's payload) decoded by orjson: ~10 % of a pull page.
        json_kw = {"json_deserializer": orjson.loads} if orjson is not None else {}
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=20, max_overflow=20, **json_kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            # We issue BEGIN ourselves (below), so pysqlite must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            if background_checkpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # pragma: no cover - trivial
            # A deferred transaction that reads, then writes after another writer
            # committed fails at once with SQLITE_BUSY (busy_timeout does not apply).
            # Writers therefore take the write lock up front; readers stay deferred.
            if conn.get_execution_options().get("sqlite_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    # No pre-ping (a round trip per checkout); stale connections are recycled instead.
    # The pool keeps what the server uses at once (12 request threads + the live floor's
    # and the auth cache's checkouts) open: an overflow connection is closed on return, and
    # under load that was ~3.5 new PostgreSQL backends a second per instance, each a fork,
    # an authentication and cold catalog caches (profiled under the 2,000-agent load).
    # With the heartbeat's own connections (server/aiodb.py, 12) a process uses at most 32:
    # size PostgreSQL's max_connections for 32 per server process (+ the LISTEN one) plus
    # admin tools (4 processes: 2 instances x 2 workers -> 140).
    return create_engine(url, pool_size=14, max_overflow=6, pool_recycle=1800)


def start_checkpointer(url: str, interval_s: float = 1.0) -> threading.Event | None:
    """Checkpoint an SQLite WAL every ``interval_s`` without blocking writers
    (PASSIVE); returns the event that stops it. None for other databases."""
    if not is_sqlite(url):
        return None
    path = make_url(url).database
    if not path or path == ":memory:":
        return None
    stop = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(path, timeout=5, check_same_thread=False)
        try:
            while not stop.wait(interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; will retry", exc_info=True)
        finally:
            conn.close()

    threading.Thread(target=run, name="sqlite-checkpoint", daemon=True).start()
    return stop


def make_sessionmakers(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """(writer, reader) session factories; on SQLite the writer begins IMMEDIATE."""
    writer = sessionmaker(engine.execution_options(sqlite_write=True), expire_on_commit=False)
    reader = sessionmaker(engine, expire_on_commit=False)
    return writer, reader
