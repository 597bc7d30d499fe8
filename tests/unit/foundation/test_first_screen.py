"""Start-up speed paths: the first page before the search index, and the early cache check."""

from __future__ import annotations

from pathlib import Path

from app.background import run_in_background
from app.demo.generated import generate_leads
from app.lead_service import FIRST_PAGE, LeadService
from cache import precheck
from cache.db import open_cache
from cache.repository import Repository


def test_first_page_comes_before_the_index_then_the_full_list(qtbot, data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    h = open_cache(path)
    generate_leads(h, 400)
    h.close()
    service = LeadService()
    handles = []

    def opener() -> Repository:  # what the app's opener does: open, then warm up
        handles.append(open_cache(path))
        repo = Repository(handles[-1])
        repo.warm_up()
        return repo

    results = []
    service.searchFinished.connect(results.append)
    try:
        with qtbot.waitSignal(service.opened, timeout=10_000):
            service.open_in_background(opener)
            service.search("", "todo")
        qtbot.waitUntil(lambda: len(results) >= 2, timeout=10_000)
        first, full = results[0], results[1]
        assert first.partial and len(first.ids) == 2 * FIRST_PAGE
        assert [r.id for r in first.first_rows] == list(first.ids[:FIRST_PAGE])  # real rows
        assert not full.partial and len(full.ids) == first.total
        assert full.ids[: len(first.ids)] == tuple(first.ids)  # rows don't jump on the swap
        assert service.index_ready
        # Typing now is answered from the index.
        with qtbot.waitSignal(service.searchFinished, timeout=10_000) as blocker:
            service.search(full.first_rows[0].name, "todo")
        assert full.ids[0] in blocker.args[0].ids
        # The index's pair lists follow on the worker, a slice a job, between the searches.
        repo = service._search_repo
        qtbot.waitUntil(lambda: bool(repo._index._pairs), timeout=10_000)
        with qtbot.waitSignal(service.searchFinished, timeout=10_000) as blocker:
            service.search("zh", "todo")
        assert list(blocker.args[0].ids) == repo.search_lead_ids("zh", "todo") != []
    finally:
        service.shutdown()
        for handle in handles:
            handle.close()


def test_early_check_is_used_only_while_the_file_is_unchanged(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    open_cache(path).close()
    precheck.start_check(path, run_in_background)
    assert precheck.take_verdict(path) == (True, None)
    assert precheck.take_verdict(path) == (False, None)  # taken once

    precheck.start_check(path, run_in_background)
    assert precheck._checks[str(path.resolve())].wait(10)
    data = bytearray(path.read_bytes())
    data[200:208] = b"\xff" * 8
    path.write_bytes(bytes(data) + b"\0" * 4096)  # touched after the check: checked again
    known, _reason = precheck.take_verdict(path)
    assert not known


def test_first_page_from_the_file_before_the_cache_opens(qtbot, data_dir: Path) -> None:
    """The window's first request is answered from the file (cache.first_page.peek) while the
    opener is still held back; the card waits for the open cache; the full list follows."""
    import threading

    from cache.first_page import peek

    path = data_dir / "cache.sqlite3"
    h = open_cache(path)
    generate_leads(h, 400)
    h.close()
    expected_total, expected_ids = Repository(open_cache(path)).first_page_ids("todo", 2 * FIRST_PAGE)
    service = LeadService()
    handles = []
    release = threading.Event()

    def opener() -> Repository:
        release.wait(10)  # the cache "opens slowly": the first page must not wait for it
        handles.append(open_cache(path))
        repo = Repository(handles[-1])
        repo.warm_up()
        return repo

    results = []
    service.searchFinished.connect(results.append)
    cards = []
    service.detailReady.connect(cards.append)
    try:
        service.open_in_background(opener, peek=lambda: peek(path, "todo", 2 * FIRST_PAGE, FIRST_PAGE))
        service.search("", "todo")
        qtbot.waitUntil(lambda: len(results) >= 1, timeout=10_000)
        first = results[0]
        assert first.total == expected_total and list(first.ids) == expected_ids
        assert [r.id for r in first.first_rows] == expected_ids[:FIRST_PAGE]
        assert all(r.masked_phone and "****" in r.masked_phone for r in first.first_rows)
        service.request_detail(first.ids[0])  # asked for before the cache is open: answered after
        assert not handles  # nothing opened yet: the page came from the file
        release.set()
        qtbot.waitUntil(lambda: len(results) >= 2 and bool(cards), timeout=10_000)
        assert cards[0].lead_id == first.ids[0] and cards[0].detail is not None
        full = results[1]
        assert len(full.ids) == first.total and full.ids[: len(first.ids)] == tuple(first.ids)
    finally:
        release.set()
        service.shutdown()
        for handle in handles:
            handle.close()


def test_peek_refuses_what_it_cannot_show_safely(data_dir: Path) -> None:
    import sqlite3

    from cache.first_page import peek

    path = data_dir / "cache.sqlite3"
    assert peek(path, "todo", 10, 5) is None  # no file yet
    open_cache(path).close()
    assert peek(path, "todo", 10, 5) is None  # empty: the demo may still be loaded into it
    h = open_cache(path)
    generate_leads(h, 30)
    h.close()
    found = peek(path, "todo", 10, 5)
    assert found is not None and len(found.ids) == 10 and len(found.rows) == 5
    with sqlite3.connect(path) as db:  # another schema revision: the normal path migrates first
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    assert peek(path, "todo", 10, 5) is None
    path.write_bytes(b"not a database" * 400)
    assert peek(path, "todo", 10, 5) is None
