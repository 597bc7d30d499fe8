"""What the call bar shows: the agent's one customer call, as the softphone reports it.

An honest view of the call, built only from the engine's own events
(``call_state_changed`` with :class:`softphone.types.CallInfo`, ``media_state_changed``
with :class:`softphone.types.MediaInfo`):

* dialing → ringing → talking → on hold (ours) / held by the customer (对方保持, its own
  timer from the moment the customer's re-INVITE put us on hold) → talking → **idle** the
  moment the call ends (no timer left running, no "ringing" left on screen);
* a warning while no audio arrives from the other side (the engine's RTP watch:
  ``MediaInfo.receiving`` false) — a message code the UI words ("can't hear them? check
  the network and the headset"); it clears when audio comes back, on a hold, and at the end.

Monitor legs (a TL listening in) are not the agent's call and never show here.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from core import messages as msg
from core.messages import Message

UTC = dt.timezone.utc


class CallPhase(str, enum.Enum):
    IDLE = "idle"
    DIALING = "dialing"
    RINGING = "ringing"
    INCOMING = "incoming"
    TALKING = "talking"
    HOLD = "hold"  # the agent holds the customer
    REMOTE_HOLD = "remote_hold"  # the customer holds the agent (对方保持)


@dataclass(frozen=True)
class CallView:
    phase: CallPhase = CallPhase.IDLE
    call_id: str = ""  # the engine's id
    masked: str = ""
    #: When the shown timer started (UTC): dialing/ringing → dialed, talking/hold → answered,
    #: remote hold → when the customer put us on hold.
    since: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    warning: Message | None = None  # e.g. no audio from the other side

    @property
    def idle(self) -> bool:
        return self.phase is CallPhase.IDLE

    def seconds(self, now: dt.datetime | None = None) -> float:
        if self.since is None:
            return 0.0
        return max(0.0, ((now or dt.datetime.now(UTC)) - self.since).total_seconds())


IDLE = CallView()

_PHASES = {
    "dialing": CallPhase.DIALING,
    "ringing": CallPhase.RINGING,
    "incoming": CallPhase.INCOMING,
    "connecting": CallPhase.TALKING,
    "answered": CallPhase.TALKING,
    "hold": CallPhase.HOLD,
    "remote_hold": CallPhase.REMOTE_HOLD,
}


def _ts(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, UTC)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


class CallStatus(QObject):
    """Follows the phone's events; ``changed`` carries the new :class:`CallView`."""

    changed = Signal(object)  # CallView

    def __init__(self, phone: Any | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = IDLE
        self._phone: Any | None = None
        if phone is not None:
            self.attach(phone)

    def attach(self, phone: Any) -> None:
        """Listen to this phone (once; the runtime starts it in the background)."""
        if phone is None or phone is self._phone:
            return
        self._phone = phone
        phone.call_state_changed.connect(self.on_call_state)
        if hasattr(phone, "media_state_changed"):
            phone.media_state_changed.connect(self.on_media)

    def _set(self, view: CallView) -> None:
        if view != self.view:
            self.view = view
            self.changed.emit(view)

    def reset(self) -> None:
        """Idle (e.g. a dial that failed before the engine reported anything)."""
        self._set(IDLE)

    def on_call_state(self, info: Any) -> None:
        if getattr(info, "monitor_role", ""):
            return  # a TL's monitoring leg (app.supervisor.monitor_service): the banner shows it
        call_id = str(getattr(info, "call_id", ""))
        state = _name(getattr(info, "state", ""))
        current = self.view
        if current.call_id and call_id != current.call_id and not current.idle:
            return  # another call (a second line, a TL's leg): the bar shows the first one
        if state == "ended":
            if current.call_id == call_id or current.idle:
                self._set(IDLE)
            return
        phase = _PHASES.get(state)
        if phase is None:
            return
        answered = _ts(getattr(info, "answered_at", None))
        if phase in (CallPhase.DIALING, CallPhase.RINGING, CallPhase.INCOMING):
            since = _ts(getattr(info, "dialed_at", None)) or dt.datetime.now(UTC)
        elif phase is CallPhase.REMOTE_HOLD:
            since = _ts(getattr(info, "remote_hold_at", None)) or dt.datetime.now(UTC)
        else:
            since = answered or dt.datetime.now(UTC)
        warning = current.warning if phase is CallPhase.TALKING and current.call_id == call_id else None
        self._set(CallView(phase, call_id, str(getattr(info, "remote_masked", "")), since, answered, warning))

    def on_media(self, info: Any) -> None:
        current = self.view
        if current.idle or str(getattr(info, "call_id", "")) != current.call_id:
            return
        warning = None
        if not getattr(info, "receiving", True) and not getattr(info, "remote_hold", False):
            warning = Message.of(msg.CALL_NO_AUDIO, seconds=round(float(getattr(info, "silent_s", 0) or 0)))
        self._set(replace(current, warning=warning))
