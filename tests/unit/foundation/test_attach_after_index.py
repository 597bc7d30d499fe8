"""Start-up memory: the workspace attaches after the lead index is built (app.workspace.attach).

The index build's temporaries are freed when it ends; the workspace's long-lived objects
made meanwhile would sit between them (tests/bench/bench_memory.py measures the peak).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

from app.demo.generated import generate_leads
from app.lead_service import LeadService
from app.workspace import attach
from cache.db import open_cache
from cache.repository import Repository


def test_the_workspace_waits_for_the_index_and_attaches_once(qtbot, data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    h = open_cache(path)
    generate_leads(h, 300)
    h.close()
    service = LeadService()
    handles: list = []
    build = threading.Event()

    def opener() -> Repository:  # the app's opener; the index build is held back until `build`
        handles.append(open_cache(path))
        repo = Repository(handles[-1])
        build.wait(10)
        repo.warm_up()
        return repo

    app = SimpleNamespace(leads=service, closing=False)  # what _after_index reads of the application
    attached: list[bool] = []
    try:
        service.open_in_background(opener)
        service.search("", "todo")  # the window's first request (the index is built after it)
        attach._after_index(app, lambda: attached.append(service.index_ready))
        qtbot.wait(300)
        assert attached == []  # the list may show; the workspace waits for the index
        build.set()
        qtbot.waitUntil(lambda: bool(attached), timeout=10_000)
        qtbot.wait(100)
        assert attached == [True]  # after the index, and once
        # Later: the index is there, nothing to wait for.
        attach._after_index(app, lambda: attached.append(True))
        assert attached == [True, True]
    finally:
        build.set()
        service.shutdown()
        for handle in handles:
            handle.close()


def test_the_wait_is_bounded(qtbot, monkeypatch, data_dir: Path) -> None:
    monkeypatch.setattr(attach, "INDEX_WAIT_MS", 200)
    service = LeadService()  # never opened: its index is never built
    app = SimpleNamespace(leads=service, closing=False)
    attached: list[float] = []
    try:
        start = time.monotonic()
        attach._after_index(app, lambda: attached.append(time.monotonic() - start))
        qtbot.waitUntil(lambda: bool(attached), timeout=5_000)
        assert 0.15 <= attached[0] < 3.0, attached
        service._on_index_ready()  # a late index does not attach a second time
        qtbot.wait(50)
        assert len(attached) == 1
    finally:
        service.shutdown()
