"""A damaged cache is moved aside (never deleted), a fresh one is made, unsynced events come back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from app.demo.campaign import load_demo
from cache.db import open_cache
from cache.repository import Repository


def _make_cache(path: Path, events: int = 30, accepted: int = 5, with_demo: bool = True) -> list[str]:
    """A real cache with demo leads and outbox events; returns the ids of the unsynced ones in order."""
    h = open_cache(path)
    repo = Repository(h)
    if with_demo:
        load_demo(repo)
    ids = []
    with h.write() as s:
        for i in range(events):
            ids.append(repo.append_event(s, "note_added", f"lead-{i}", {"text": f"备注 {i} " + "x" * 150}))
        for event_id in ids[:accepted]:
            s.execute(text("UPDATE outbox_events SET status='accepted' WHERE id=:i"), {"i": event_id})
        s.execute(text("UPDATE outbox_events SET status='rejected', reject_reason='unknown code' WHERE id=:i"),
                  {"i": ids[accepted]})
    h.close()
    assert not Path(str(path) + "-wal").exists()  # checkpointed on close: the file is complete
    return ids[accepted:]


def _page_of(path: Path, table: str) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
        return root, page_size
    finally:
        conn.close()


def _flip(path: Path, offset: int, count: int = 8) -> None:
    data = bytearray(path.read_bytes())
    for i in range(offset, min(offset + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _outbox(h) -> list[tuple]:
    with h.session() as s:
        return [tuple(r) for r in s.execute(text("SELECT id, status, type, payload FROM outbox_events ORDER BY seq"))]


def _assert_repaired(h, data_dir: Path, original: bytes | None = None) -> Path:
    assert h.repair_notice, "the user must be told"
    moved = sorted(data_dir.glob("cache.sqlite3.corrupt-*"))
    moved = [m for m in moved if not m.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1
    assert str(moved[0]) in h.repair_notice
    if original is not None:
        assert moved[0].read_bytes() == original  # moved, not modified, never deleted
    with h.session() as s:
        assert s.execute(text("PRAGMA quick_check")).scalar() == "ok"
    return moved[0]


def test_flipped_bytes_in_a_table_page(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    unsynced = _make_cache(path)
    root, page_size = _page_of(path, "leads")
    _flip(path, (root - 1) * page_size, 12)  # the b-tree page header of the leads table
    damaged = path.read_bytes()
    h = open_cache(path)
    try:
        _assert_repaired(h, data_dir, damaged)
        rows = _outbox(h)
        assert [r[0] for r in rows] == unsynced  # every unsynced event, in order, accepted ones not
        assert rows[0][1] == "rejected" and {r[1] for r in rows[1:]} == {"pending"}
        assert json.loads(rows[1][3])["text"].startswith("备注 6")
        assert "6" in h.repair_notice or "条" in h.repair_notice
        repo = Repository(h)
        assert repo.pending_event_count() == len(unsynced) - 1
        assert repo.search_lead_ids("") == []  # leads come back from the server / demo, not from the bad file
    finally:
        h.close()


def test_flipped_bytes_in_the_outbox_salvage_row_by_row(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    unsynced = _make_cache(path, events=600, accepted=0, with_demo=False)
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    # A leaf page in the middle of the outbox table (b-tree leaf pages start with 0x0D).
    pages = [p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name='outbox_events' AND pagetype='leaf'")]
    conn.close()
    victim = pages[len(pages) // 2]
    _flip(path, (victim - 1) * page_size, 12)
    h = open_cache(path)
    try:
        _assert_repaired(h, data_dir)
        got = [r[0] for r in _outbox(h)]
        assert 0 < len(got) < len(unsynced), "some rows are lost with the damaged page, the rest are kept"
        assert len(got) >= len(unsynced) - 2 * 60  # at most a couple of pages' worth
        assert got == [i for i in unsynced if i in set(got)]  # order kept
    finally:
        h.close()


def test_truncated_file(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    _make_cache(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    truncated = path.read_bytes()
    h = open_cache(path)
    try:
        _assert_repaired(h, data_dir, truncated)
        load_demo(Repository(h))  # the fresh cache is fully usable
        assert len(Repository(h).search_lead_ids("")) == 60
    finally:
        h.close()


def test_not_an_sqlite_file(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    path.write_text("这不是数据库 — not a database\n" * 100, encoding="utf-8")
    original = path.read_bytes()
    h = open_cache(path, language="en")
    try:
        moved = _assert_repaired(h, data_dir, original)
        assert h.repair_notice.startswith("The local cache was damaged")
        assert moved.read_bytes() == original
    finally:
        h.close()


def test_stray_wal_without_its_database(data_dir: Path) -> None:
    """A -wal left from some other database must not be replayed into a new cache."""
    other = data_dir / "other.sqlite3"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE campaigns (id TEXT, name TEXT)")
    conn.execute("INSERT INTO campaigns VALUES ('evil', '不该出现')")
    wal_bytes = Path(str(other) + "-wal").read_bytes()
    conn.close()
    assert wal_bytes
    path = data_dir / "cache.sqlite3"
    Path(str(path) + "-wal").write_bytes(wal_bytes)
    h = open_cache(path)
    try:
        strays = list(data_dir.glob("cache.sqlite3-wal.stray-*"))
        assert len(strays) == 1 and strays[0].read_bytes() == wal_bytes  # kept, not deleted
        assert Repository(h).campaigns() == []
        assert h.repair_notice is None  # nothing of the user's was damaged
    finally:
        h.close()


def test_garbage_wal_next_to_a_healthy_cache(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    unsynced = _make_cache(path)
    Path(str(path) + "-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 28 + b"junk" * 2000)
    h = open_cache(path)
    try:
        assert h.repair_notice is None
        assert [r[0] for r in _outbox(h)][-len(unsynced):] == unsynced
        assert len(Repository(h).search_lead_ids("")) == 60
    finally:
        h.close()


def test_second_repair_does_not_overwrite_the_first(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cache import repair

    monkeypatch.setattr(repair, "_timestamp", lambda: "20261125T093000Z")
    path = data_dir / "cache.sqlite3"
    for content in (b"first broken file", b"second broken file"):
        path.write_bytes(content)
        open_cache(path).close()
    moved = sorted(p.read_bytes() for p in data_dir.glob("cache.sqlite3.corrupt-*"))
    assert moved == [b"first broken file", b"second broken file"]


def test_events_still_in_the_wal_are_recovered(data_dir: Path) -> None:
    """After a crash the newest commits live only in the -wal; salvage reads them from there too."""
    import shutil

    live = data_dir / "live"
    live.mkdir()
    unsynced = _make_cache(live / "cache.sqlite3", events=10, accepted=0)
    h = open_cache(live / "cache.sqlite3")
    keep = sqlite3.connect(live / "cache.sqlite3")  # holds a read snapshot: no checkpoint can finish
    keep.execute("BEGIN")
    keep.execute("SELECT count(*) FROM outbox_events").fetchone()
    repo = Repository(h)
    with h.write() as s:
        late = [repo.append_event(s, "note_added", None, {"text": f"最新 {i}"}) for i in range(5)]
    # "Crash": copy the files as they are on disk, with the commits still in the WAL.
    path = data_dir / "cache.sqlite3"
    shutil.copyfile(live / "cache.sqlite3", path)
    shutil.copyfile(live / "cache.sqlite3-wal", str(path) + "-wal")
    keep.close()
    h.close()
    assert Path(str(path) + "-wal").stat().st_size > 0
    root, page_size = _page_of(path, "leads")
    _flip(path, (root - 1) * page_size, 12)
    h2 = open_cache(path)
    try:
        assert h2.repair_notice
        assert [r[0] for r in _outbox(h2)] == unsynced + late
        assert list(data_dir.glob("cache.sqlite3.corrupt-*-wal"))  # the WAL was moved aside with it
    finally:
        h2.close()
