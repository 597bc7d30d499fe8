"""The lead list's service: searches run on one background worker (app.background),
results come back to the GUI thread as frozen dataclasses through a Qt signal.

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

from PySide6.QtCore import QObject, QTimer, Signal

from app.background import Worker, on_gui, run_in_background

log = logging.getLogger(__name__)

#: Rows delivered with a search result so the first screen needs no second query
#: (equal to the table model's page size).
FIRST_PAGE = 50
# Rows a screen of the list shows, at most (26 px rows: 40 rows is a 1,040 px tall list).
_SCREEN_ROWS = 40
# The index's start-up slices (its pair lists, ~5-10 ms of GIL each): the first once the full
# list has been painted, then one per gap, so the GUI thread gets the GIL in between.
INDEX_STEP_FIRST_MS, INDEX_STEP_GAP_MS = 200, 5


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
    # The lead the list keeps selected (the agent's current lead): its row and the rows
    # around it are found here, on the worker, not by the GUI thread (see _kept_rows).
    keep: str | None = None


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    ids: Sequence[str]  # a tuple, or the index's LeadHits (read-only, made as it is read)
    first_rows: tuple[Any, ...]  # LeadRow, in ids order
    elapsed_ms: float
    error: str | None = None
    keep_row: int | None = None  # the kept lead's row, -1 if not in the result; None: not looked up
    keep_start: int = 0  # kept_rows are the rows from this row on (a page boundary)
    kept_rows: tuple[Any, ...] = ()

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


def _plain(request: SearchRequest) -> bool:
    """An unfiltered tab in the default order: what a first page from SQL can answer."""
    return not request.text and request.campaign_id is None and request.source is None \
        and request.sort in (None, "priority") and request.waiting_since_before is None


class LeadService(QObject):
    """UI-facing access to leads. Construct on the GUI thread; call ``shutdown()`` on exit.

    Two workers (app.background): searches on one, cards on the other, so a card read
    (whose first call loads phonenumbers' region data, ~0.3 s) never makes a search
    keystroke wait in line behind it. Both are "latest only".
    """

    searchFinished = Signal(object)  # SearchResult (latest request only)
    detailReady = Signal(object)  # DetailResult (latest request only)
    opened = Signal(object)  # the repository, once open_in_background's opener returned it
    openFailed = Signal(object)  # the opener's exception
    indexReady = Signal()  # from now on keystrokes are answered from the in-memory index

    def __init__(self, repository: Any = None, worker_repository: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self._repo = repository
        self._generation = 0  # GUI thread only
        self._delivered = 0
        self._detail_generation = 0
        self._first_shown = threading.Event()
        self.index_ready = False
        # Start-up: the first page read straight from the file (cache.first_page.peek) while
        # the cache opens; used once, for the first plain request of its tab.
        self._peek: Any = None
        self._peek_done = threading.Event()
        self._peek_done.set()
        # The opener's imports (SQLAlchemy, the models: ~0.2 s of GIL) wait until the peeked
        # page is on screen, so they do not slow the window's first frame down.
        self._open_gate = threading.Event()
        self._open_gate.set()
        self._peek_answered = 0  # the request generation the peek answered (read on the worker)
        self._latest: SearchRequest | None = None
        self._pending_detail: str | None = None  # a card asked for before the cache was open
        worker_repo = worker_repository or repository
        self._search_repo = worker_repo  # read and (by open_in_background) set on the search worker
        self._detail_repo = worker_repo  # set on the GUI thread before any card is requested
        self._searches = Worker("lead-search")
        self._stepping = False  # the index's start-up slices are queued (search worker)
        self._details = Worker("lead-detail")

    def open_in_background(self, opener: Callable[[], Any], peek: Callable[[], Any] | None = None) -> None:
        """Run ``opener`` (open the cache, build the search index…) on the search worker.

        The window can be built meanwhile; searches requested in the meantime
        queue behind it and run once the repository exists. ``peek`` (optional) reads
        the first page without opening the cache (a ``cache.first_page.Peek`` or None) on
        a thread of its own: the first plain request of its tab is answered from it, so
        the first screen does not wait for the cache's imports and checks.
        """
        if peek is not None:
            self._peek_done.clear()
            self._open_gate.clear()

            def run_peek() -> Any:
                result = None
                try:
                    result = peek()
                    return result
                finally:
                    self._peek_done.set()
                    if result is None:
                        self._open_gate.set()

            run_in_background(run_peek, self._on_peeked,
                              lambda exc: log.warning("start-up: first-page peek failed: %s", exc), name="lead-peek")
        self._searches.submit(lambda: self._open(opener), self._on_opened, self._on_open_failed)

    def _open(self, opener: Callable[[], Any]) -> Any:  # search worker
        self._open_gate.wait(3.0)  # bounded: the GUI may be slow (or gone)
        from cache.repository import defer_warm_up  # SQLAlchemy and the models: most of the opening

        # The peek reads the file: nothing may move, repair or migrate it meanwhile (bounded).
        self._peek_done.wait(5.0)
        with defer_warm_up():  # the index is built after the first page (see _first_screen)
            self._search_repo = opener()
        return self._search_repo

    def _on_opened(self, repository: Any) -> None:
        self._repo = repository
        # Safe without a lock: no card is read before the cache is open (see request_detail).
        self._detail_repo = repository
        self.opened.emit(repository)
        if self._pending_detail is not None:
            lead_id, self._pending_detail = self._pending_detail, None
            self.request_detail(lead_id)

    def _on_open_failed(self, exc: BaseException) -> None:
        log.error("opening the lead cache failed", exc_info=exc)
        self.openFailed.emit(exc)

    def _on_peeked(self, peek: Any) -> None:  # GUI thread
        if peek is None or self._delivered or self._repo is not None:
            self._open_gate.set()
            return  # nothing to show, or the real list is already there
        self._peek = peek
        if not self._answer_from_peek():
            self._open_gate.set()  # not for the window's request: open the cache now

    def _answer_from_peek(self) -> bool:  # GUI thread
        peek, request = self._peek, self._latest
        if peek is None or request is None or request.generation != self._generation:
            return False
        if not _plain(request) or request.tab != peek.tab or self._delivered:
            return False
        self._peek = None  # once: later requests go to the repository
        self._peek_answered = request.generation
        ids = FirstPageIds(peek.ids, peek.total)
        log.info("start-up: first page (%d of %d leads) read from the file in %.0f ms",
                 len(peek.ids), peek.total, peek.elapsed_ms)
        self._on_finished(SearchResult(request, ids, peek.rows, peek.elapsed_ms, None))
        return True

    def _on_index_ready(self) -> None:
        self.index_ready = True
        self.indexReady.emit()

    # -- searches ------------------------------------------------------------------
    def search(
        self,
        text: str,
        tab: str,
        campaign_id: str | None = None,
        source: str | None = None,
        sort: str | None = None,
        waiting_since_before: Any = None,
        keep: str | None = None,
    ) -> int:
        self._generation += 1
        request = SearchRequest(self._generation, text.strip(), tab, campaign_id, source, sort, waiting_since_before,
                                keep)
        self._latest = request
        self._searches.submit(lambda: self._run_search(request), self._on_finished, latest="search")
        if self._peek is not None:
            self._answer_from_peek()
        return request.generation

    def _run_search(self, request: SearchRequest) -> SearchResult | None:  # search worker
        repo = self._search_repo
        if repo is None:
            return None  # the cache could not be opened; the user has been told
        if getattr(repo, "warm_up_deferred", False):
            return self._first_screen(repo, request)
        result = self._search(repo, request)
        if not self._stepping and getattr(repo, "index_pending", False):  # e.g. filled by a first sync
            self._stepping = True
            on_gui(self._schedule_index_step, repo, INDEX_STEP_GAP_MS)
        return result

    @staticmethod
    def _search(repo: Any, request: SearchRequest) -> SearchResult:
        start = time.perf_counter()
        try:
            # Unset filters are left to the repository's defaults (e.g. its sort order).
            options = {k: v for k, v in (("campaign_id", request.campaign_id), ("source", request.source),
                                         ("sort", request.sort),
                                         ("waiting_since_before", request.waiting_since_before)) if v is not None}
            # The ids are made as the list reads them (a LeadHits): a keystroke pays for the
            # page on screen, not for tens of thousands of matching ids.
            search = getattr(repo, "search_hits", None) or repo.search_lead_ids
            ids = search(request.text, request.tab, **options)
            first = repo.lead_rows(ids[:FIRST_PAGE]) if ids else []
            error = None
        except Exception as exc:  # the environment's fault (locked/corrupt db): shown, not raised
            log.exception("lead search failed")
            ids, first, error = [], [], str(exc)
        keep_row, keep_start, kept = LeadService._kept_rows(repo, request.keep, ids) if not error else (None, 0, [])
        elapsed = (time.perf_counter() - start) * 1000
        return SearchResult(request, tuple(ids) if isinstance(ids, list) else ids, tuple(first), elapsed, error,
                            keep_row, keep_start, tuple(kept))

    @staticmethod
    def _kept_rows(repo: Any, keep: str | None, ids: Sequence[str]) -> tuple[int | None, int, list[Any]]:
        """The kept lead's row, and the rows the list shows when it scrolls to it.

        After a save the saved lead moves (status, callback date) and the list keeps it
        selected, so the view scrolls to it: finding its row (~1.5 ms for a row in the
        thousands) and reading the pages around it (1-5 ms of SQL) on the GUI thread were
        most of the first keystroke after a save. (-1, 0, []) when it is not in the result.
        """
        if not keep or not ids:
            return (None if not keep else -1), 0, []
        try:
            row = ids.index(keep)
        except ValueError:
            return -1, 0, []
        except Exception:  # a read error: the GUI looks it up as before
            log.exception("finding the kept lead failed")
            return None, 0, []
        if row < FIRST_PAGE:
            return row, 0, []  # on the first page, which comes with the result
        # The view scrolls just far enough to show the row: at its bottom when it was below
        # the rows shown, at its top when above. The pages of the rows a screen (< 40 rows)
        # above and below it, 2-3 pages.
        start = max(FIRST_PAGE, (max(0, row - _SCREEN_ROWS) // FIRST_PAGE) * FIRST_PAGE)
        end = ((row + _SCREEN_ROWS) // FIRST_PAGE + 1) * FIRST_PAGE
        try:
            return row, start, list(repo.lead_rows(ids[start:end]))
        except Exception:
            log.exception("reading the kept lead's rows failed")
            return row, 0, []

    def _first_screen(self, repo: Any, request: SearchRequest) -> SearchResult | None:  # search worker
        """Start-up: the first page straight from SQL, then the index, then the full list."""
        plain = _plain(request)
        complete = False
        if self._peek_answered == request.generation:
            # Shown from the file before the cache was opened (checked, repaired, migrated
            # since): the full list below replaces it in any case.
            self._first_shown.wait(2.0)
        elif plain:
            start = time.perf_counter()
            try:
                total, ids = repo.first_page_ids(request.tab, 2 * FIRST_PAGE)
                first = repo.lead_rows(ids[:FIRST_PAGE]) if ids else []
                complete = total <= len(ids)
                shown = tuple(ids) if complete else FirstPageIds(ids, total)
                elapsed = (time.perf_counter() - start) * 1000
                log.info("start-up: first page (%d of %d leads) read in %.0f ms", len(ids), total, elapsed)
                on_gui(self._on_finished, SearchResult(request, shown, tuple(first), elapsed, None))
            except Exception:
                log.exception("reading the first page failed; waiting for the index")
            if not complete:
                self._first_shown.wait(2.0)  # bounded: the GUI may be busy (or gone)
        try:
            start = time.perf_counter()
            repo.finish_warm_up()
            log.info("start-up: search index built in %.0f ms", (time.perf_counter() - start) * 1000)
        except Exception:
            log.exception("building the search index failed")  # searches will retry and report it
        on_gui(self._on_index_ready)
        # The index's pair lists (fast 2-character texts) are made a slice a job, queued behind
        # the searches: a keystroke waits for one slice at most, never for all of them. They
        # start once the full list is on screen, with gaps that leave the GIL to the GUI.
        self._stepping = True
        on_gui(self._schedule_index_step, repo, INDEX_STEP_FIRST_MS)
        # The full list replaces the first page unless the agent has typed since (then
        # the newer request, queued behind us, answers).
        if complete or self._searches.superseded():
            return None
        return self._search(repo, request)

    def _schedule_index_step(self, repo: Any, delay_ms: int) -> None:  # GUI thread
        QTimer.singleShot(delay_ms, lambda: self._searches.submit(lambda: self._index_step(repo)))

    def _index_step(self, repo: Any) -> None:  # search worker
        step = getattr(repo, "index_step", None)
        try:
            done = step is None or step()
        except Exception:
            log.exception("the search index's start-up work failed")  # searches still answer
            return
        if done:
            self._stepping = False
        else:
            on_gui(self._schedule_index_step, repo, INDEX_STEP_GAP_MS)

    def _on_finished(self, result: SearchResult | None) -> None:
        if result is None:
            return
        if result.request.generation == self._generation:
            self._delivered = result.request.generation
            self.searchFinished.emit(result)
        if not self._first_shown.is_set():
            # The worker builds the search index once this first screen has been handled
            # (GIL-bound work would otherwise slow the window's first paint).
            QTimer.singleShot(0, self._first_shown.set)
            QTimer.singleShot(0, self._open_gate.set)

    def busy(self) -> bool:
        """True while the latest request's result has not been delivered."""
        return self._delivered != self._generation

    # -- cards ---------------------------------------------------------------------
    def request_detail(self, lead_id: str) -> None:
        """Read a lead's card (and its campaign's script) off the GUI thread → ``detailReady``.

        The first card also loads phonenumbers' region/carrier data (~0.3 s), which
        must not sit between the agent and the list.
        """
        self._detail_generation += 1
        generation = self._detail_generation
        if self._detail_repo is None and self._repo is None:
            # The first page came from the file (see open_in_background): read it once open.
            self._pending_detail = lead_id
            return
        self._pending_detail = None
        self._details.submit(lambda: self._read_detail(lead_id, generation), self._on_detail, latest="detail")

    def _read_detail(self, lead_id: str, generation: int) -> DetailResult | None:  # detail worker
        repo = self._detail_repo
        if repo is None:
            return None
        try:
            detail = repo.lead_detail(lead_id)
            script = repo.script_for(detail.campaign_id) if detail is not None else None
            return DetailResult(lead_id, detail, script, None, generation)
        except Exception as exc:
            log.exception("reading lead %s failed", lead_id)
            return DetailResult(lead_id, None, None, str(exc), generation)

    def _on_detail(self, result: DetailResult | None) -> None:
        if result is not None:
            self.detailReady.emit(result)

    # Small primary-key reads, fine on the GUI thread (a page of rows, one lead).
    def rows(self, ids: Sequence[str]) -> list[Any]:
        if self._repo is None:
            return []  # the first page came from the file; the rest shows "…" until the cache is open
        return list(self._repo.lead_rows(list(ids)))

    def detail(self, lead_id: str) -> Any:
        return self._repo.lead_detail(lead_id)

    def script_for(self, campaign_id: str) -> Any:
        return self._repo.script_for(campaign_id)

    def shutdown(self) -> None:
        self._searches.stop()
        self._details.stop()
