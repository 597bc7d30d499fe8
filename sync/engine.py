"""One sync round: push the outbox, then pull changes. No Qt here.

``SyncEngine.run_round()`` is what the Qt service (``sync.service``) calls on its
timer, what the fault campaign's client process runs in a loop, and what the
benchmarks time. It is safe to kill the process at any point:

- an event is marked acknowledged only after the server's answer named it, in
  one cache transaction; killed before that, it is pushed again and the
  server answers ``duplicate`` (stored once by its UUID);
- a pulled page and its cursor are committed together; killed before, the
  same page is pulled again.

Push goes first so that the pull already carries the server's view of what we
just sent.

A server restored from a backup has forgotten what was pushed after the backup;
its pull answers say so with a new database generation. The round then re-queues
the events acknowledged since the backup, pushes them again and pulls from the
start (``SyncStore.adopt_generation``; docs/sync-api.md, "Database generation").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cache.pull_apply import ChangeSummary, PreparedLeads, prepare_leads
from cache.sync_state import GENERATION
from cache.sync_store import SyncStore
from core import timeutil
from core.contract import PushStatus
from core.pinyin import warm as warm_pinyin
from core.wire import PullPage, PushResult
from sync.client import MAX_PUSH_BATCH, ApiClient, BadAnswer, RequestRejected
from sync.sip_provisioning import take_sip_accounts

log = logging.getLogger(__name__)

#: Events per push: the server's maximum. Its cost per request dominates (measured:
#: 500 and 1000 events take about the same time), and a lost answer costs one
#: retry that the server answers with "duplicate".
PUSH_BATCH = MAX_PUSH_BATCH
#: Pull page size for the first pull (big pages: fewer round trips) and later ones.
PULL_LIMIT_INITIAL = 5000
PULL_LIMIT = 1000
#: Bounds: a round never loops forever, whatever the server says.
MAX_PUSH_BATCHES_PER_ROUND = 200
MAX_PULL_PAGES_PER_ROUND = 500
#: After a restore, events acknowledged this long before the backup was taken are sent
#: again too: covers the error of the clock offset (re-sending more only costs duplicates).
RESEND_MARGIN = dt.timedelta(minutes=10)




@dataclass(frozen=True)
class RoundResult:
    pushed: int = 0
    acknowledged: int = 0
    rejected: int = 0
    pulled_pages: int = 0
    changes: ChangeSummary = field(default_factory=ChangeSummary)
    pending: int = 0
    duration_s: float = 0.0


class SyncEngine:
    """Push then pull, against one cache and one server. One owner thread."""

    def __init__(self, client: ApiClient, store: SyncStore, *, push_batch: int = PUSH_BATCH,
                 utcnow: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self.store = store
        self.push_batch = max(1, min(push_batch, MAX_PUSH_BATCH))
        self._utcnow = utcnow or timeutil.utcnow
        #: Called (on this thread) with the pulled floor-control changes — the TL's orders and
        #: messages (``agent_command``, ``team_message``) — which the cache does not store: the
        #: app hands them to the agent's side of floor control (app/supervisor/agent_orders.py).
        self.on_floor_changes: Callable[[list[Any]], None] | None = None
        #: Called (on this thread) with the pulled coaching changes (``coaching_form``,
        #: ``coaching_evaluation``; docs/coaching.md), which the cache does not store either.
        self.on_coaching_changes: Callable[[list[Any]], None] | None = None
        #: Called (on this thread, after the page is stored) with each pulled ``sip_account``
        #: (sync.sip_provisioning.ProvisionedSip: its password is in the keyring by then).
        self.on_sip_account: Callable[[Any], None] | None = None
        #: Set by pull_all when the server's database generation changed (restored from a
        #: backup): the pull stopped there; run_round pushes the re-queued events and pulls again.
        self.generation_changed = False

    def run_round(self) -> RoundResult:
        t0 = time.perf_counter()
        # The collector is paused for the whole round, the push as the pull (pull_all): a
        # batch of 1,000 events is ~10,000 fresh dicts, lists and strings, none cyclic, and a
        # collection started by them walked the whole heap with the GIL held (bench_sync: a
        # full pass of 40 ms at the push's start after a first pull of 100,000 leads). What
        # the round leaves is collected after it, as the app's own allocations come.
        with gc_paused():
            return self._run_round(t0)

    def _run_round(self, t0: float) -> RoundResult:
        pushed, acked, rejected = self.push_pending()
        self.generation_changed = False
        pages, changes = self.pull_all()
        if self.generation_changed:  # the server was restored: re-send, then pull from the start
            self.generation_changed = False
            p2, a2, r2 = self.push_pending()
            pages2, changes2 = self.pull_all()
            pushed, acked, rejected = pushed + p2, acked + a2, rejected + r2
            pages, changes = pages + pages2, changes.merged(changes2)
        return RoundResult(pushed, acked, rejected, pages, changes, self.store.pending_count(),
                           time.perf_counter() - t0)

    # -- push ---------------------------------------------------------------

    def push_pending(self) -> tuple[int, int, int]:
        with gc_paused():  # see run_round
            return self._push_pending()

    def _push_pending(self) -> tuple[int, int, int]:
        pushed = acked = rejected = 0
        after_seq: int | None = None
        for _ in range(MAX_PUSH_BATCHES_PER_ROUND):
            batch = self.store.pending_batch(self.push_batch, after_seq=after_seq)
            if not batch:
                break
            a, r, unanswered = self._push_batch(batch)
            pushed += len(batch)
            acked += a
            rejected += r
            if unanswered:
                # The server did not answer for some events (never happens with a sane
                # server): skip past them this round instead of re-sending forever.
                log.warning("push: %d events got no answer; they stay pending", unanswered)
            after_seq = batch[-1]["_seq"]
        return pushed, acked, rejected

    def _push_batch(self, batch: list[dict]) -> tuple[int, int, int]:
        wire = [{k: v for k, v in e.items() if k != "_seq"} for e in batch]
        try:
            results = self.client.push(wire)
        except RequestRejected as exc:
            # Only the server's own structured answer (it has a machine code) says the
            # request is bad; a bare 400 from some proxy on the way says nothing about it.
            if exc.status in (400, 413, 422) and exc.code and len(batch) > 1:
                # One malformed event must not block the queue: split until it is alone.
                mid = len(batch) // 2
                a1, r1, u1 = self._push_batch(batch[:mid])
                a2, r2, u2 = self._push_batch(batch[mid:])
                return a1 + a2, r1 + r2, u1 + u2
            if exc.status in (400, 422) and exc.code and len(batch) == 1:
                # The server cannot even read this event: it is rejected, visibly, with the reason.
                results = [PushResult(batch[0]["id"], PushStatus.REJECTED, f"{exc.detail} ({exc.code or exc.status})")]
            else:
                raise
        outcome = self.store.settle([e["id"] for e in batch], results)
        return outcome.acknowledged, outcome.rejected, outcome.unanswered

    # -- pull ---------------------------------------------------------------

    def pull_all(self) -> tuple[int, ChangeSummary]:
        """Pull until the server has nothing more. The next page is fetched while the
        current one is written (the server works on one core, SQLite on the other);
        pages are still applied strictly in order, each with its cursor."""
        cursor = self.store.cursor()
        # A first pull into an empty cache builds the lead indexes after its last page
        # (cache.pull_apply, defer_indexes); one that stopped early is finished here.
        first_pull = cursor is None
        if not first_pull:
            self.store.restore_indexes()
        summary = ChangeSummary()
        pages = 0
        # The collector stays off for the whole round, not only while each page is parsed and
        # converted: re-enabled between pages, its first pass walked the next page's ~100,000
        # fresh objects (7–11 ms) and every so often a full pass walked all pages in flight
        # (54 ms), each holding the GIL the window needs. Nothing a pull makes is cyclic;
        # the GUI's few cycles wait for the round's end (seconds).
        with gc_paused(), short_switch_interval(), ThreadPoolExecutor(1, thread_name_prefix="sync-prefetch") as pool:
            limit = PULL_LIMIT_INITIAL if cursor is None else PULL_LIMIT
            fut: Future[PullPage] | None = pool.submit(self._fetch, cursor, limit)
            # Load the pinyin table (~9 ms, once per process) here while the first
            # request waits on the server, not on the prefetch thread after it.
            warm_pinyin()
            for _ in range(MAX_PULL_PAGES_PER_ROUND):
                assert fut is not None
                try:
                    page = fut.result()
                except RequestRejected as exc:
                    if cursor is not None and exc.status in (400, 410, 422):
                        # The server no longer understands our cursor (e.g. its database was
                        # restored): start over; every change is an idempotent upsert.
                        log.warning("pull: cursor refused (%s); pulling everything again", exc)
                        cursor = None
                        self.store.reset_cursor()
                        fut = pool.submit(self._fetch, None, PULL_LIMIT_INITIAL)
                        continue
                    raise
                if self._new_generation(page):
                    fut = None
                    break
                pages += 1
                more = page.has_more and page.next_cursor not in (None, cursor)
                fut = pool.submit(self._fetch, page.next_cursor, PULL_LIMIT_INITIAL) if more else None
                try:
                    if page.changes or page.next_cursor != cursor:
                        # Converted here, while the server makes the next page (requested above).
                        summary = summary.merged(self._apply(page, self._prepare(page),
                                                             defer_indexes=first_pull and more))
                    # else: an idle round; nothing to write (no fsync on the agent's disk).
                except BaseException:
                    if fut is not None:
                        fut.cancel()
                    raise
                if not more:
                    break
                cursor = page.next_cursor
            # Let go of the last page before the collector comes back on: still referenced,
            # its ~100,000 objects were the first collection's to walk (12 ms, GIL held).
            page = None  # type: ignore[assignment]
        if first_pull:
            self.store.restore_indexes()  # stopped before the last page (new generation, page bound)
        return pages, summary

    def _new_generation(self, page: PullPage) -> bool:
        """True when the page comes from a restored database this cache has not seen yet
        (then the events since the backup are re-queued and the cursor reset)."""
        if page.generation is None:
            return False  # an older server: nothing to compare
        known = self.store.generation()
        if known == page.generation:
            return False
        if known is None:  # the first pull from this server: just remember it
            self.store.set_state(GENERATION, page.generation)
            return False
        since = None
        try:
            backup_at = timeutil.parse_iso(page.restored_from)
            server_now = timeutil.parse_iso(page.server_time)
        except ValueError:
            backup_at = server_now = None
        if backup_at is not None:
            # The backup's time on this computer's clock (acknowledged_at is ours).
            offset = (server_now - self._utcnow()) if server_now is not None else dt.timedelta(0)
            since = backup_at - offset - RESEND_MARGIN
        requeued = self.store.adopt_generation(page.generation, since)
        log.warning("pull: the server's database was restored (generation %s, backup of %s); "
                    "re-sending %d events and pulling everything again", page.generation,
                    page.restored_from or "unknown time", requeued)
        self.generation_changed = True
        return True

    def _fetch(self, cursor: str | None, limit: int) -> PullPage:
        """On the prefetch thread: the next page, parsed."""
        with gc_paused():
            return self.client.pull(cursor, limit=limit)

    @staticmethod
    def _prepare(page: PullPage) -> PreparedLeads:
        """The page's lead rows ready for the database (pinyin keys included).

        On the sync thread, after the next page was requested: the conversion (~25 µs a lead,
        mostly pinyin) then overlaps the server's work on that page instead of following the
        download on the prefetch thread. Measured in bench_sync: with the lead indexes
        deferred, the prefetch thread (request + conversion) had become the slower of the two."""
        with gc_paused():
            try:
                return prepare_leads(page.changes)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BadAnswer(f"pull: lead data of the wrong shape ({type(exc).__name__})") from exc

    def _apply(self, page: PullPage, prepared: PreparedLeads | None = None, *,
               defer_indexes: bool = False) -> ChangeSummary:
        if self.on_floor_changes is not None:
            floor = [c for c in page.changes if c.entity in _FLOOR_ENTITIES]
            if floor:
                self.on_floor_changes(floor)
        if self.on_coaching_changes is not None:
            coaching = [c for c in page.changes if c.entity in _COACHING_ENTITIES]
            if coaching:
                self.on_coaching_changes(coaching)
        offset = None
        server_now = timeutil.parse_iso(page.server_time) if page.server_time else None
        if server_now is not None:
            offset = (server_now - self._utcnow()).total_seconds()
        page_changes, sip_notices = take_sip_accounts(page.changes)  # SIP passwords → the keyring only
        try:
            summary = self.store.apply_page(page_changes, page.next_cursor,
                                            monitor_public_key=page.monitor_public_key, clock_offset_s=offset,
                                            prepared=prepared, defer_indexes=defer_indexes)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A value of the wrong type in the page: its one transaction was rolled back.
            raise BadAnswer(f"pull: a change could not be stored ({type(exc).__name__})") from exc
        for notice in sip_notices:
            if self.on_sip_account is not None:
                self.on_sip_account(notice)
        return summary


_FLOOR_ENTITIES = frozenset({"agent_command", "team_message"})
_COACHING_ENTITIES = frozenset({"coaching_form", "coaching_evaluation"})


#: The interpreter's switch interval while a pull runs (Python's default: 5 ms). Two busy
#: threads (the prefetch thread parsing, this one converting and writing) each keep the GIL
#: up to an interval before handing it over when asked, and the window's thread may have to
#: wait for both in turn: with 5 ms, the GUI probe's longest waits were 15–20 ms chains of
#: these; with 1 ms, ~3 ms. The cost: more hand-overs, +0.1–0.2 s of CPU and wall on a 3.3 s
#: first pull of 100,000 leads (three interleaved pairs in bench_sync's setting).
PULL_SWITCH_INTERVAL_S = 0.001
_switch_lock = threading.Lock()
_switch_users = 0
_switch_before = 0.0


@contextlib.contextmanager
def short_switch_interval(interval: float | None = None) -> Iterator[None]:
    """``sys.setswitchinterval(interval or PULL_SWITCH_INTERVAL_S)`` while the block runs (it
    is process-wide: Python has no per-thread setting), the previous value back after the
    last nested user; never raises an interval that is already shorter."""
    global _switch_users, _switch_before
    with _switch_lock:
        if _switch_users == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(interval or PULL_SWITCH_INTERVAL_S, _switch_before))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_before)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a page is parsed and converted.

    A 5,000-lead page allocates ~100,000 dicts, lists and tuples, none in a cycle; the
    collector would otherwise run thousands of times per initial pull, walking the
    pages still held (measured: ~15 % of the pull's time, holding the GIL the cache
    writer needs). Reference counting still frees everything. Nested/concurrent
    pauses are counted; the collector is re-enabled only if it was on before."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
