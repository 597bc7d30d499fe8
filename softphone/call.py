"""One SIP call on the SIP thread: the pjsua2 Call subclass and its bookkeeping.

The engine owns every EngineCall; callbacks are forwarded to it. Nothing here is
touched from any other thread.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable, MutableSet
from dataclasses import dataclass, field
from typing import Protocol

import pjsua2 as pj

from core.contract import CallDirection

from .dispositions import DispositionTable
from .ownership import guard_callback
from .types import CallInfo, CallState

log = logging.getLogger(__name__)


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """For every pjsua2 callback: an exception escaping into pjsua2's C++ (a SWIG director)
    becomes std::terminate and aborts the whole process. Log it instead. (ownership.install
    also applies this to every ``on…`` method of every pjsua2 subclass; the explicit decorator
    documents it where the callbacks are written.)"""
    return guard_callback(fn)


def parse_headers(whole_msg: str) -> dict[str, str]:
    """Header lines of a SIP message (first occurrence wins)."""
    head = whole_msg.split("\r\n\r\n", 1)[0]
    out: dict[str, str] = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            out.setdefault(name.strip(), value.strip())
    return out


_URI_USER = re.compile(r"(?:sips?|tel):([^@;>?]+)", re.IGNORECASE)


def caller_number(headers: dict[str, str]) -> str:
    """The caller's number from P-Asserted-Identity (set by a trusted PBX/carrier), else From:
    the URI's user part without visual separators; "" when it is not a number (an extension
    named "alice", anonymous)."""
    for name in ("P-Asserted-Identity", "From"):
        value = header_value(headers, name)
        if not value:
            continue
        m = _URI_USER.search(value)
        if not m:
            continue
        user = re.sub(r"[\s\-().]", "", m.group(1))
        if re.fullmatch(r"\+?\d{3,20}", user):
            return user
    return ""


def header_value(headers: dict[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


@dataclass
class CallRecord:
    """Mutable state of one call, snapshotted into a frozen CallInfo for the UI."""

    call_id: str
    direction: CallDirection
    remote_masked: str
    state: CallState = CallState.DIALING
    sip_code: int = 0
    reason: str = ""
    held: bool = False
    muted: bool = False
    dialed_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    suggested_disposition: str | None = None
    lead_id: str | None = None
    timed_out: bool = False
    no_answer_deadline: float | None = None    # monotonic
    no_response_deadline: float | None = None  # monotonic
    no_response: bool = False                  # nothing at all came back (proxy/network down)
    redirect_code: int = 0                     # a 3xx we did not follow (the target is not gated)
    media_active: bool = False
    remote_hold: bool = False
    remote_hold_at: float | None = None
    # RTP watch (SipCore.watch_media): packets received so far, and since when that count is unchanged
    rx_packets: int = -1
    rx_since: float = 0.0                      # monotonic
    audio_index: int | None = None             # the audio stream's media index (on_call_media)
    receiving: bool = True
    monitor_role: str = ""                     # "" | "agent-leg" (TL's leg on the agent) | "tl"
    monitor_session: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def talk_state(self) -> CallState:
        """The state of an answered call: held by us, held by them, or talking."""
        if self.held:
            return CallState.HOLD
        return CallState.REMOTE_HOLD if self.remote_hold else CallState.ANSWERED

    def snapshot(self) -> CallInfo:
        return CallInfo(
            call_id=self.call_id, direction=self.direction, state=self.state,
            remote_masked=self.remote_masked, sip_code=self.sip_code, reason=self.reason,
            held=self.held, muted=self.muted, remote_hold=self.remote_hold,
            remote_hold_at=self.remote_hold_at if self.remote_hold else None, dialed_at=self.dialed_at, ringing_at=self.ringing_at,
            answered_at=self.answered_at, ended_at=self.ended_at,
            suggested_disposition=self.suggested_disposition, lead_id=self.lead_id,
            monitor_role=self.monitor_role)


class CallOwner(Protocol):
    """What a call reports to (``core.SipCore``, on the SIP thread). A Protocol, so this
    module does not import the core that imports it."""

    every_call: MutableSet[EngineCall]
    dispositions: DispositionTable

    def on_call_state(self, call: EngineCall) -> None: ...

    def on_call_media(self, call: EngineCall) -> None: ...

    def on_dtmf(self, call: EngineCall, digit: str) -> None: ...

    def on_rx_reinvite(self, call: EngineCall, prm: pj.OnCallRxReinviteParam) -> None: ...

    def on_monitor_change_answered(self, call: EngineCall, code: int) -> None: ...

    def on_transfer_status(self, call: EngineCall, code: int, reason: str, final: bool) -> None: ...

    def adopt_replacing_call(self, old: EngineCall, new_pj_id: int) -> EngineCall: ...


class EngineCall(pj.Call):
    def __init__(self, core: CallOwner, account: pj.Account, record: CallRecord,
                 pj_call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, pj_call_id)
        self.core = core
        self.rec = record
        self.recorder: object | None = None
        self.audio: pj.AudioMedia | None = None   # the call's conference port, while active
        self.info_digits: list[str] = []          # SIP INFO DTMF still to send, one at a time
        self.info_busy = False
        self.monitor_change_pending = False       # TL side: a mode change awaits the agent's answer
        self.published: CallInfo | None = None    # the last snapshot the engine published
        core.every_call.add(self)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def audio_media(self) -> pj.AudioMedia | None:
        ci = self.getInfo()  # keep ci alive while iterating ci.media (PEERS.md)
        for i, media in enumerate(ci.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status in (
                    pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                return self.getAudioMedia(i)
        return None

    # ---- pjsua2 callbacks (SIP thread, inside libHandleEvents) ---------------------------
    @guarded
    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        ci = self.getInfo()
        rec = self.rec
        now = time.time()
        if ci.lastStatusCode:
            rec.sip_code = int(ci.lastStatusCode)
            rec.reason = ci.lastReason
        st = ci.state
        if st == pj.PJSIP_INV_STATE_EARLY and rec.direction is CallDirection.OUT:
            if rec.ringing_at is None:
                rec.ringing_at = now
            rec.state = CallState.RINGING
        elif st == pj.PJSIP_INV_STATE_CONNECTING:
            rec.state = CallState.CONNECTING
        elif st == pj.PJSIP_INV_STATE_CONFIRMED:
            if rec.answered_at is None:
                rec.answered_at = now
            rec.no_answer_deadline = None
            rec.state = rec.talk_state()
        elif st == pj.PJSIP_INV_STATE_DISCONNECTED:
            rec.ended_at = now
            rec.state = CallState.ENDED
            if rec.no_response:
                # Nothing came back: the 408/487 pjsua reports is our own giving up, not an answer.
                rec.sip_code = 0
                rec.reason = "no response"
            elif rec.redirect_code and rec.answered_at is None:
                # pjsua ends a redirect it was told not to follow with 487: report the 3xx.
                rec.sip_code = rec.redirect_code
                rec.reason = "redirected (not followed)"
            rec.suggested_disposition = self.core.dispositions.suggest(
                0 if rec.no_response else rec.sip_code, answered=rec.answered_at is not None,
                timed_out=rec.timed_out and not rec.no_response)
        self.core.on_call_state(self)

    @guarded
    def onCallRedirected(self, prm: pj.OnCallRedirectedParam) -> int:
        """A 3xx is reported, never followed: the new target has not passed the compliance gate
        (calling window, do-not-call, attempts), so only the agent may dial it."""
        code = 302
        with contextlib.suppress(pj.Error):
            last = int(self.getInfo().lastStatusCode)
            if 300 <= last < 400:
                code = last
        self.rec.redirect_code = code
        log.info("call %s: redirected (%d), not followed", self.rec.call_id[:8], code)
        return pj.PJSIP_REDIRECT_STOP

    @guarded
    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        self.core.on_call_media(self)

    @guarded
    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.core.on_dtmf(self, prm.digit)

    def send_info_dtmf(self, digits: str) -> None:
        """SIP INFO digits go one transaction at a time: sent together, a proxy with several
        workers may reorder them and the far end then refuses the older CSeq."""
        self.info_digits.extend(digits)
        self._next_info_digit()

    def _next_info_digit(self) -> None:
        if self.info_busy or not self.info_digits:
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = self.info_digits.pop(0)
        prm.duration = 160
        prm.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
        self.info_busy = True
        try:
            self.sendDtmf(prm)
        except pj.Error:
            self.info_busy = False
            self.info_digits.clear()
            raise

    @guarded
    def onCallTsxState(self, prm: pj.OnCallTsxStateParam) -> None:
        if self.monitor_change_pending:
            # TL side: the agent's answer to a mode change (the re-INVITE with a new grant).
            with contextlib.suppress(Exception):
                tsx = prm.e.body.tsxState.tsx
                if (tsx.role == pj.PJSIP_ROLE_UAC and tsx.method == "INVITE" and tsx.statusCode >= 200
                        and tsx.state in (pj.PJSIP_TSX_STATE_COMPLETED, pj.PJSIP_TSX_STATE_TERMINATED)):
                    self.monitor_change_pending = False
                    self.core.on_monitor_change_answered(self, int(tsx.statusCode))
        if not self.info_busy:
            return
        with contextlib.suppress(Exception):
            tsx = prm.e.body.tsxState.tsx
            if (tsx.role == pj.PJSIP_ROLE_UAC and tsx.method == "INFO"
                    and tsx.state in (pj.PJSIP_TSX_STATE_COMPLETED, pj.PJSIP_TSX_STATE_TERMINATED)):
                self.info_busy = False
                self._next_info_digit()

    @guarded
    def onCallRxReinvite(self, prm: pj.OnCallRxReinviteParam) -> None:
        self.core.on_rx_reinvite(self, prm)

    @guarded
    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        self.core.on_transfer_status(self, prm.statusCode, prm.reason, prm.finalNotify)

    @guarded
    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:
        new = self.core.adopt_replacing_call(self, prm.newCallId)
        prm.newCall = new

    def stop_recording(self) -> None:
        rec, self.recorder = self.recorder, None
        if rec is not None:
            with contextlib.suppress(Exception):
                rec.stop()  # type: ignore[attr-defined]
