"""Open the local cache: check it, repair it if needed, migrate it, hand out sessions.

SQLite in WAL mode with ``synchronous=FULL`` (a commit survives a power cut —
the outbox depends on it), ``foreign_keys=ON`` and a busy timeout. Writers
start with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout
instead of failing half-way with "database is locked" on upgrade from a read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

from cache import crashpoint, precheck, repair
from cache.schema_head import HEAD_REVISION
from core.errors import EnvironmentFault

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection, KiB (SQLite's default is 2,000). The app's reads are index
#: look-ups and one scan at start; the OS page cache holds the file anyway. With up to
#: five pooled connections this bounds the caches at 2.5 MB instead of 10 MB. Set again
#: each time a connection goes back to the pool, so a writer that raised it for a big
#: transaction (cache.pull_apply: 64 MB while applying a pulled page) gives the memory back.
#: ``SEATMATE_SQLITE_CACHE_KIB`` overrides it (bench_memory's same-run reference: 2000).
CACHE_KIB = int(os.environ.get("SEATMATE_SQLITE_CACHE_KIB", "") or 512)
WAL_LIMIT_BYTES = 4 * 1024 * 1024  # the WAL file kept on disk after a checkpoint
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class CacheError(EnvironmentFault, RuntimeError):
    """The cache cannot be used and this is not damage we can repair (e.g. a newer schema)."""

    code = "cache.unusable"


def _make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=4,
        max_overflow=4,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # We emit BEGIN ourselves (below), so pysqlite must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        # A first pull checkpoints seldom (cache/pull_apply.py) and leaves a ~40 MB WAL file; a
        # checkpoint that resets the log truncates it back to this size.
        cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        cur.close()
        crashpoint.attach(dbapi_conn)  # the crash campaign's hook; inert unless SEATMATE_CRASH_AT is set

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn, _record) -> None:
        if dbapi_conn is not None:  # None: the connection was invalidated and closed
            # Shrinking the limit frees the cached pages above it (SQLite's pcache).
            dbapi_conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        options = conn.get_execution_options()
        # CacheHandle.write(durable=False): this transaction commits without fsync. SQLite
        # refuses to change the safety level inside a transaction, so it is set before BEGIN
        # and put back before the next transaction that needs FULL on this connection.
        durable = options.get("sqlite_durable", True)
        info = conn.connection.info
        if info.get("relaxed", False) == durable:
            conn.exec_driver_sql(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            info["relaxed"] = not durable
        conn.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")

    return engine


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        has = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
        if not has:
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return row[0] if row else None


def alembic_config():
    from alembic.config import Config  # lazy: only needed when the schema changes

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` in one IMMEDIATE transaction.

    Foreign keys are switched off while migrating: batch mode rebuilds tables
    by copy-and-drop, and with them on, dropping a parent would cascade.
    """
    from alembic import command

    with engine.connect() as conn:
        # PRAGMA foreign_keys is a no-op inside a transaction: set it on the DB-API
        # connection directly, before SQLAlchemy's BEGIN.
        dbapi = conn.connection.driver_connection
        dbapi.execute("PRAGMA foreign_keys=OFF")
        try:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if bad:
                    raise CacheError(f"migration left {len(bad)} dangling references",
                                     code="cache.migration_broken", params={"count": len(bad)})
        finally:
            dbapi.execute("PRAGMA foreign_keys=ON")


@dataclass
class CacheHandle:
    path: Path
    engine: Engine
    repair_notice: str | None = None
    repair_report: repair.RepairReport = field(default_factory=repair.RepairReport)
    # Serialises this process's writers (cheaper than SQLite's busy-wait back-off).
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _in_write: threading.local = field(default_factory=threading.local, repr=False)
    _generation: int = 0

    @property
    def generation(self) -> int:
        """Bumped after each committed write through this handle (cheap "did anything change")."""
        return self._generation

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A read session: one consistent snapshot, rolled back at the end."""
        with Session(self.engine, expire_on_commit=False, autoflush=False) as s:
            try:
                yield s
            finally:
                s.rollback()

    @contextlib.contextmanager
    def write(self, durable: bool = True) -> Iterator[Session]:
        """A write transaction: BEGIN IMMEDIATE, durable COMMIT on success, ROLLBACK on error.

        ``durable=False``: the COMMIT is not fsynced (``synchronous=NORMAL``; WAL mode). It
        is still atomic and survives the app being killed (the WAL is written before COMMIT
        returns); a power cut may take the last such transactions back, each whole, never
        one after a later durable commit (that fsync covers the WAL before it). Only for
        what the server sends again: a pulled page with its cursor. Never the outbox."""
        if getattr(self._in_write, "active", False):
            # A second transaction would wait for our own lock until the busy timeout: fail now.
            raise RuntimeError("nested cache write: pass the open session down instead")
        engine = self.engine.execution_options(sqlite_begin="IMMEDIATE", sqlite_durable=durable)
        with self._write_lock, Session(engine, expire_on_commit=False) as s:
            self._in_write.active = True
            try:
                s.connection()  # begin now, so the write lock is taken before any read
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                self._in_write.active = False
        self._generation += 1

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CacheHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _restore_deferred_indexes(path: Path, engine: Engine) -> None:
    """A first pull killed half-way left the lead indexes dropped (cache.pull_apply): create them."""
    with engine.connect() as conn:
        pending = conn.exec_driver_sql(
            "SELECT 1 FROM sync_state WHERE key = 'deferred_lead_indexes'").first()
        conn.rollback()
    if pending:
        from cache.pull_apply import restore_deferred_indexes

        restore_deferred_indexes(CacheHandle(path=path, engine=engine))


def open_cache(path: Path, language: str = "zh_CN") -> CacheHandle:
    """Open (creating, repairing and migrating as needed) the cache at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = repair.RepairReport()
    report.strays_moved = repair.move_strays(path)
    for stray in report.strays_moved:
        log.warning("moved a stray SQLite side file aside: %s", stray.name)
    known, reason = precheck.take_verdict(path)  # started early by the app, if it did
    if not known:
        reason = repair.diagnose(path)
    if reason is not None:
        report.reason = reason
        report.moved_to = repair.move_aside(path)
        log.error("cache %s is unusable (%s); moved aside to %s", path.name, reason, report.moved_to.name)
        report.salvaged_events, report.salvage_failed_rows = repair.salvage_outbox(report.moved_to)
    engine = _make_engine(path)
    try:
        rev = current_revision(engine)
        if rev != HEAD_REVISION:
            log.info("migrating cache schema from %s to head", rev)
            migrate(engine)
        _prune_change_journal(engine)
        _restore_deferred_indexes(path, engine)
        if report.salvaged_events:
            _carry_over(engine, report.salvaged_events)
            log.warning("carried %d unsynced events over from the damaged cache", len(report.salvaged_events))
    except Exception as exc:
        engine.dispose()
        if "Can't locate revision" in str(exc):
            raise CacheError(
                "The local cache was written by a newer version of Seatmate; please update the app.",
                code="cache.newer_version",
            ) from exc
        raise
    return CacheHandle(path=path, engine=engine, repair_notice=repair.notice_for(report, language),
                       repair_report=report)


def _prune_change_journal(engine: Engine) -> None:
    """Keep only the newest journal row (so seq keeps growing); indexes built later start fresh."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        conn.exec_driver_sql("DELETE FROM lead_changes WHERE seq < (SELECT max(seq) FROM lead_changes)")


def _carry_over(engine: Engine, events: list[dict]) -> None:
    cols = repair.OUTBOX_COLUMNS
    sql = text(
        f"INSERT OR IGNORE INTO outbox_events (seq, {', '.join(cols)}) "
        f"VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM outbox_events), {', '.join(':' + c for c in cols)})"
    )
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        for ev in events:
            row = dict(ev)
            row["payload"] = row.get("payload") or "{}"
            row["attempts"] = row.get("attempts") or 0
            row["occurred_at"] = row.get("occurred_at") or "1970-01-01 00:00:00"
            conn.execute(sql, row)
