"""The TL's side of monitoring (监听 / 耳语 / 强插): one session at a time, from the board.

``MonitorService.start(agent_id, sip_user, mode)`` → ``.change(mode)`` → ``.end()``;
the outcome comes back as Qt signals on the GUI thread (``starting``, ``started``,
``changed``, ``ended``, ``failed``) carrying a :class:`MonitorView` and, for
endings and failures, a ``core.messages.Message`` (the UI words it).

How a session runs (docs/supervisor.md, "Monitoring sessions"):

1. The server is asked for a grant (``POST /monitor/grants``): it checks that the
   agent is in this TL's team and on a call, signs a 60 s single-use token and
   writes the ``monitor_grant`` audit row.
2. **bridge** (default): the TL's own softphone (the same ``SipEngine`` the TL's
   phone uses) calls the agent's SIP user with the token in ``X-Seatmate-Monitor``;
   the agent's softphone verifies it and answers at once, silently, so the TL hears
   the call without anything ringing on either side. **pbx_codes**: the softphone
   dials the PBX's feature code instead (``dial_templates``, e.g. ``*2221001``); the
   grant still authorises and audits it.
3. Once the call is answered: ``POST /monitor/sessions`` (``monitor_start`` audit).
4. A mode change is reported first (``POST …/mode``: audited, and the answer carries
   a fresh grant for the new mode), then sent as a re-INVITE with that grant on the
   same call (bridge), or — PBX codes know no such thing — as a new call to the new
   mode's code, the old leg hung up right after. The bridge's answer to the re-INVITE
   comes back (the engine's ``monitor`` event, role ``tl``): refused (403/488) → ``failed``
   with ``monitor.change_refused``, the old mode stays and is reported back to the server.
5. The end (the TL's 结束, or the agent's call ending, which ends the leg from the
   agent's side) is reported with its reason (``monitor_end`` audit row).

The TL's microphone is muted on the leg in 监听 (the agent's bridge drops it
anyway); it is open in 耳语 and 强插. Requests and the engine's blocking calls run
on one ``app.background`` worker, in order; the engine's call events arrive on the
GUI thread (queued Qt signals). The ``supervisor`` object (``sync.supervisor.
SupervisorClient`` or anything with its four monitor methods) is used only on that
worker.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.background import Worker
from core import messages as msg
from core.grant_token import MODES
from core.messages import Message
from softphone.monitor import FeatureCodes
from softphone.types import CallState
from sync.client import AuthError, NetworkError, RequestRejected

log = logging.getLogger(__name__)

STRATEGIES = ("bridge", "pbx_codes")
ENGINE_TIMEOUT_S = 10.0


class ChangeRefused(RuntimeError):
    """The agent's softphone refused a mode change (its SIP status); the old mode stays."""

    def __init__(self, code: int) -> None:
        super().__init__(f"mode change refused by the agent's softphone ({code})")
        self.code = code


class _ChangeAnswer:
    """Waits (on the worker) for the agent's answer to a mode change on ``leg``: the engine's
    ``monitor`` event with role ``tl`` (reason ``change accepted 200`` / ``change refused 488``).
    Without ``phone.subscribe`` (a stand-in phone) there is nothing to wait for."""

    def __init__(self, phone: Any, leg: str | None) -> None:
        self.code: int | None = None
        self._done = threading.Event()
        self._leg = leg
        subscribe = getattr(phone, "subscribe", None)
        self._unsubscribe = subscribe(self._on_event) if callable(subscribe) else None

    def _on_event(self, kind: str, payload: Any) -> None:  # the SIP thread
        if (kind == "monitor" and getattr(payload, "role", "") == "tl" and payload.session_id == self._leg
                and str(payload.reason).startswith("change")):
            try:
                self.code = int(str(payload.reason).rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                self.code = 0
            self._done.set()

    def wait(self, timeout: float) -> int | None:
        if self._unsubscribe is None:
            return None
        self._done.wait(timeout)
        return self.code

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()


class MonitorBackend(Protocol):
    """What the service needs of the server (``sync.supervisor.SupervisorClient``)."""

    def request_grant(self, agent_id: str, mode: str) -> Any: ...

    def start_monitor(self, jti: str) -> Any: ...

    def change_monitor_mode(self, session_id: str, mode: str) -> Any: ...

    def end_monitor(self, session_id: str, reason: str | None = None) -> Any: ...


@dataclass(frozen=True)
class MonitorView:
    """A monitoring session as the banner shows it."""

    agent_id: str
    agent_name: str
    sip_user: str
    mode: str
    strategy: str
    phase: str                  # connecting | active | ending | ended
    started_at: float | None    # time.time() when the TL's leg was answered
    mic_muted: bool             # the TL's microphone on the leg (muted in 监听)
    call_id: str | None = None  # the TL engine's call id of the leg
    session_id: str | None = None  # the server's session


@dataclass
class _Session:
    agent_id: str
    agent_name: str
    sip_user: str
    mode: str
    strategy: str
    phase: str = "connecting"
    started_at: float | None = None
    call_id: str | None = None
    session_id: str | None = None
    jti: str | None = None
    end_reason: str | None = None
    want_mode: str | None = None
    clicked_at: float = 0.0     # time.monotonic() of start() (the benchmark reads it)

    def view(self) -> MonitorView:
        return MonitorView(self.agent_id, self.agent_name, self.sip_user, self.mode, self.strategy, self.phase,
                           self.started_at, self.mode == "listen", self.call_id, self.session_id)


def server_failure(exc: BaseException, agent: str) -> Message:
    """A failed grant or session request as a message code."""
    if isinstance(exc, RequestRejected):
        if exc.code == "not_on_call":
            return Message.of(msg.MONITOR_NOT_ON_CALL, agent=agent)
        if exc.code == "no_sip_user":
            return Message.of(msg.MONITOR_NO_SIP_USER, agent=agent)
        return Message.of(msg.MONITOR_SERVER_REFUSED, status=exc.status, detail=exc.code or exc.detail)
    if isinstance(exc, AuthError):
        return Message.of(msg.SYNC_AUTH)
    if isinstance(exc, NetworkError):
        return Message.of(msg.MONITOR_SERVER_UNREACHABLE)
    return Message.of(msg.SYNC_INTERNAL, error=type(exc).__name__)


def sip_failure(code: int) -> Message:
    """Why the monitoring call ended before it was answered."""
    if code == 403:
        return Message.of(msg.MONITOR_REFUSED, status=code)
    if code == 480:
        return Message.of(msg.MONITOR_NO_CALL_NOW)
    return Message.of(msg.MONITOR_FAILED, status=code or "—")


class MonitorService(QObject):
    starting = Signal(object)  # MonitorView: asked the server, dialling
    started = Signal(object)  # MonitorView: the TL hears the call
    changed = Signal(object)  # MonitorView: the mode changed
    ended = Signal(object, object)  # MonitorView, Message (why)
    failed = Signal(object)  # Message: a start or a change did not happen

    def __init__(self, phone: Any, supervisor: MonitorBackend | Callable[[], MonitorBackend], *,
                 strategy: str = "bridge", dial_templates: Mapping[str, str] | None = None,
                 domain: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.strategy = strategy if strategy in STRATEGIES else "bridge"
        self.codes = FeatureCodes(**{k: v for k, v in (dial_templates or {}).items() if k in MODES})
        self.domain = domain
        self._supervisor = supervisor
        self._worker = Worker("monitor")
        self._session: _Session | None = None
        self._seen: dict[str, Any] = {}   # call events that came before their dial() answered
        self.phone: Any = None
        self.set_phone(phone)

    @classmethod
    def from_settings(cls, phone: Any, supervisor: Any, settings: Any, parent: QObject | None = None
                      ) -> MonitorService:
        """Strategy and dial templates from settings.json (``monitor_strategy``, ``dial_templates``)."""
        sip = dict(getattr(settings, "sip", {}) or {})
        return cls(phone, supervisor, strategy=getattr(settings, "monitor_strategy", "bridge"),
                   dial_templates=getattr(settings, "dial_templates", None),
                   domain=sip.get("domain") or sip.get("server") or None, parent=parent)

    # -- wiring -----------------------------------------------------------------------------
    def set_phone(self, phone: Any) -> None:
        """The TL's softphone (it may start after this service)."""
        if self.phone is phone:
            return
        if self.phone is not None:
            try:
                self.phone.call_state_changed.disconnect(self._on_call_state)
            except (RuntimeError, TypeError):
                pass
        self.phone = phone
        if phone is not None:
            phone.call_state_changed.connect(self._on_call_state)

    def connect_floor(self, floor: Any) -> None:
        """The board's 监听 / 耳语 / 强插 / 结束 buttons (``FloorService.monitor_requested``)."""
        def requested(agent_id: str, mode: str) -> None:
            if mode == "end":
                self.end()
                return
            row = floor.board.rows.get(agent_id) if getattr(floor, "board", None) is not None else None
            sip_user = (getattr(row, "sip_user", None) or "") if row is not None else ""
            name = (getattr(row, "display_name", "") or getattr(row, "username", "")) if row is not None else ""
            self.start(agent_id, sip_user, mode, agent_name=name)

        floor.monitor_requested.connect(requested)

    def shutdown(self) -> None:
        self.end("tl_quit")
        self._worker.stop(timeout=3.0)

    # -- state ----------------------------------------------------------------------------
    @property
    def session(self) -> MonitorView | None:
        return self._session.view() if self._session is not None else None

    @property
    def active(self) -> bool:
        return self._session is not None

    def _api(self) -> MonitorBackend:
        sup = self._supervisor
        if callable(sup) and not hasattr(sup, "request_grant"):
            return sup()
        return sup  # type: ignore[return-value]

    def _target(self, mode: str, sip_user: str) -> tuple[str, bool]:
        """(what to dial, whether it is the bridge)."""
        if self.strategy == "pbx_codes":
            return self.codes.target(mode, sip_user), False
        if self.domain and not sip_user.startswith(("sip:", "sips:")):
            return f"sip:{sip_user}@{self.domain}", True
        return sip_user, True  # a number: the engine adds its own domain

    # -- start ---------------------------------------------------------------------------
    def start(self, agent_id: str, sip_user: str, mode: str, agent_name: str = "") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown monitor mode {mode!r}")
        sess = self._session
        if sess is not None:
            if sess.agent_id == agent_id:
                self.change(mode)
            else:
                self.failed.emit(Message.of(msg.MONITOR_BUSY, agent=sess.agent_name or sess.sip_user))
            return
        phone = self.phone
        if phone is None or not getattr(phone, "running", True):
            self.failed.emit(Message.of(msg.MONITOR_PHONE_NOT_READY))
            return
        sess = _Session(agent_id, agent_name or sip_user, sip_user, mode, self.strategy,
                        clicked_at=time.monotonic())
        self._session = sess
        self._seen.clear()
        log.info("monitoring %s (%s) requested, %s", sip_user or agent_id[:8], mode, self.strategy)
        self.starting.emit(sess.view())
        api = self._api

        def job() -> tuple[Any, str]:
            grant = api().request_grant(agent_id, mode)
            user = str(getattr(grant, "agent_sip_user", "") or sip_user)
            sess.sip_user = user
            target, bridge = self._target(mode, user)
            call_id = phone.monitor_start(target, grant.token if bridge else None).result(ENGINE_TIMEOUT_S)
            # Muted from the first frame in 监听 (queued on the SIP thread right behind the dial).
            phone.mute(mode == "listen", call_id)
            return grant, call_id

        self._worker.submit(job, lambda r: self._dialled(sess, *r), lambda e: self._start_failed(sess, e))

    def _dialled(self, sess: _Session, grant: Any, call_id: str) -> None:
        sess.jti = str(grant.jti)
        sess.call_id = call_id
        if self._session is not sess:  # ended meanwhile
            self._hangup(call_id)
            return
        if sess.end_reason is not None:
            self._hangup(call_id)
        early = self._seen.pop(call_id, None)
        self._seen.clear()
        if early is not None:
            self._on_call_state(early)

    def _start_failed(self, sess: _Session, exc: BaseException) -> None:
        if self._session is sess:
            self._session = None
        if isinstance(exc, (RequestRejected, AuthError, NetworkError)):
            message = server_failure(exc, sess.agent_name)
        else:
            log.warning("monitoring call could not be placed: %s", exc)
            message = Message.of(msg.MONITOR_FAILED, status="—")
        self.failed.emit(message)

    # -- the leg's call events (GUI thread) ------------------------------------------------
    @Slot(object)
    def _on_call_state(self, info: Any) -> None:
        sess = self._session
        if sess is None:
            return
        if sess.call_id is None:
            if sess.phase == "connecting":
                self._seen[str(info.call_id)] = info  # dial() has not answered yet
            return
        if info.call_id != sess.call_id:
            return
        state = info.state
        if state is CallState.ANSWERED and sess.phase == "connecting":
            self._answered(sess, info)
        elif state is CallState.ENDED:
            self._leg_ended(sess, info)

    def _answered(self, sess: _Session, info: Any) -> None:
        sess.phase = "active"
        sess.started_at = float(info.answered_at or time.time())
        log.info("monitoring %s: connected in %.0f ms", sess.sip_user,
                 (time.monotonic() - sess.clicked_at) * 1000)
        self.started.emit(sess.view())
        api, jti = self._api, sess.jti

        def report() -> Any:
            s = api().start_monitor(jti)
            sess.session_id = str(s.session_id)  # read by later jobs on this worker
            return s

        def refused(exc: BaseException) -> None:
            log.warning("the server did not record the monitoring session: %s", exc)
            if self._session is sess and sess.phase == "active":
                self.failed.emit(server_failure(exc, sess.agent_name))
                self.end("server_refused")

        self._worker.submit(report, lambda _s: self._session_recorded(sess), refused)
        if sess.want_mode and sess.want_mode != sess.mode:
            mode, sess.want_mode = sess.want_mode, None
            self.change(mode)

    def _session_recorded(self, sess: _Session) -> None:
        if self._session is sess:
            self.changed.emit(sess.view())  # now with its session id

    def _leg_ended(self, sess: _Session, info: Any) -> None:
        self._session = None
        if sess.phase == "connecting":
            if sess.end_reason is not None:  # the TL gave up while it was ringing
                sess.phase = "ended"
                self.ended.emit(sess.view(), Message.of(msg.MONITOR_ENDED))
                return
            self.failed.emit(sip_failure(int(info.sip_code or 0)))
            return
        reason = sess.end_reason or "call_ended"
        sess.phase = "ended"
        message = Message.of(msg.MONITOR_ENDED if sess.end_reason else msg.MONITOR_CALL_ENDED)
        log.info("monitoring %s ended (%s)", sess.sip_user, reason)
        self.ended.emit(sess.view(), message)
        api = self._api

        def report() -> None:
            if sess.session_id:
                api().end_monitor(sess.session_id, reason)

        self._worker.submit(report, None, lambda e: log.warning("monitor end not recorded: %s", e))

    # -- change ----------------------------------------------------------------------------
    def change(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown monitor mode {mode!r}")
        sess = self._session
        if sess is None or sess.phase == "ending":
            return
        if sess.phase == "connecting":
            sess.want_mode = mode  # applied once the leg is answered
            return
        if mode == sess.mode:
            return
        phone, api, old = self.phone, self._api, sess.mode
        log.info("monitoring %s: %s -> %s", sess.sip_user, old, mode)

        def job() -> str:
            if sess.session_id is None:
                raise RuntimeError("the session was not recorded by the server")
            s = api().change_monitor_mode(sess.session_id, mode)
            if mode == "listen":
                phone.mute(True, sess.call_id).result(ENGINE_TIMEOUT_S)
            if self.strategy == "pbx_codes":
                old_call = sess.call_id
                new_call = phone.monitor_start(self.codes.target(mode, sess.sip_user), None).result(
                    ENGINE_TIMEOUT_S)
                phone.mute(mode == "listen", new_call)
                sess.call_id = new_call  # the old leg's end is not the session's
                phone.hangup(old_call)
            else:
                grant = getattr(s, "grant", None)
                if grant is None:
                    raise RuntimeError("the server sent no grant for the new mode")
                answer = _ChangeAnswer(phone, sess.call_id)
                try:
                    phone.monitor_change(sess.call_id, grant.token).result(ENGINE_TIMEOUT_S)
                    code = answer.wait(ENGINE_TIMEOUT_S)
                finally:
                    answer.close()
                if code is not None and not 200 <= code < 300:
                    # The agent's bridge kept the old mode: the server hears so too, the mic follows.
                    api().change_monitor_mode(sess.session_id, old)
                    phone.mute(old == "listen", sess.call_id).result(ENGINE_TIMEOUT_S)
                    raise ChangeRefused(code)
            if mode != "listen":
                phone.mute(False, sess.call_id).result(ENGINE_TIMEOUT_S)
            return mode

        def done(new_mode: str) -> None:
            sess.mode = new_mode
            if self._session is sess:
                self.changed.emit(sess.view())

        def change_failed(exc: BaseException) -> None:
            log.warning("monitor mode change to %s failed: %s", mode, exc)
            if isinstance(exc, ChangeRefused):
                self.failed.emit(Message.of(msg.MONITOR_CHANGE_REFUSED, status=exc.code))
                if self._session is sess:
                    self.changed.emit(sess.view())  # still the old mode
            elif isinstance(exc, (RequestRejected, AuthError, NetworkError)):
                self.failed.emit(server_failure(exc, sess.agent_name))
            else:
                self.failed.emit(Message.of(msg.MONITOR_FAILED, status="—"))

        self._worker.submit(job, done, change_failed)

    # -- end --------------------------------------------------------------------------------
    def end(self, reason: str = "tl_hangup") -> None:
        sess = self._session
        if sess is None or sess.end_reason is not None:
            return
        sess.end_reason = reason
        if sess.phase == "active":
            sess.phase = "ending"
        if sess.call_id is not None:
            self._hangup(sess.call_id)
        # else: the dial is still under way; _dialled hangs up.

    def _hangup(self, call_id: str) -> None:
        phone = self.phone
        if phone is None:
            return
        fut = phone.hangup(call_id)
        add = getattr(fut, "add_done_callback", None)
        if add is not None:
            add(lambda f: f.exception() and log.info("monitor leg hang-up: %s", f.exception()))

    def phone_stopped(self) -> None:
        """The softphone went away (quit, re-login): the session is over."""
        sess = self._session
        if sess is not None:
            info = dataclasses.make_dataclass("Ended", ["call_id", "state", "sip_code"])(
                sess.call_id, CallState.ENDED, 0)
            sess.end_reason = sess.end_reason or "tl_phone_stopped"
            self._leg_ended(sess, info)


__all__ = ["STRATEGIES", "ChangeRefused", "MonitorBackend", "MonitorService", "MonitorView", "server_failure", "sip_failure"]
