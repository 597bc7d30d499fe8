"""Frozen value types the engine emits. No pjsua2 object ever leaves the SIP thread."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from core.contract import CallDirection


class CallState(str, enum.Enum):
    DIALING = "dialing"        # command accepted, INVITE being sent
    RINGING = "ringing"        # 180/183 received (outgoing) or incoming call alerting
    INCOMING = "incoming"
    CONNECTING = "connecting"
    ANSWERED = "answered"      # 200 OK / ACK: talking
    HOLD = "hold"              # we put the customer on hold
    REMOTE_HOLD = "remote_hold"  # the customer put us on hold (re-INVITE sendonly/inactive)
    ENDED = "ended"


@dataclass(frozen=True)
class RegInfo:
    account: str          # SIP user (no secrets)
    registrar: str        # registrar URI in use (primary or secondary)
    registered: bool
    code: int             # last SIP status of REGISTER (0 = no response)
    reason: str
    expires_s: int = 0


@dataclass(frozen=True)
class CallInfo:
    call_id: str                     # engine id (uuid hex), never a phone number
    direction: CallDirection
    state: CallState
    remote_masked: str               # masked number/user, safe to show and log
    sip_code: int = 0                # last final (or provisional) SIP status
    reason: str = ""
    held: bool = False
    muted: bool = False
    remote_hold: bool = False        # the other side holds the call (media remote sendonly/inactive)
    remote_hold_at: float | None = None  # since when (time.time()), while remote_hold
    dialed_at: float | None = None   # time.time() stamps
    ringing_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    suggested_disposition: str | None = None   # e.g. BUSY / NO_ANSWER / INVALID / FAILED
    lead_id: str | None = None
    monitor_role: str = ""           # "tl": the TL's monitoring leg (not a customer call)

    @property
    def ring_s(self) -> float | None:
        end = self.answered_at or self.ended_at
        if self.dialed_at is None or end is None:
            return None
        return max(0.0, end - self.dialed_at)

    @property
    def talk_s(self) -> float:
        if self.answered_at is None:
            return 0.0
        return max(0.0, (self.ended_at or self.answered_at) - self.answered_at)


@dataclass(frozen=True)
class MediaInfo:
    call_id: str
    active: bool
    codec: str = ""
    srtp: bool = False
    #: The other side put the call on hold: no media is expected from it (not a failure).
    remote_hold: bool = False
    #: False when no RTP came from the other side for ``silent_s`` seconds although media is
    #: active and nobody holds the call: a media failure (network, NAT, the far end's device).
    receiving: bool = True
    silent_s: float = 0.0


@dataclass(frozen=True)
class IncomingCall:
    call_id: str
    remote_masked: str
    headers: dict[str, str] = field(default_factory=dict)  # X- headers only
    # The caller's number as signalled (P-Asserted-Identity, else From; user part only), for
    # looking the customer up. Never log it, never show it: display ``remote_masked``.
    # repr=False keeps it out of reprs, log lines and test failure output.
    caller_number: str = field(default="", repr=False)


@dataclass(frozen=True)
class EngineError:
    where: str
    message: str


@dataclass(frozen=True)
class MonitorInfo:
    """A monitor session on the agent side (or the TL side when ``role == 'tl'``)."""

    session_id: str
    role: str            # "agent" | "tl"
    mode: str            # listen | whisper | barge
    active: bool
    tl: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TransferStatus:
    call_id: str
    code: int
    final: bool
