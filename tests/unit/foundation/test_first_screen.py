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
