"""The cache file's guarantees: WAL, FKs, busy timeout, durable commits, IMMEDIATE writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from cache.db import HEAD_REVISION, CacheHandle, alembic_config, open_cache
from cache.models import Campaign

ROOT = Path(__file__).resolve().parents[3]


def test_pragmas(handle: CacheHandle) -> None:
    with handle.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_head_revision_constant_matches_the_migrations() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_models_match_the_migrations(handle: CacheHandle) -> None:
    """A model change without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cache.models import Base

    with handle.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_write_commits_and_rolls_back(handle: CacheHandle) -> None:
    with handle.write() as s:
        s.add(Campaign(id="c1", name="一"))
    with pytest.raises(RuntimeError), handle.write() as s:
        s.add(Campaign(id="c2", name="二"))
        s.flush()
        raise RuntimeError("boom")
    with handle.session() as s:
        assert [c.id for c in s.query(Campaign)] == ["c1"]


def test_writer_takes_the_lock_at_begin(handle: CacheHandle) -> None:
    """BEGIN IMMEDIATE: while one writer is open, another connection cannot even start writing."""
    entered, release = threading.Event(), threading.Event()

    def writer() -> None:
        with handle.write() as s:
            s.add(Campaign(id="c1", name="一"))
            entered.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert entered.wait(10)
        other = sqlite3.connect(handle.path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        # Readers are not blocked (WAL), and do not see the uncommitted row.
        assert other.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
        other.close()
    finally:
        release.set()
        t.join(10)


def test_foreign_keys_enforced(handle: CacheHandle) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), handle.write() as s:
        s.execute(text("INSERT INTO scripts (id, campaign_id, title, body_markdown, version, updated_at) "
                       "VALUES ('s', 'missing', 't', 'b', 1, '2026-01-01')"))


def test_commit_survives_a_killed_process(data_dir: Path) -> None:
    """A commit that returned is on disk: the process is killed (no clean close) right after."""
    path = data_dir / "cache.sqlite3"
    code = (
        "import os, sys\n"
        "from cache.db import open_cache\n"
        "from cache.repository import Repository\n"
        "h = open_cache(__import__('pathlib').Path(sys.argv[1]))\n"
        "with h.write() as s:\n"
        "    Repository.append_event(s, 'note_added', None, {'text': 'x'})\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, timeout=60)
    assert proc.returncode == -9
    h = open_cache(path)
    try:
        with h.session() as s:
            assert s.execute(text("SELECT count(*) FROM outbox_events WHERE status='pending'")).scalar() == 1
    finally:
        h.close()


def test_nested_write_fails_fast(handle: CacheHandle) -> None:
    with handle.write() as s:
        s.add(Campaign(id="c1", name="一"))
        with pytest.raises(RuntimeError, match="nested"), handle.write():
            pass
    with handle.session() as s:
        assert s.get(Campaign, "c1") is not None  # the outer transaction still committed
