"""The sync service: a QObject on its own QThread, talking to the GUI by signals.

Everything that touches the network or the cache for sync runs on the sync
thread: the round timer (``interval_s``, 30 s by default), the presence
heartbeat, recording uploads. Public methods (``sync_now``, ``login``,
``set_presence``…) may be called from any thread: they only emit a private
signal, which Qt queues to the sync thread.

Timing:
- success → next round after ``interval_s``;
- failure → exponential backoff with jitter (2 s, 4 s, 8 s … capped at
  ``max_backoff_s``), each delay drawn uniformly from [d/2, d] so a floor of
  agents coming back online do not all knock at the same instant;
- ``sync_now()`` (after a disposition) runs a round at once, backoff or not;
- a presence beat that succeeds while offline brings the next round forward.

Identity: after one successful login the user's identity is cached in
``sync_state`` and the session tokens in the OS keyring; the next start works
offline at once with the cached identity and syncs when the server answers.
"""

from __future__ import annotations

import contextlib
import logging
import random

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from cache.identity import IdentityConflict
from cache.pull_apply import ChangeSummary
from cache.sync_store import SyncStore
from core import messages as msg
from core.messages import Message
from core.wire import Identity
from sync.auth import KeyringVault
from sync.client import ApiClient, AuthError, BadAnswer, NetworkError, RequestRejected, SyncError, TokenVault
from sync.engine import RoundResult, SyncEngine
from sync.presence import HEARTBEAT_S, PresenceReporter
from sync.recordings import RecordingUploader

log = logging.getLogger(__name__)


def backoff_delay(failures: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Delay before retry number ``failures`` (1-based): exponential, capped, jittered."""
    ceiling = min(cap_s, base_s * (2 ** max(0, failures - 1)))
    return rng.uniform(ceiling / 2, ceiling)


def _failure(exc: Exception) -> Message:
    """A failed round as a message code: the server refused the request (HTTP 4xx), or it
    could not be reached / gave no usable answer."""
    if isinstance(exc, RequestRejected):
        return Message.of(msg.SYNC_REFUSED, status=exc.status, detail=exc.detail)
    if isinstance(exc, AuthError):
        return Message.of(msg.SYNC_AUTH)
    if isinstance(exc, BadAnswer):  # reached, but its answer could not be read: not "unreachable"
        return Message.of(msg.SYNC_BAD_ANSWER)
    if isinstance(exc, NetworkError):
        return Message.of(msg.SYNC_NETWORK)
    return Message.of(msg.SYNC_FAILED)


class _SyncSignals(QObject):
    """The signals the sync thread's worker emits and SyncService relays to the GUI thread."""

    online_changed = Signal(bool)
    pending_count_changed = Signal(int)
    sync_failed = Signal(object)  # core.messages.Message: why the round failed (the UI words it)
    rejected_events_changed = Signal(list)  # [RejectedEvent]
    changes_applied = Signal(object)  # ChangeSummary
    round_finished = Signal(object)  # RoundResult
    login_finished = Signal(bool, str)  # ok, display name or the reason
    identity_changed = Signal(object)  # Identity | None
    auth_required = Signal(str)  # the saved session is gone: ask for the password
    grant_ready = Signal(object)  # core.wire.Grant
    grant_failed = Signal(str)
    floor_changes = Signal(list)  # [core.wire.Change]: pulled TL orders and messages (agent_command, team_message)
    sip_account_changed = Signal(object)  # sync.sip_provisioning.ProvisionedSip (the password is in the keyring)
    stopped = Signal()


class _SyncWorker(_SyncSignals):
    """Lives on the sync thread; its signals reach the GUI only through SyncService."""

    # private: queued to the sync thread
    _sync_requested = Signal()
    _login_requested = Signal(str, str, str)
    _logout_requested = Signal()
    _presence_requested = Signal(str, object, object, object)
    _grant_requested = Signal(str, str)
    _stop_requested = Signal()

    def __init__(self, cache_handle, *, interval_s: float = 30.0, backoff_base_s: float = 2.0,
                 max_backoff_s: float = 120.0, timeout_s: float = 15.0, presence: bool = True,
                 vault_factory=None, seed: int | None = None) -> None:
        super().__init__()
        self.store = SyncStore(cache_handle)
        self.interval_s = interval_s
        self.backoff_base_s = backoff_base_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.presence_enabled = presence
        self._vault_factory = vault_factory or KeyringVault
        self._rng = random.Random(seed)
        self._client: ApiClient | None = None
        self._engine: SyncEngine | None = None
        self._presence: PresenceReporter | None = None
        self._uploader: RecordingUploader | None = None
        self.identity: Identity | None = None
        self.online: bool | None = None
        self.failures = 0
        self._pending = -1
        self._rejected_seen = -1
        self._generation = -1
        self._round_timer: QTimer | None = None
        self._presence_timer: QTimer | None = None
        self._watch_timer: QTimer | None = None
        self._handle = cache_handle

        self._thread = QThread()
        self._thread.setObjectName("seatmate-sync")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._on_started)
        self._sync_requested.connect(self._on_sync_requested)
        self._login_requested.connect(self._on_login)
        self._logout_requested.connect(self._on_logout)
        self._presence_requested.connect(self._on_presence)
        self._grant_requested.connect(self._on_grant)
        self._stop_requested.connect(self._on_stop)

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop timers and the thread; an HTTP request in flight may delay this up to its timeout."""
        if not self._thread.isRunning():
            return
        self._stop_requested.emit()
        if self._thread.wait(wait_ms):
            return
        # A request is hanging on a dead network: closing the connection pool from here
        # makes its socket read fail at once, so the thread can finish.
        log.warning("sync thread busy after %d ms; aborting its request", wait_ms)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.abort()
        if not self._thread.wait(wait_ms):
            log.error("sync thread did not stop")

    # -- sync thread --------------------------------------------------------

    @Slot()
    def _on_started(self) -> None:
        self._round_timer = QTimer(self)
        self._round_timer.setSingleShot(True)
        self._round_timer.timeout.connect(self._run_round)
        self._presence_timer = QTimer(self)
        self._presence_timer.setInterval(int(HEARTBEAT_S * 1000))
        self._presence_timer.timeout.connect(self._beat)
        # Local writes (a disposition, a note) bump the handle's generation: recount pending.
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(1000)
        self._watch_timer.timeout.connect(self._watch_cache)
        self._watch_timer.start()
        self._emit_counts(force=True)
        cached = self.store.identity_json()
        server_url = self.store.get_state("server_url")
        if cached and server_url:
            self.identity = Identity.from_json(cached)
            self._connect(server_url, self.identity.username)
            self.identity_changed.emit(self.identity)
            self._schedule(0)

    def _connect(self, server_url: str, username: str) -> None:
        if self._client is not None:
            self._client.close()
        vault: TokenVault = self._vault_factory(server_url, username)
        self._client = ApiClient(server_url, vault, device_id=self.store.device_id(), timeout=self.timeout_s,
                                 connect_timeout=min(5.0, self.timeout_s))
        self._engine = SyncEngine(self._client, self.store)
        self._engine.on_floor_changes = self.floor_changes.emit
        self._engine.on_sip_account = self.sip_account_changed.emit
        self._presence = PresenceReporter(self._client)
        self._uploader = RecordingUploader(self._client, self.store)
        if self.presence_enabled and self._presence_timer is not None:
            self._presence_timer.start()

    def _schedule(self, delay_s: float) -> None:
        if self._round_timer is not None:
            self._round_timer.start(max(0, int(delay_s * 1000)))

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.online_changed.emit(online)

    def _emit_counts(self, force: bool = False) -> None:
        pending = self.store.pending_count()
        if force or pending != self._pending:
            self._pending = pending
            self.pending_count_changed.emit(pending)
        rejected = self.store.rejected_events()
        if force or len(rejected) != self._rejected_seen:
            self._rejected_seen = len(rejected)
            self.rejected_events_changed.emit(rejected)

    @Slot()
    def _watch_cache(self) -> None:
        gen = getattr(self._handle, "generation", None)
        if gen is None or gen != self._generation:
            self._generation = gen if gen is not None else -1
            self._emit_counts()

    @Slot()
    def _on_sync_requested(self) -> None:
        if self._engine is not None:
            self._schedule(0)

    @Slot()
    def _run_round(self) -> None:
        if self._engine is None:
            return
        try:
            result: RoundResult = self._engine.run_round()
        except AuthError as exc:
            self._on_auth_lost(str(exc))
            return
        except (SyncError, RequestRejected) as exc:
            self.failures += 1
            delay = backoff_delay(self.failures, self.backoff_base_s, self.max_backoff_s, self._rng)
            log.info("sync round failed (%s); retry in %.1f s", exc, delay)
            self._set_online(False)
            self.sync_failed.emit(_failure(exc))
            self._emit_counts()
            self._schedule(delay)
            return
        except Exception as exc:  # a bug: keep the app alive, retry later, say so
            log.exception("sync round crashed")
            self.failures += 1
            self.sync_failed.emit(Message.of(msg.SYNC_INTERNAL, error=type(exc).__name__))
            self._schedule(backoff_delay(self.failures, self.backoff_base_s, self.max_backoff_s, self._rng))
            return
        self.failures = 0
        self._set_online(True)
        if not result.changes.empty:
            self.changes_applied.emit(result.changes)
        self._emit_counts()
        self.round_finished.emit(result)
        self._upload_recordings()
        self._schedule(self.interval_s)

    def _upload_recordings(self) -> None:
        if self._uploader is None:
            return
        try:
            self._uploader.run()
        except SyncError as exc:
            log.info("recording upload paused: %s", exc)

    def _on_auth_lost(self, reason: str) -> None:
        log.warning("session no longer valid: %s", reason)
        if self._presence_timer is not None:
            self._presence_timer.stop()
        if self._round_timer is not None:
            self._round_timer.stop()
        self._engine = None  # until the user logs in again; local work goes on
        self.auth_required.emit(reason)
        self.sync_failed.emit(Message.of(msg.SYNC_AUTH))

    @Slot(str, str, str)
    def _on_login(self, server_url: str, username: str, password: str) -> None:
        try:
            self.store.check_switch(username, server_url)
        except IdentityConflict as exc:
            self.login_finished.emit(False, str(exc))
            return
        self._connect(server_url, username)
        assert self._client is not None
        try:
            identity = self._client.login(username, password)
        except SyncError as exc:
            self.login_finished.emit(False, str(exc))
            return
        try:
            self.store.save_identity(identity.to_json(), server_url)
        except IdentityConflict as exc:
            self._engine = None  # never push someone else's events under this session
            self.login_finished.emit(False, str(exc))
            return
        self.identity = identity
        self.failures = 0
        self._set_online(True)
        self.identity_changed.emit(identity)
        self.login_finished.emit(True, identity.display_name)
        self._schedule(0)

    @Slot()
    def _on_logout(self) -> None:
        if self._client is not None:
            self._client.logout()
        self.store.forget_identity()
        self.identity = None
        self._engine = None
        for t in (self._round_timer, self._presence_timer):
            if t is not None:
                t.stop()
        self.identity_changed.emit(None)

    @Slot()
    def _beat(self) -> None:
        if self._presence is None:
            return
        was_online = self.online
        try:
            ok = self._presence.beat()
        except AuthError as exc:
            self._on_auth_lost(str(exc))
            return
        if ok and was_online is False:
            self._schedule(0)  # the server is back: sync now, not at the next backoff tick

    @Slot(str, object, object, object)
    def _on_presence(self, state: str, reason, call_id, lead_id) -> None:
        if self._presence is None:
            return
        try:
            self._presence.set_state(state, reason, call_id, lead_id)
        except AuthError as exc:
            self._on_auth_lost(str(exc))
        except ValueError as exc:
            log.error("%s", exc)

    @Slot(str, str)
    def _on_grant(self, agent_id: str, mode: str) -> None:
        if self._client is None:
            self.grant_failed.emit("not logged in")
            return
        try:
            self.grant_ready.emit(self._client.request_grant(agent_id, mode))
        except SyncError as exc:
            self.grant_failed.emit(str(exc))

    @Slot()
    def _on_stop(self) -> None:
        for t in (self._round_timer, self._presence_timer, self._watch_timer):
            if t is not None:
                t.stop()
        if self._client is not None:
            self._client.close()
        # Hand the object (and its timers) back to the main thread: Qt timers must be
        # destroyed by the thread that owns them, and this thread is about to end.
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())
        self.stopped.emit()
        self._thread.quit()


_PUBLIC_SIGNALS = (
    "online_changed", "pending_count_changed", "sync_failed", "rejected_events_changed", "changes_applied",
    "round_finished", "login_finished", "identity_changed", "auth_required", "grant_ready", "grant_failed",
    "floor_changes", "sip_account_changed", "stopped",
)


class SyncService(_SyncSignals):
    """What the app talks to. Create it on the GUI thread.

    Its signals are emitted on the thread that created it (the worker's signals are
    relayed through queued connections), so the app may connect plain functions and
    lambdas that touch widgets; PySide6 would otherwise run those on the emitting
    (sync) thread.
    """


    def __init__(self, cache_handle, **kwargs) -> None:
        super().__init__()
        self._worker = _SyncWorker(cache_handle, **kwargs)
        self._thread = self._worker._thread
        self.store = self._worker.store
        for name in _PUBLIC_SIGNALS:
            getattr(self._worker, name).connect(getattr(self, name))
        self.identity_changed.connect(self._remember_identity)
        self.online_changed.connect(self._remember_online)
        self.identity: Identity | None = None
        self.online: bool | None = None

    @Slot(object)
    def _remember_identity(self, identity) -> None:
        self.identity = identity

    @Slot(bool)
    def _remember_online(self, online: bool) -> None:
        self.online = online

    @property
    def worker_thread(self) -> QThread:
        return self._thread

    # -- public API (any thread) -------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_ms: int = 5000) -> None:
        """Stop timers and the thread; a request hanging on a dead network is aborted."""
        self._worker.shutdown(wait_ms)

    def sync_now(self) -> None:
        """Run a round at once (e.g. right after a disposition was saved)."""
        self._worker._sync_requested.emit()

    def login(self, server_url: str, username: str, password: str) -> None:
        self._worker._login_requested.emit(server_url, username, password)

    def logout(self) -> None:
        self._worker._logout_requested.emit()

    def set_presence(self, state: str, reason: str | None = None, call_id: str | None = None,
                     lead_id: str | None = None) -> None:
        self._worker._presence_requested.emit(state, reason, call_id, lead_id)

    def request_monitor_grant(self, agent_id: str, mode: str) -> None:
        self._worker._grant_requested.emit(agent_id, mode)

    def api_client(self) -> ApiClient | None:
        """The sync thread's client, for its tokens only: the TL's board stream and floor control
        borrow them through ``sync.supervisor.api_token_provider`` (the refresh is locked) and
        make their own requests on their own threads. None before a login."""
        return self._worker._client


__all__ = ["ChangeSummary", "SyncService", "backoff_delay"]
