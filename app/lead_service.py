"""The lead list's service: searches run on one worker thread, results come
back to the GUI thread as frozen dataclasses through a Qt signal.

Keystrokes are not debounced: every change starts a search, a newer request
makes older ones stale (they are skipped if not started, dropped if finished
late), so the list always shows the latest text's result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)

#: Rows delivered with a search result so the first screen needs no second query
#: (equal to the table model's page size).
FIRST_PAGE = 50


class FirstPageIds(tuple):
    """The first ids of a list whose full length is ``total`` (shown before the index exists)."""

    total: int

    def __new__(cls, ids: Sequence[str], total: int) -> FirstPageIds:
        obj = super().__new__(cls, ids)
        obj.total = total
        return obj


@dataclass(frozen=True)
class SearchRequest:
    generation: int
    text: str
    tab: str
    campaign_id: str | None = None
    source: str | None = None
    sort: str | None = None
    # Only new leads never tried that reached this device by then (the 48-hour rule's filter).
    waiting_since_before: Any = None


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    ids: tuple[str, ...]
    first_rows: tuple[Any, ...]  # LeadRow, in ids order
    elapsed_ms: float
    error: str | None = None

    @property
    def total(self) -> int:
        """How many leads match (more than ``len(ids)`` for a first page shown before the index)."""
        return getattr(self.ids, "total", len(self.ids))

    @property
    def partial(self) -> bool:
        return self.total > len(self.ids)


@dataclass(frozen=True)
class DetailResult:
    lead_id: str
    detail: Any  # LeadDetail, or None when it could not be read
    script: Any  # ScriptView of the lead's campaign, or None
    error: str | None = None
    generation: int = 0


class _SearchWorker(QObject):
    finished = Signal(object)  # SearchResult
    detailFinished = Signal(object)  # DetailResult
    opened = Signal(object)  # whatever the opener returned (the repository)
    openFailed = Signal(object)  # the exception
    indexReady = Signal()  # the search index is built: keystrokes are answered from memory

    def __init__(self, repository: Any, latest: Callable[[], int], latest_detail: Callable[[], int],
                 first_shown: threading.Event | None = None):
        super().__init__()
        self._repo = repository
        self._latest = latest
        self._latest_detail = latest_detail
        self._first_shown = first_shown

    @Slot(object)
    def open(self, opener: Callable[[], Any]) -> None:
        # Runs before any search: queued calls to this worker are handled in order.
        from cache.repository import defer_warm_up

        try:
            with defer_warm_up():  # the index is built after the first page (see run)
                self._repo = opener()
        except Exception as exc:
            log.exception("opening the lead cache failed")
            self.openFailed.emit(exc)
            return
        self.opened.emit(self._repo)

    @Slot(object)
    def run(self, request: SearchRequest) -> None:
        if self._repo is None:
            return  # the cache could not be opened; the user has been told
        if request.generation != self._latest():
            return  # a newer keystroke is queued behind us
        if getattr(self._repo, "warm_up_deferred", False):
            self._first_screen(request)
            return
        self._search(request)

    def _search(self, request: SearchRequest) -> None:
        start = time.perf_counter()
        try:
            # Unset filters are left to the repository's defaults (e.g. its sort order).
            options = {k: v for k, v in (("campaign_id", request.campaign_id), ("source", request.source),
                                         ("sort", request.sort),
                                         ("waiting_since_before", request.waiting_since_before)) if v is not None}
            ids = self._repo.search_lead_ids(request.text, request.tab, **options)
            first = self._repo.lead_rows(ids[:FIRST_PAGE]) if ids else []
            error = None
        except Exception as exc:  # the environment's fault (locked/corrupt db): shown, not raised
            log.exception("lead search failed")
            ids, first, error = [], [], str(exc)
        elapsed = (time.perf_counter() - start) * 1000
        self.finished.emit(SearchResult(request, tuple(ids), tuple(first), elapsed, error))

    def _first_screen(self, request: SearchRequest) -> None:
        """Start-up: the first page straight from SQL, then the index, then the full list."""
        plain = not request.text and request.campaign_id is None and request.source is None \
            and request.sort in (None, "priority") and request.waiting_since_before is None
        complete = False
        if plain:
            start = time.perf_counter()
            try:
                total, ids = self._repo.first_page_ids(request.tab, 2 * FIRST_PAGE)
                first = self._repo.lead_rows(ids[:FIRST_PAGE]) if ids else []
                complete = total <= len(ids)
                shown = tuple(ids) if complete else FirstPageIds(ids, total)
                elapsed = (time.perf_counter() - start) * 1000
                log.info("start-up: first page (%d of %d leads) read in %.0f ms", len(ids), total, elapsed)
                self.finished.emit(SearchResult(request, shown, tuple(first), elapsed, None))
            except Exception:
                log.exception("reading the first page failed; waiting for the index")
            if self._first_shown is not None and not complete:
                self._first_shown.wait(2.0)  # bounded: the GUI may be busy (or gone)
        try:
            start = time.perf_counter()
            self._repo.finish_warm_up()
            log.info("start-up: search index built in %.0f ms", (time.perf_counter() - start) * 1000)
        except Exception:
            log.exception("building the search index failed")  # searches will retry and report it
        self.indexReady.emit()
        # The full list replaces the first page unless the agent has typed since (then
        # the newer request, queued behind us, answers).
        if not complete and request.generation == self._latest():
            self._search(request)

    @Slot(str, int)
    def load_detail(self, lead_id: str, generation: int) -> None:
        if generation != self._latest_detail() or self._repo is None:
            return  # the agent already moved on to another lead
        try:
            detail = self._repo.lead_detail(lead_id)
            script = self._repo.script_for(detail.campaign_id) if detail is not None else None
            result = DetailResult(lead_id, detail, script, None, generation)
        except Exception as exc:
            log.exception("reading lead %s failed", lead_id)
            result = DetailResult(lead_id, None, None, str(exc), generation)
        self.detailFinished.emit(result)


class LeadService(QObject):
    """UI-facing access to leads. Construct on the GUI thread; call ``shutdown()`` on exit."""

    searchFinished = Signal(object)  # SearchResult (latest request only)
    detailReady = Signal(object)  # DetailResult (latest request only)
    opened = Signal(object)  # the repository, once open_in_background's opener returned it
    openFailed = Signal(object)  # the opener's exception
    indexReady = Signal()  # from now on keystrokes are answered from the in-memory index

    _requested = Signal(object)
    _detail_requested = Signal(str, int)
    _open_requested = Signal(object)

    def __init__(self, repository: Any = None, worker_repository: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self._repo = repository
        self._generation = 0
        self._delivered = 0
        self._detail_generation = 0
        self._lock = threading.Lock()
        self._first_shown = threading.Event()
        self.index_ready = False
        # Two workers: a card read (whose first call loads phonenumbers' region data,
        # ~0.3 s) must never make a search keystroke wait in line behind it.
        worker_repo = worker_repository or repository
        self._thread = QThread(self)
        self._thread.setObjectName("lead-search")
        self._worker = _SearchWorker(worker_repo, self._latest_generation, self._latest_detail_generation,
                                     self._first_shown)
        self._worker.moveToThread(self._thread)
        self._requested.connect(self._worker.run)
        self._open_requested.connect(self._worker.open)
        self._worker.opened.connect(self._on_opened)
        self._worker.openFailed.connect(self.openFailed)
        self._worker.indexReady.connect(self._on_index_ready)
        self._worker.finished.connect(self._on_finished)
        self._detail_thread = QThread(self)
        self._detail_thread.setObjectName("lead-detail")
        self._detail_worker = _SearchWorker(worker_repo, self._latest_generation, self._latest_detail_generation)
        self._detail_worker.moveToThread(self._detail_thread)
        self._detail_requested.connect(self._detail_worker.load_detail)
        self._detail_worker.detailFinished.connect(self._on_detail)
        self._thread.start()
        self._detail_thread.start()

    def open_in_background(self, opener: Callable[[], Any]) -> None:
        """Run ``opener`` (open the cache, build the search index…) on the worker thread.

        The window can be built meanwhile; searches requested in the meantime
        queue behind it and run once the repository exists.
        """
        self._open_requested.emit(opener)

    @Slot(object)
    def _on_opened(self, repository: Any) -> None:
        self._repo = repository
        # Safe without a lock: no card is requested before the first search result exists.
        self._detail_worker._repo = repository
        self.opened.emit(repository)

    @Slot()
    def _on_index_ready(self) -> None:
        self.index_ready = True
        self.indexReady.emit()

    def _latest_generation(self) -> int:
        with self._lock:
            return self._generation

    def _latest_detail_generation(self) -> int:
        with self._lock:
            return self._detail_generation

    def request_detail(self, lead_id: str) -> None:
        """Read a lead's card (and its campaign's script) off the GUI thread → ``detailReady``.

        The first card also loads phonenumbers' region/carrier data (~0.3 s), which
        must not sit between the agent and the list.
        """
        with self._lock:
            self._detail_generation += 1
            generation = self._detail_generation
        self._detail_requested.emit(lead_id, generation)

    @Slot(object)
    def _on_detail(self, result: DetailResult) -> None:
        if result.generation == self._latest_detail_generation():
            self.detailReady.emit(result)

    def search(
        self,
        text: str,
        tab: str,
        campaign_id: str | None = None,
        source: str | None = None,
        sort: str | None = None,
        waiting_since_before: Any = None,
    ) -> int:
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._requested.emit(SearchRequest(generation, text.strip(), tab, campaign_id, source, sort,
                                           waiting_since_before))
        return generation

    @Slot(object)
    def _on_finished(self, result: SearchResult) -> None:
        if result.request.generation == self._latest_generation():
            self._delivered = result.request.generation
            self.searchFinished.emit(result)
        if not self._first_shown.is_set():
            # The worker builds the search index once this first screen has been handled
            # (GIL-bound work would otherwise slow the window's first paint).
            QTimer.singleShot(0, self._first_shown.set)

    def busy(self) -> bool:
        """True while the latest request's result has not been delivered."""
        return self._delivered != self._latest_generation()

    # Small primary-key reads, fine on the GUI thread (a page of rows, one lead).
    def rows(self, ids: Sequence[str]) -> list[Any]:
        return list(self._repo.lead_rows(list(ids)))

    def detail(self, lead_id: str) -> Any:
        return self._repo.lead_detail(lead_id)

    def script_for(self, campaign_id: str) -> Any:
        return self._repo.script_for(campaign_id)

    def shutdown(self) -> None:
        for thread in (self._thread, self._detail_thread):
            thread.quit()
            if not thread.wait(5000):
                log.error("%s thread did not stop in time", thread.objectName())
