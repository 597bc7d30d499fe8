"""The SIP thread's side of the engine: everything here runs on that one thread.

``SipEngine`` (engine.py) is the thread-safe front; it creates a ``SipCore`` per start and
runs its loop. Only the SIP thread calls SipCore's methods; pjsua2 objects never leave it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pjsua2 as pj

from core.contract import CallDirection
from core.grant_token import SIP_HEADER, GrantError

from . import ownership
from .account import (
    AccountSettings,
    RegistrarProbe,
    Transport,
    apply_codec_order,
    build_account_config,
    host_port_of,
)
from .account import tls_transport_config as _tls_cfg
from .audio_api import AgentAudio, AudioFactory, RecorderFactory
from .call import CallRecord, EngineCall, caller_number, guarded, header_value, parse_headers
from .dispositions import DispositionTable
from .monitor import MIC, SPEAKER, GrantVerifierLike, LegView, MonitorGate, PartyView, plan_links, sip_user_of
from .ownership import log_exception
from .privacy import mask_remote
from .types import (
    CallState,
    EngineError,
    IncomingCall,
    MediaInfo,
    MonitorInfo,
    RegInfo,
    TransferStatus,
)

log = logging.getLogger(__name__)

_SAVP_BIT = pj.PJMEDIA_TP_PROTO_RTP_SAVP & ~pj.PJMEDIA_TP_PROTO_RTP_AVP
_DIGITS = re.compile(r"\d{7,}")
_DIAL_OK = re.compile(r"^\+?[0-9*#]{1,32}$")


@dataclass(frozen=True)
class EngineConfig:
    bind_address: str = "0.0.0.0"      # SIP and RTP bind address (tests: 127.0.0.1)
    public_address: str = ""           # advertised address (tests: 127.0.0.1)
    sip_port: int = 0                  # 0 = any free port
    no_answer_timeout_s: float = 45.0  # outgoing ringing longer than this -> NO_ANSWER
    no_response_timeout_s: float = 10.0  # not even "100 Trying" by then -> give up, FAILED
    max_calls: int = 8
    log_level: int = 2                 # pjsip log level routed to Python logging
    user_agent: str = "Seatmate"
    clock_rate: int = 16000
    # Upper bound of one wait in libHandleEvents. The loop is event-driven: commands and
    # released objects wake it at once, pjsip's timers bound the wait themselves, and the
    # loop's own deadlines (call timeouts, the media watch, the probe) shorten it
    # (SipCore.wait_ms). Polling every 50 ms cost ~0.3 % of a core in a call.
    loop_max_wait_ms: int = 1000
    # With a call up, at most this: pjsua2 queues callbacks raised on its media thread (RFC 4733
    # digits, media events, log lines) for the SIP thread without waking it (mainThreadOnly).
    call_max_wait_ms: int = 500
    # No RTP from the other side of an answered, unheld call for this long -> MediaInfo(receiving=False).
    # Above pjmedia's 5 s maximum silence period, so a peer using VAD is not taken for a failure.
    rx_silence_s: float = 6.0
    start_timeout_s: float = 15.0


_ENDPOINT: pj.Endpoint | None = None


def _endpoint() -> pj.Endpoint:
    """pjsua2 allows one Endpoint object per process, and only its destructor frees the slot;
    an audio object may still hold a reference. So keep one for the process and run
    libCreate/libDestroy on it for every start/stop."""
    global _ENDPOINT
    if _ENDPOINT is None:
        _ENDPOINT = pj.Endpoint()
    return _ENDPOINT


class _LogWriter(pj.LogWriter):
    @guarded
    def write(self, entry: pj.LogEntry) -> None:
        msg = _DIGITS.sub(lambda m: mask_remote(m.group(0)), entry.msg.rstrip())
        level = logging.WARNING if entry.level <= 2 else logging.DEBUG
        logging.getLogger("pjsip").log(level, "%s", msg)


class EngineAccount(pj.Account):
    def __init__(self, core: SipCore) -> None:
        super().__init__()
        self.core = core

    @guarded
    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.core.on_reg_state(int(prm.code), prm.reason)

    @guarded
    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.core.on_incoming(prm)


class EngineFront(Protocol):
    """What the core needs of its thread-safe front (``engine.SipEngine``). A Protocol, so
    this module does not import the engine that imports it."""

    def _wake(self) -> None:
        """Wake the SIP thread out of ``libHandleEvents`` (any thread)."""

    def _publish(self, kind: str, payload: Any) -> None:
        """Hand an event (``"call"``, ``"registration"``, …) and its frozen payload to the front."""


class SipCore:
    """Everything that lives on the SIP thread. Only the SIP thread calls its methods."""

    def __init__(self, engine: EngineFront, config: EngineConfig, settings: AccountSettings | None,
                 audio_factory: AudioFactory, recorder_factory: RecorderFactory | None,
                 verifier: GrantVerifierLike | None, dispositions: DispositionTable) -> None:
        self.engine = engine
        self.config = config
        self.settings = settings
        self.audio_factory = audio_factory
        self.recorder_factory = recorder_factory
        self.gate = MonitorGate(verifier)
        self.dispositions = dispositions
        self.ep: pj.Endpoint | None = None
        self.audio: AgentAudio | None = None
        self.account: EngineAccount | None = None
        self.calls: dict[str, EngineCall] = {}
        self.every_call: weakref.WeakSet[EngineCall] = weakref.WeakSet()
        self.dead: list[EngineCall] = []
        self.links: set[tuple[str, str]] = set()
        self.transports: dict[Any, int] = {}
        self.codec_defaults: dict[str, int] = {}  # the library's codec priorities (account.apply_codec_order)
        self.wake_port = 0
        self.probe: RegistrarProbe | None = None
        self.registrar_addr: tuple[str, int] | None = None
        self.registrar_index = 0
        self.registered = False
        self.reg_events = 0
        self.last_new_call = 0.0
        self.later: list[Callable[[], None]] = []
        self.log_writer = _LogWriter()  # libDestroy deletes its C++ half (Endpoint owns it)
        self.local_ip = ""
        self._next_net_check = 0.0
        self._next_media_watch = 0.0
        self._boot_mono = (time.clock_gettime(time.CLOCK_BOOTTIME), time.monotonic())

    # ---- start / stop -----------------------------------------------------------------
    def start(self) -> None:
        ep = _endpoint()
        self.ep = ep
        ep.libCreate()
        # From here on, pjsua2 objects belong to this library and die on this thread.
        ownership.open_generation(self.engine._wake)
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = self.config.max_calls
        cfg.uaConfig.userAgent = self.config.user_agent
        if self.settings and self.settings.stun_servers:
            for s in self.settings.stun_servers:
                cfg.uaConfig.stunServer.append(s)
            cfg.uaConfig.stunIgnoreFailure = True
        cfg.logConfig.level = self.config.log_level
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.writer = self.log_writer
        cfg.logConfig.decor = pj.PJ_LOG_HAS_SENDER
        cfg.medConfig.clockRate = self.config.clock_rate
        cfg.medConfig.sndClockRate = self.config.clock_rate
        cfg.medConfig.noVad = True
        cfg.medConfig.quality = 4
        cfg.medConfig.ecTailLen = 0  # echo cancellation is the audio layer's choice
        ep.libInit(cfg)
        # Private wake-up transport: a CRLF datagram to it ends libHandleEvents' wait.
        wcfg = pj.TransportConfig()
        wcfg.boundAddress = "127.0.0.1"
        wcfg.port = 0
        wid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, wcfg)
        self.wake_port = int(ep.transportGetInfo(wid).localName.rsplit(":", 1)[1])
        ep.libStart()
        ep.audDevManager().setNullDev()
        self.audio = self.audio_factory(ep)
        if self.settings is not None:
            self.create_account(self.settings)

    def _transport_id(self, s: AccountSettings) -> int:
        assert self.ep is not None
        kind = Transport(s.transport)
        key: Any = kind if kind is not Transport.TLS else (kind, s.tls_ca_file, s.tls_verify_server)
        if key in self.transports:
            return self.transports[key]
        if kind is Transport.TLS:
            tcfg = _tls_cfg(s, self.config.bind_address)
            ttype = pj.PJSIP_TRANSPORT_TLS
        else:
            tcfg = pj.TransportConfig()
            tcfg.boundAddress = self.config.bind_address
            ttype = pj.PJSIP_TRANSPORT_TCP if kind is Transport.TCP else pj.PJSIP_TRANSPORT_UDP
        tcfg.port = self.config.sip_port if kind is Transport.UDP else 0
        if self.config.public_address:
            tcfg.publicAddress = self.config.public_address
        tid = self.ep.transportCreate(ttype, tcfg)
        self.transports[key] = tid
        return tid

    def create_account(self, s: AccountSettings) -> None:
        self.remove_account()
        self.settings = s
        self.registrar_index = 0
        assert self.ep is not None
        apply_codec_order(self.ep, tuple(s.codecs), self.codec_defaults)  # the SDP's m= line order
        acc = EngineAccount(self)
        acc.create(self._account_config(s), True)
        self.account = acc
        self._start_probe()
        log.info("account %s created (%s, registrar %d of %d)", s.user, Transport(s.transport).value,
                 self.registrar_index + 1, len(s.registrars))

    def _account_config(self, s: AccountSettings) -> pj.AccountConfig:
        cfg = build_account_config(s, s.registrars[self.registrar_index], self._transport_id(s),
                                   self.config.bind_address if self.config.bind_address != "0.0.0.0" else "")
        if self.config.public_address:
            cfg.mediaConfig.transportConfig.publicAddress = self.config.public_address
        return cfg

    def _start_probe(self) -> None:
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        s = self.settings
        if s is None:
            return
        # Resolved once here (DNS may block): the network check below reuses it every 5 s.
        hp = host_port_of(s.registrars[self.registrar_index])
        self.registrar_addr = hp
        if Transport(s.transport) is not Transport.UDP:
            return  # TCP/TLS: pjsip notices a dropped connection itself
        if hp is not None:
            self.probe = RegistrarProbe(hp[0], hp[1], s.keepalive_s, s.probe_timeout_s,
                                        self._registrar_down, self._registrar_up)

    def _registrar_down(self) -> None:
        s = self.settings
        log.warning("registrar not answering")
        self.registered = False
        if s is not None:
            self._emit_reg(503, "registrar not answering")
            if len(s.registrars) > 1:
                self.later.append(self._fail_over)

    def _registrar_up(self) -> None:
        log.info("registrar answers again: re-registering")
        if self.account is not None:
            with contextlib.suppress(pj.Error):  # EBUSY: a REGISTER is already under way
                self.account.setRegistration(True)

    def _fail_over(self) -> None:
        s = self.settings
        if s is None or self.account is None or len(s.registrars) < 2:
            return
        self.registrar_index = (self.registrar_index + 1) % len(s.registrars)
        log.warning("switching to registrar %d of %d", self.registrar_index + 1, len(s.registrars))
        try:
            self.account.modify(self._account_config(s))
        except pj.Error as exc:
            self.error("failover", exc.reason)
        self._start_probe()

    def remove_account(self) -> None:
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        acc, self.account = self.account, None
        if acc is None:
            return
        with contextlib.suppress(pj.Error):
            if acc.getInfo().regIsActive:
                # Unregister and wait (bounded) for the registrar's answer, so it does not
                # keep forking calls to a contact that is gone.
                seen = self.reg_events
                acc.setRegistration(False)
                self.pump(lambda: self.reg_events > seen, 1.5)
        with contextlib.suppress(pj.Error):
            acc.shutdown()
        self.registered = False

    def pump(self, done: Callable[[], bool], timeout: float) -> None:
        assert self.ep is not None
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.ep.libHandleEvents(10)
            self.reap()

    def _pace_new_call(self) -> None:
        # pjlib's select ioqueue has 64 slots and keeps a closed socket's slot for 500 ms;
        # each call takes two (RTP, RTCP). Creating calls faster than one per 30 ms in a burst
        # would exhaust it and pjlib aborts the process. No human dials that fast.
        wait = self.last_new_call + 0.03 - time.monotonic()
        if wait > 0:
            self.pump(lambda: False, wait)
        self.last_new_call = time.monotonic()

    def shutdown(self) -> None:
        ep = self.ep
        if ep is None:
            return
        # Quitting mid-call: BYE every call, wait (bounded) for them to end, and delete their
        # Call objects here, before the account and the library go. No loop variable may hold
        # a call in this frame: it would outlive libDestroy, and pjsua asserts in the Call
        # destructor (pjsua_call_set_user_data) when it finally runs.
        self._hangup_all()
        self.pump(lambda: not self.calls, 3.0)
        self._drop_calls()
        self.pump(lambda: not self.every_call, 0.5)  # Call objects let go of by other threads
        if self.every_call:
            log.warning("%d call object(s) outlive the engine: %s", len(self.every_call),
                        ", ".join(c.rec.call_id[:8] for c in list(self.every_call)))
        self.remove_account()
        if self.audio is not None:
            with contextlib.suppress(Exception):
                self.audio.ringer_stop()
            try:
                self.audio.close()
            except Exception:
                log_exception(log, "audio close failed")
            self.audio = None
        self.later.clear()
        # Calls and registration are already finished above; NO_RX_MSG skips pjsua's fixed
        # one-second wait for late responses. The Endpoint object itself stays (a process-wide
        # singleton).
        # Whatever is still referenced elsewhere (a traceback, a test) is disowned: its C++
        # destructor would otherwise run after libDestroy, or on another thread. Keep those
        # objects alive until libDestroy returns, so pjsua never calls back into a freed one.
        self.pump(ownership.idle, 0.5)  # what other threads let go of dies here, before libDestroy
        survivors = ownership.close_generation()
        try:
            ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
        finally:
            self.ep = None
            survivors.clear()

    def _hangup_all(self) -> None:
        for call in list(self.calls.values()):
            with contextlib.suppress(pj.Error):
                call.hangup(pj.CallOpParam(True))

    def _drop_calls(self) -> None:
        """Calls that did not end in time: stop their recordings and forget them (deleting
        the last reference destroys the pj.Call here, on the SIP thread)."""
        for call in list(self.calls.values()):
            call.stop_recording()
            call.audio = None
        self.calls.clear()
        self.links.clear()
        self.dead.clear()

    # ---- loop -------------------------------------------------------------------------
    def wait_ms(self) -> int:
        """How long the next libHandleEvents may sleep: until the earliest deadline the loop
        itself keeps (pjsip's own timers and sockets end the wait without our help)."""
        if self.later:
            return 0
        now = time.monotonic()
        due = now + self.config.loop_max_wait_ms / 1000
        for call in self.calls.values():
            rec = call.rec
            # The same conditions as tick(): a deadline that no longer applies stays set.
            if (rec.no_response_deadline is not None and rec.sip_code == 0
                    and rec.direction is CallDirection.OUT):
                due = min(due, rec.no_response_deadline)
            if rec.no_answer_deadline is not None:
                due = min(due, rec.no_answer_deadline)
        if self.calls:
            due = min(due, self._next_media_watch, now + self.config.call_max_wait_ms / 1000)
        if self.settings is not None and self.registrar_addr is not None:
            due = min(due, self._next_net_check)
        if self.probe is not None:
            due = min(due, self.probe.next_due(now))
        return max(0, min(self.config.loop_max_wait_ms, int((due - now) * 1000) + 1))

    def tick(self) -> None:
        now = time.monotonic()
        while self.later:
            fn = self.later.pop(0)
            try:
                fn()
            except Exception:
                log_exception(log, "deferred job failed")
        for call in list(self.calls.values()):
            rec = call.rec
            if (rec.no_response_deadline is not None and now > rec.no_response_deadline
                    and rec.sip_code == 0 and rec.direction is CallDirection.OUT):
                rec.no_response_deadline = None
                rec.no_answer_deadline = None
                rec.no_response = True
                log.info("call %s: no response from the network, giving up", rec.call_id[:8])
                with contextlib.suppress(pj.Error):
                    call.hangup(pj.CallOpParam(True))
            if rec.no_answer_deadline is not None and now > rec.no_answer_deadline:
                rec.no_answer_deadline = None
                rec.timed_out = True
                log.info("call %s: no answer in time, cancelling", rec.call_id[:8])
                with contextlib.suppress(pj.Error):
                    call.hangup(pj.CallOpParam(True))
        self.reap()
        if self.probe is not None:
            self.probe.poll()
        self._check_sleep_and_network(now)
        if now >= self._next_media_watch:
            self._next_media_watch = now + 1.0
            self.watch_media(now)

    def watch_media(self, now: float) -> None:
        """Once a second: is RTP still arriving on each talking call? pjmedia's receive counter
        (the stream's RTCP rx stat) not moving for ``rx_silence_s`` while media is active and
        nobody holds the call is a media failure: MediaInfo(receiving=False). A remote hold is
        not (no media is expected then): on_call_media reports that one."""
        for call in list(self.calls.values()):
            rec = call.rec
            if (rec.monitor_role or rec.answered_at is None or not rec.media_active or rec.held
                    or rec.remote_hold or rec.state is CallState.ENDED):
                rec.rx_packets = -1
                continue
            try:
                packets = self._rx_packets(call)
            except pj.Error:
                continue
            if packets is None:
                continue
            if packets != rec.rx_packets:
                first = rec.rx_packets < 0
                rec.rx_packets, rec.rx_since = packets, now
                if not rec.receiving and not first:
                    rec.receiving = True
                    log.info("call %s: audio from the other side again", rec.call_id[:8])
                    self.engine._publish("media", MediaInfo(rec.call_id, True, remote_hold=False, receiving=True))
                continue
            silent = now - rec.rx_since
            if rec.receiving and silent >= self.config.rx_silence_s:
                rec.receiving = False
                log.warning("call %s: no RTP from the other side for %.0f s", rec.call_id[:8], silent)
                self.engine._publish("media", MediaInfo(rec.call_id, True, receiving=False,
                                                        silent_s=round(silent, 1)))

    @staticmethod
    def _rx_packets(call: EngineCall) -> int | None:
        # The audio stream's index comes from the last media callback (on_call_media): a
        # getInfo() here every second cost more than the rest of the SIP loop in a call.
        i = call.rec.audio_index
        if i is None:
            return None
        return int(call.getStreamStat(i).rtcp.rxStat.pkt)

    def reap(self) -> None:
        if self.dead:
            self.dead.clear()  # deleting the last reference destroys the pj.Call here, on this thread
        ownership.reap()  # objects other threads let go of (see ownership.py)

    def _check_sleep_and_network(self, now: float) -> None:
        # Suspend: CLOCK_BOOTTIME keeps counting, CLOCK_MONOTONIC does not.
        boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        b0, m0 = self._boot_mono
        self._boot_mono = (boot, now)
        if (boot - b0) - (now - m0) > 5.0:
            log.info("woke from sleep: refreshing transports and registration")
            self.handle_ip_change()
            return
        if now < self._next_net_check or self.settings is None:
            return
        self._next_net_check = now + 5.0
        hp = self.registrar_addr
        if hp is None:
            return
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(hp)
                ip = s.getsockname()[0]
        except OSError:
            ip = ""
        if self.local_ip and ip and ip != self.local_ip:
            log.info("local address changed: refreshing transports and registration")
            self.local_ip = ip
            self.handle_ip_change()
        elif ip:
            self.local_ip = ip

    def handle_ip_change(self) -> None:
        if self.ep is None:
            return
        prm = pj.IpChangeParam()
        prm.restartListener = True
        try:
            self.ep.handleIpChange(prm)
        except pj.Error as exc:
            self.error("ip-change", exc.reason)

    # ---- emitting ---------------------------------------------------------------------
    def error(self, where: str, message: str) -> None:
        log.warning("%s: %s", where, message)
        self.engine._publish("error", EngineError(where, message))

    def _emit_reg(self, code: int, reason: str) -> None:
        s = self.settings
        if s is None:
            return
        expires = 0
        if self.account is not None:
            with contextlib.suppress(pj.Error):
                expires = int(self.account.getInfo().regExpiresSec)
        info = RegInfo(account=s.user, registrar=s.registrars[self.registrar_index],
                       registered=self.registered, code=code, reason=reason,
                       expires_s=max(0, expires))
        self.engine._publish("registration", info)

    def emit_call(self, call: EngineCall) -> None:
        if call.rec.monitor_role == "agent-leg":
            return  # silent by design: the agent's UI sees MonitorInfo instead
        snap = call.rec.snapshot()
        if snap == call.published:
            # Nothing changed (e.g. makeCall reports CALLING from inside dial(), which then has
            # nothing new to say): one event per state, so one "dialing" per call.
            return
        call.published = snap
        self.engine._publish("call", snap)

    # ---- account callbacks --------------------------------------------------------------
    def on_reg_state(self, code: int, reason: str) -> None:
        self.reg_events += 1
        acc = self.account
        if acc is None:
            return
        info = acc.getInfo()
        was = self.registered
        self.registered = bool(info.regIsActive) and 200 <= code < 300
        if self.probe is not None and self.registered:
            self.probe.down = False
            self.probe.misses = 0
        self._emit_reg(code, reason)
        s = self.settings
        if not self.registered and s is not None and len(s.registrars) > 1 and info.regExpiresSec != 0 \
                and (code == 0 or code >= 500 or code == 408):
            self.later.append(self._fail_over)
        if was != self.registered:
            log.info("registration %s (%d)", "up" if self.registered else "down", code)

    def on_incoming(self, prm: pj.OnIncomingCallParam) -> None:
        assert self.account is not None
        headers = parse_headers(prm.rdata.wholeMsg)
        number = caller_number(headers)  # for the app's customer lookup only; never logged
        remote = number or header_value(headers, "From") or ""
        rec = CallRecord(call_id=EngineCall.new_id(), direction=CallDirection.IN,
                         remote_masked=mask_remote(remote), state=CallState.INCOMING,
                         dialed_at=time.time(),
                         headers={k: v for k, v in headers.items() if k.lower().startswith("x-")})
        call = EngineCall(self, self.account, rec, prm.callId)
        self.calls[rec.call_id] = call
        token = header_value(headers, SIP_HEADER)
        if token is not None:
            self._incoming_monitor(call, token, sip_user_of(header_value(headers, "From")))
            return
        ring = pj.CallOpParam()
        ring.statusCode = 180
        try:
            call.answer(ring)
        except pj.Error as exc:
            self.error("incoming", exc.reason)
        rec.ringing_at = time.time()
        if self.audio is not None:
            self.audio.ringer_start()
        self.engine._publish("incoming", IncomingCall(rec.call_id, rec.remote_masked, dict(rec.headers),
                                                      caller_number=number))
        self.emit_call(call)

    def _monitor_target(self) -> EngineCall | None:
        """The customer call a monitor leg attaches to: the most recent answered normal call."""
        best = None
        for c in self.calls.values():
            if c.rec.monitor_role or c.rec.answered_at is None or c.rec.state is CallState.ENDED:
                continue
            if best is None or c.rec.answered_at > best.rec.answered_at:  # type: ignore[operator]
                best = c
        return best

    def _incoming_monitor(self, call: EngineCall, token: str, caller: str | None) -> None:
        rec = call.rec
        rec.monitor_role = "agent-leg"
        prm = pj.CallOpParam()
        target = self._monitor_target()
        try:
            # Bound to the caller (the grant's ``from``) and to the call it was issued for.
            grant = self.gate.admit(token, caller=caller or "",
                                    call_ids={target.rec.call_id} if target is not None else None)
        except GrantError as exc:
            log.warning("monitor request refused: %s", exc)
            self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent", "", False,
                                                        reason=f"refused: {exc}"))
            prm.statusCode = 403
            prm.reason = "Forbidden"
            with contextlib.suppress(pj.Error):
                call.answer(prm)
            return
        if target is None:
            log.warning("monitor request refused: no call in progress")
            self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent", grant.mode, False, grant.tl,
                                                        reason="refused: no call in progress"))
            prm.statusCode = 480
            with contextlib.suppress(pj.Error):
                call.answer(prm)
            return
        rec.monitor_session = target.rec.call_id
        rec.headers = {"mode": grant.mode, "tl": grant.tl}
        log.info("monitor session %s: TL %s, mode %s", rec.call_id[:8], grant.tl, grant.mode)
        prm.statusCode = 200
        try:
            call.answer(prm)
        except pj.Error as exc:
            self.error("monitor", exc.reason)
            return
        self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent", grant.mode, True, grant.tl))

    def on_rx_reinvite(self, call: EngineCall, prm: pj.OnCallRxReinviteParam) -> None:
        rec = call.rec
        if rec.monitor_role != "agent-leg":
            return
        headers = parse_headers(prm.rdata.wholeMsg)
        token = header_value(headers, SIP_HEADER)
        if token is None:
            return  # a plain re-INVITE (session refresh, hold): keep the mode
        target = self.calls.get(rec.monitor_session or "")
        try:
            grant = self.gate.admit(token, tl=rec.headers.get("tl"),
                                    caller=sip_user_of(header_value(headers, "From")) or "",
                                    call_ids={target.rec.call_id} if target is not None else None)
        except GrantError as exc:
            log.warning("monitor mode change refused: %s", exc)
            prm.statusCode = 403
            self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent", rec.headers.get("mode", ""),
                                                        True, rec.headers.get("tl", ""),
                                                        reason=f"change refused: {exc}"))
            return
        rec.headers["mode"] = grant.mode
        log.info("monitor session %s: mode now %s", rec.call_id[:8], grant.mode)
        self.later.append(self.remix)
        self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent", grant.mode, True, grant.tl))

    # ---- call callbacks ---------------------------------------------------------------
    def on_call_state(self, call: EngineCall) -> None:
        rec = call.rec
        if rec.state is CallState.ANSWERED and rec.direction is CallDirection.IN:
            self._ringer_update()
        if rec.state is CallState.ENDED:
            call.stop_recording()
            call.audio = None
            rec.media_active = False
            self.calls.pop(rec.call_id, None)
            self.dead.append(call)
            self._ringer_update()
            if rec.monitor_role == "agent-leg" and rec.monitor_session:
                self.engine._publish("monitor", MonitorInfo(rec.call_id, "agent",
                                                            rec.headers.get("mode", ""), False,
                                                            rec.headers.get("tl", ""), reason="ended"))
            elif rec.monitor_role == "tl":
                self.engine._publish("monitor", MonitorInfo(rec.call_id, "tl", "", False,
                                                            reason=f"ended {rec.sip_code}"))
            else:
                # The monitored call ended: end every monitor leg on it.
                for other in list(self.calls.values()):
                    if other.rec.monitor_session == rec.call_id:
                        with contextlib.suppress(pj.Error):
                            other.hangup(pj.CallOpParam(True))
            self.remix()
            log.info("call %s ended: %d %s, disposition %s", rec.call_id[:8], rec.sip_code, rec.reason,
                     rec.suggested_disposition)
        self.emit_call(call)

    def _ringer_update(self) -> None:
        if self.audio is None:
            return
        ringing = any(c.rec.state is CallState.INCOMING and not c.rec.monitor_role
                      for c in self.calls.values())
        if not ringing:
            self.audio.ringer_stop()

    def on_call_media(self, call: EngineCall) -> None:
        rec = call.rec
        ci = call.getInfo()  # keep ci alive while iterating ci.media
        status = None
        rec.audio_index = None
        for i, m in enumerate(ci.media):
            if m.type == pj.PJMEDIA_TYPE_AUDIO:
                status = m.status
                rec.audio_index = i
                break
        call.audio = call.audio_media()
        # Media may have been re-created (IP change, re-INVITE), possibly in the same conference
        # slot: its links died with the old port. Forget them so remix() connects them again
        # (connecting an existing link is harmless).
        self.links = {(a, b) for a, b in self.links if rec.call_id not in (a, b)}
        rec.media_active = status == pj.PJSUA_CALL_MEDIA_ACTIVE
        if status == pj.PJSUA_CALL_MEDIA_LOCAL_HOLD or status == pj.PJSUA_CALL_MEDIA_NONE:
            rec.media_active = False
        # The other side holds the call (its offer said sendonly/inactive): a state of the call,
        # not a media failure. The RTP watch starts over whenever the media changes.
        remote_hold = status == pj.PJSUA_CALL_MEDIA_REMOTE_HOLD
        hold_changed = remote_hold != rec.remote_hold
        if hold_changed:
            rec.remote_hold = remote_hold
            rec.remote_hold_at = time.time() if remote_hold else None
            if rec.answered_at is not None and rec.state is not CallState.ENDED:
                rec.state = rec.talk_state()
            log.info("call %s: %s", rec.call_id[:8], "remote hold" if remote_hold else "remote resumed")
        rec.rx_packets, rec.receiving = -1, True
        if (call.audio is not None and call.recorder is None and self.recorder_factory is not None
                and not rec.monitor_role and self.audio is not None):
            try:
                call.recorder = self.recorder_factory(rec.call_id, self.audio.mic_media(), call.audio)
            except Exception as exc:
                log_exception(log, "recorder failed to start")
                self.error("recording", str(exc))
        self.remix()
        if not rec.monitor_role:
            codec, srtp = "", False
            with contextlib.suppress(pj.Error):
                for i, m in enumerate(ci.media):
                    if m.type == pj.PJMEDIA_TYPE_AUDIO and rec.media_active:
                        si = call.getStreamInfo(i)
                        codec = si.codecName
                        srtp = bool(si.proto & _SAVP_BIT)
                        break
            self.engine._publish("media", MediaInfo(rec.call_id, rec.media_active, codec, srtp,
                                                    remote_hold=rec.remote_hold))
            if hold_changed:
                self.emit_call(call)

    def remix(self) -> None:
        if self.audio is None:
            return
        parties, legs = [], []
        for c in self.calls.values():
            r = c.rec
            active = r.media_active and c.audio is not None and not r.held
            if r.monitor_role == "agent-leg":
                legs.append(LegView(r.call_id, r.monitor_session, r.headers.get("mode", "listen"), active))
            elif r.monitor_role == "tl":
                # TL side: our own voice goes out only when the mode lets it be heard; we always listen.
                parties.append(PartyView(r.call_id, active, muted=r.muted))
            else:
                parties.append(PartyView(r.call_id, active, r.muted))
        want = plan_links(parties, legs)
        media: dict[str, pj.AudioMedia] = {MIC: self.audio.mic_media(), SPEAKER: self.audio.speaker_media()}
        for cid, c in self.calls.items():
            if c.audio is not None:
                media[cid] = c.audio
        for src, dst in self.links - want:
            if src in media and dst in media:
                with contextlib.suppress(pj.Error):
                    media[src].stopTransmit(media[dst])
        for src, dst in want - self.links:
            try:
                media[src].startTransmit(media[dst])
            except (pj.Error, KeyError) as exc:
                log.warning("could not connect %s -> %s: %s", src[:8], dst[:8], exc)
                want.discard((src, dst))
        self.links = want

    def on_dtmf(self, call: EngineCall, digit: str) -> None:
        self.engine._publish("dtmf", (call.rec.call_id, digit))

    def on_transfer_status(self, call: EngineCall, code: int, reason: str, final: bool) -> None:
        log.info("call %s transfer status %d %s", call.rec.call_id[:8], code, reason)
        self.engine._publish("transfer", TransferStatus(call.rec.call_id, int(code), bool(final)))
        if final and 200 <= code < 300:
            with contextlib.suppress(pj.Error):
                call.hangup(pj.CallOpParam(True))

    def adopt_replacing_call(self, old: EngineCall, new_pj_id: int) -> EngineCall:
        assert self.account is not None
        rec = CallRecord(call_id=EngineCall.new_id(), direction=CallDirection.IN,
                         remote_masked=old.rec.remote_masked, state=CallState.CONNECTING,
                         dialed_at=time.time())
        new = EngineCall(self, self.account, rec, new_pj_id)
        self.calls[rec.call_id] = new
        return new

    # ---- commands (run on the SIP thread) ------------------------------------------------
    def target_uri(self, target: str) -> str:
        t = target.strip()
        if t.startswith(("sip:", "sips:")):
            if not pj.Endpoint.instance().utilVerifySipUri(t) == 0:
                raise ValueError("invalid SIP URI")
            return t
        number = re.sub(r"[\s\-()]", "", t)
        if not _DIAL_OK.match(number):
            raise ValueError("not a phone number or SIP URI")
        s = self.settings
        if s is None:
            raise RuntimeError("no SIP account")
        uri = f"sip:{number}@{s.domain}"
        if Transport(s.transport) is not Transport.UDP:
            uri += f";transport={Transport(s.transport).value}"
        return uri

    def dial(self, call_id: str, target: str, lead_id: str | None, dialed_at: float,
             headers: Mapping[str, str] | None = None, monitor_role: str = "") -> str:
        if self.account is None:
            raise RuntimeError("no SIP account")
        uri = self.target_uri(target)
        self._pace_new_call()
        rec = CallRecord(call_id=call_id, direction=CallDirection.OUT, remote_masked=mask_remote(uri),
                         dialed_at=dialed_at, lead_id=lead_id, monitor_role=monitor_role,
                         no_answer_deadline=time.monotonic() + self.config.no_answer_timeout_s,
                         no_response_deadline=time.monotonic() + self.config.no_response_timeout_s)
        call = EngineCall(self, self.account, rec)
        prm = pj.CallOpParam(True)
        for name, value in (headers or {}).items():
            h = pj.SipHeader()
            h.hName = name
            h.hValue = value
            prm.txOption.headers.append(h)
        self.calls[call_id] = call
        try:
            call.makeCall(uri, prm)
        except pj.Error as exc:
            self.calls.pop(call_id, None)
            rec.state = CallState.ENDED
            rec.ended_at = time.time()
            rec.reason = exc.reason
            rec.suggested_disposition = self.dispositions.suggest(0, answered=False)
            self.emit_call(call)
            self.dead.append(call)
            raise RuntimeError(f"call failed: {exc.reason}") from exc
        log.info("call %s dialing %s", call_id[:8], rec.remote_masked)
        self.emit_call(call)
        return call_id

    def find(self, call_id: str | None) -> EngineCall:
        if call_id is not None:
            call = self.calls.get(call_id)
            if call is None:
                raise KeyError(f"no call {call_id[:8]}")
            return call
        normal = [c for c in self.calls.values() if not c.rec.monitor_role]
        if not normal:
            raise KeyError("no call")
        return normal[-1]

    def answer(self, call_id: str | None) -> None:
        call = self.find(call_id)
        prm = pj.CallOpParam(True)
        prm.statusCode = 200
        call.answer(prm)
        if self.audio is not None:
            self.audio.ringer_stop()

    def reject(self, call_id: str | None, code: int) -> None:
        call = self.find(call_id)
        prm = pj.CallOpParam(True)
        prm.statusCode = code
        call.hangup(prm)

    def hangup(self, call_id: str | None) -> None:
        self.find(call_id).hangup(pj.CallOpParam(True))

    def hold(self, call_id: str | None, on: bool) -> None:
        call = self.find(call_id)
        if on == call.rec.held:
            return
        if on:
            call.setHold(pj.CallOpParam(True))
        else:
            prm = pj.CallOpParam(True)
            prm.opt.flag = pj.PJSUA_CALL_UNHOLD
            call.reinvite(prm)
        call.rec.held = on
        if call.rec.answered_at is not None:
            call.rec.state = call.rec.talk_state()
        self.remix()
        self.emit_call(call)

    def mute(self, call_id: str | None, on: bool) -> None:
        call = self.find(call_id)
        call.rec.muted = on
        self.remix()
        self.emit_call(call)

    def send_dtmf(self, call_id: str | None, digits: str, method: str) -> None:
        if not re.fullmatch(r"[0-9A-D*#]{1,32}", digits):
            raise ValueError("DTMF digits must be 0-9, A-D, * or #")
        call = self.find(call_id)
        if method == "info":
            call.send_info_dtmf(digits)
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.duration = 160
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        call.sendDtmf(prm)

    def transfer_blind(self, call_id: str | None, target: str) -> None:
        call = self.find(call_id)
        call.xfer(self.target_uri(target), pj.CallOpParam(True))

    def transfer_attended(self, call_id: str, to_call_id: str) -> None:
        call, other = self.find(call_id), self.find(to_call_id)
        call.xferReplaces(other, pj.CallOpParam(True))

    def monitor_change(self, call_id: str, token: str) -> None:
        call = self.find(call_id)
        prm = pj.CallOpParam(True)
        h = pj.SipHeader()
        h.hName = SIP_HEADER
        h.hValue = token
        prm.txOption.headers.append(h)
        call.monitor_change_pending = True
        try:
            call.reinvite(prm)
        except pj.Error:
            call.monitor_change_pending = False
            raise

    def on_monitor_change_answered(self, call: EngineCall, code: int) -> None:
        """TL side: the agent's bridge answered a mode change: 200 = remixed, 4xx (pjsua
        answers a refused re-offer with 488) = refused, the old mode stays."""
        ok = 200 <= code < 300
        if not ok:
            log.warning("monitor mode change refused by the agent's softphone: %d", code)
        self.engine._publish("monitor", MonitorInfo(call.rec.call_id, "tl", "", True,
                                                    reason=f"change {'accepted' if ok else 'refused'} {code}"))

    def end_monitor_legs(self) -> int:
        legs = [c for c in self.calls.values() if c.rec.monitor_role == "agent-leg"]
        for c in legs:
            with contextlib.suppress(pj.Error):
                c.hangup(pj.CallOpParam(True))
        return len(legs)
