"""The softphone engine: one SIP thread owns the pjsua2 Endpoint and every pjsua2 object.

Threads
    ``SipEngine`` (a QObject) is used from any thread. Each public method puts a
    closure on a queue and wakes the SIP thread at once (a CRLF keep-alive datagram
    to a private loopback UDP transport makes pjsip's select() return, so
    dial -> INVITE is not delayed by polling). The SIP thread runs
    ``libHandleEvents`` (threadCnt=0, mainThreadOnly=True: every pjsua2 callback
    runs there), executes the commands and reports through Qt signals carrying
    frozen dataclasses (softphone/types.py), and through plain listeners
    (``subscribe``) for code without a Qt event loop (tests, benchmarks).

Lifecycle
    ``start()`` creates the library (null sound device = conference clock), the
    transports, the agent audio (``audio_factory``) and the account, and returns
    when all of that is up. ``stop()`` shuts down in the only safe order: hang up
    and delete calls, stop recorders, unregister and delete the account, close the
    audio, then ``libDestroy``. Both can be repeated many times per process.

Never logs a full phone number: remote parties are masked (privacy.mask_remote),
and pjsip's own log lines pass through the same filter.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import queue
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.grant_token import SIP_HEADER

from .account import AccountSettings
from .audio_api import AudioFactory, RecorderFactory
from .call import EngineCall
from .core import EngineConfig, SipCore
from .dispositions import DispositionTable
from .monitor import GrantVerifierLike
from .ownership import log_exception
from .threadname import set_os_thread_name
from .types import CallInfo, CallState, RegInfo

__all__ = ["EngineConfig", "SipEngine"]

log = logging.getLogger(__name__)


class SipEngine(QObject):
    """Thread-safe front of the SIP thread. Every command returns a concurrent Future."""

    registration_changed = Signal(object)   # RegInfo
    call_state_changed = Signal(object)     # CallInfo
    media_state_changed = Signal(object)    # MediaInfo
    incoming_call = Signal(object)          # IncomingCall
    dtmf_received = Signal(str, str)        # call_id, digit
    # Never a bare bool in a signal: PySide6 6.12 drops a reference to True/False when such a
    # signal is emitted with no receiver connected (the process then aborts at exit).
    transfer_status = Signal(object)        # TransferStatus
    monitor_changed = Signal(object)        # MonitorInfo
    error = Signal(object)                  # EngineError
    started = Signal()
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], cf.Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._core: SipCore | None = None
        self._stop_flag = threading.Event()
        self._wake_sock: socket.socket | None = None
        self._wake_addr: tuple[str, int] | None = None
        self._listeners: list[Callable[[str, Any], None]] = []
        self._lock = threading.Lock()
        self.last_reg: RegInfo | None = None
        self.calls: dict[str, CallInfo] = {}   # latest snapshot per live call (any thread may read)

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, config: EngineConfig, account: AccountSettings | None, audio_factory: AudioFactory,
              recorder_factory: RecorderFactory | None = None, monitor_verifier: GrantVerifierLike | None = None,
              disposition_codes: Iterable[Mapping[str, object]] | None = None) -> None:
        """Start the SIP thread; returns when the library, audio and account exist (or raises)."""
        if self.running:
            raise RuntimeError("engine already running")
        self._stop_flag.clear()
        self.calls = {}
        self.last_reg = None
        core = SipCore(self, config, account, audio_factory, recorder_factory, monitor_verifier,
                        DispositionTable(disposition_codes))
        ready: cf.Future[None] = cf.Future()
        self._core = core
        self._thread = threading.Thread(target=self._run, args=(core, ready), name="sip", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=config.start_timeout_s)
        except BaseException:
            self._stop_flag.set()
            self._thread.join(timeout=10)
            self._thread = None
            self._core = None
            raise
        self.started.emit()

    def stop(self, timeout: float = 15.0) -> None:
        """Ordered shutdown on the SIP thread; idempotent."""
        thread = self._thread
        if thread is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("stop() called on the SIP thread (from a listener); call it from elsewhere")
        self._stop_flag.set()
        self._wake()
        thread.join(timeout=timeout)
        if thread.is_alive():
            # Keep it marked as running: starting a second library next to it would abort.
            log.error("SIP thread did not stop within %.0f s", timeout)
            raise TimeoutError(f"SIP thread did not stop within {timeout:.0f} s")
        self._thread = None
        self._core = None
        if self._wake_sock is not None:
            self._wake_sock.close()
            self._wake_sock = None
        self.stopped.emit()

    def _run(self, core: SipCore, ready: cf.Future[None]) -> None:
        set_os_thread_name("seatmate-sip")
        try:
            core.start()
            self._wake_addr = ("127.0.0.1", core.wake_port)
            self._wake_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except BaseException as exc:
            log_exception(log, "SIP engine failed to start")
            with contextlib.suppress(Exception):
                core.shutdown()
            traceback.clear_frames(exc.__traceback__)  # frames hold pjsua2 objects
            ready.set_exception(exc)
            return
        ready.set_result(None)
        assert core.ep is not None
        try:
            while not self._stop_flag.is_set():
                core.ep.libHandleEvents(core.wait_ms())
                # Delete ended calls before any command can create a new one: pjsua reuses
                # call ids, and a late destructor would clear the new call's user data.
                core.reap()
                self._drain()
                core.tick()
        except BaseException:
            log_exception(log, "SIP thread crashed")
        finally:
            self._drain(cancel=True)
            try:
                core.shutdown()
            except BaseException:
                log_exception(log, "SIP shutdown failed")
            self._drain(cancel=True)

    def _drain(self, cancel: bool = False) -> None:
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if cancel:
                fut.set_exception(RuntimeError("engine stopped"))
                continue
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:
                # The traceback's frames hold pjsua2 objects (calls, media); they must not
                # outlive the SIP thread in a caller's Future, so drop the frames' locals.
                traceback.clear_frames(exc.__traceback__)
                fut.set_exception(exc)

    def _wake(self) -> None:
        sock, addr = self._wake_sock, self._wake_addr
        if sock is not None and addr is not None:
            with contextlib.suppress(OSError):
                sock.sendto(b"\r\n\r\n", addr)

    def call_soon(self, fn: Callable[[], Any]) -> cf.Future[Any]:
        """Run ``fn`` on the SIP thread; its result (or exception) lands in the Future."""
        fut: cf.Future[Any] = cf.Future()
        if not self.running:
            fut.set_exception(RuntimeError("engine not running"))
            return fut
        self._commands.put((fn, fut))
        self._wake()
        return fut

    def _core_call(self, name: str, *args: Any) -> cf.Future[Any]:
        def job() -> Any:
            assert self._core is not None
            return getattr(self._core, name)(*args)
        return self.call_soon(job)

    # ---- events ---------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[str, Any], None]) -> Callable[[], None]:
        """Plain-Python listener called ON THE SIP THREAD with (kind, payload); returns an unsubscriber.
        Kinds: registration, call, media, incoming, dtmf, transfer, monitor, error."""
        with self._lock:
            self._listeners.append(fn)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(fn)
        return unsubscribe

    def _publish(self, kind: str, payload: Any) -> None:
        if kind == "registration":
            self.last_reg = payload
            self.registration_changed.emit(payload)
        elif kind == "call":
            if payload.state is CallState.ENDED:
                self.calls.pop(payload.call_id, None)
            else:
                self.calls[payload.call_id] = payload
            self.call_state_changed.emit(payload)
        elif kind == "media":
            self.media_state_changed.emit(payload)
        elif kind == "incoming":
            self.incoming_call.emit(payload)
        elif kind == "dtmf":
            self.dtmf_received.emit(*payload)
        elif kind == "transfer":
            self.transfer_status.emit(payload)
        elif kind == "monitor":
            self.monitor_changed.emit(payload)
        elif kind == "error":
            self.error.emit(payload)
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(kind, payload)
            except Exception:
                log_exception(log, "listener failed")

    # ---- commands -------------------------------------------------------------------------
    def set_account(self, settings: AccountSettings | None) -> cf.Future[None]:
        if settings is None:
            return self._core_call("remove_account")
        return self._core_call("create_account", settings)

    def dial(self, target: str, lead_id: str | None = None,
             headers: Mapping[str, str] | None = None) -> cf.Future[str]:
        """Dial a number (``sip:<number>@<domain>``) or a SIP URI; the Future gives the call id."""
        dialed_at = time.time()
        call_id = EngineCall.new_id()
        return self._core_call("dial", call_id, target, lead_id, dialed_at, dict(headers or {}))

    def answer(self, call_id: str | None = None) -> cf.Future[None]:
        return self._core_call("answer", call_id)

    def reject(self, call_id: str | None = None, code: int = 486) -> cf.Future[None]:
        return self._core_call("reject", call_id, code)

    def hangup(self, call_id: str | None = None) -> cf.Future[None]:
        return self._core_call("hangup", call_id)

    def hold(self, on: bool, call_id: str | None = None) -> cf.Future[None]:
        return self._core_call("hold", call_id, on)

    def mute(self, on: bool, call_id: str | None = None) -> cf.Future[None]:
        return self._core_call("mute", call_id, on)

    def send_dtmf(self, digits: str, method: str = "rfc4733", call_id: str | None = None) -> cf.Future[None]:
        """method: 'rfc4733' (RTP telephone-event) or 'info' (SIP INFO, application/dtmf-relay)."""
        return self._core_call("send_dtmf", call_id, digits, method)

    def transfer_blind(self, target: str, call_id: str | None = None) -> cf.Future[None]:
        return self._core_call("transfer_blind", call_id, target)

    def transfer_attended(self, call_id: str, to_call_id: str) -> cf.Future[None]:
        """Connect the party of ``call_id`` with the party of ``to_call_id`` (REFER with Replaces)."""
        return self._core_call("transfer_attended", call_id, to_call_id)

    def handle_ip_change(self) -> cf.Future[None]:
        """Call when the OS reports a network change or a resume from sleep (also detected here)."""
        return self._core_call("handle_ip_change")

    # TL side of monitoring
    def monitor_start(self, agent_uri: str, token: str | None) -> cf.Future[str]:
        """Call the agent's bridge with the grant (or, token None, a PBX feature code such as
        ``*2221001``). The call is the TL's monitor leg: the workspace's call loop ignores it."""
        dialed_at = time.time()
        return self._core_call("dial", EngineCall.new_id(), agent_uri, None, dialed_at,
                               {SIP_HEADER: token} if token is not None else {}, "tl")

    def monitor_change(self, call_id: str, token: str) -> cf.Future[None]:
        return self._core_call("monitor_change", call_id, token)

    def end_monitoring(self) -> cf.Future[int]:
        """Agent side: hang up every monitor leg (e.g. the agent's policy forbids it right now)."""
        return self._core_call("end_monitor_legs")

    def snapshot(self, call_id: str) -> CallInfo | None:
        return self.calls.get(call_id)

