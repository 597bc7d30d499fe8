"""Dial modes: preview (the next best lead) and power (auto-dial after a countdown).

:func:`rank_leads` orders a small candidate list the cache hands over:
overdue callbacks first (oldest first), then callbacks due now, then leads
never finished by priority (1 = highest) and nearest policy expiry. The
caller skips leads the compliance gate blocks and takes the first one left.

:class:`PowerDialer` runs the countdown after a saved wrap-up; the agent can
cancel it (Esc) or dial at once; it emits ``dial_requested`` at zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, QTimer, Signal

from app.workspace.qt_emit import emit

OVERDUE_GRACE = dt.timedelta(minutes=10)
OPEN_STATUSES = ("new", "callback")


class DialMode(str, Enum):
    PREVIEW = "preview"
    POWER = "power"


@dataclass(frozen=True)
class LeadCandidate:
    lead_id: str
    status: str
    priority: int = 3
    policy_expiry: dt.date | None = None
    next_callback_at: dt.datetime | None = None  # naive UTC, like the cache
    created_at: dt.datetime | None = None


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def bucket(lead: LeadCandidate, now: dt.datetime) -> int:
    """0 overdue callback, 1 due callback, 2 fresh work, 3 callback not yet due, 9 not callable."""
    if lead.status not in OPEN_STATUSES:
        return 9
    now = _naive_utc(now)
    if lead.next_callback_at is not None:
        due = _naive_utc(lead.next_callback_at)
        if due < now - OVERDUE_GRACE:
            return 0
        if due <= now:
            return 1
        return 3
    return 2


def rank_key(lead: LeadCandidate, now: dt.datetime) -> tuple:
    b = bucket(lead, now)
    far = dt.date.max
    if b in (0, 1, 3):
        return (b, _naive_utc(lead.next_callback_at), lead.priority, lead.policy_expiry or far, lead.lead_id)
    return (b, dt.datetime.min, lead.priority, lead.policy_expiry or far, lead.created_at or dt.datetime.min,
            lead.lead_id)


def rank_leads(candidates: Iterable[LeadCandidate], now: dt.datetime) -> list[LeadCandidate]:
    """Callable leads best first; callbacks not yet due are left out."""
    usable = [c for c in candidates if bucket(c, now) in (0, 1, 2)]
    return sorted(usable, key=lambda c: rank_key(c, now))


class PowerDialer(QObject):
    """The countdown between a saved wrap-up and the next automatic dial."""

    tick = Signal(int)  # seconds left
    cancelled = Signal()
    dial_requested = Signal()

    def __init__(self, countdown_seconds: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.countdown_seconds = countdown_seconds
        self.mode = DialMode.PREVIEW
        self._left = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._on_tick)

    @property
    def counting(self) -> bool:
        return self._timer.isActive()

    @property
    def seconds_left(self) -> int:
        return self._left if self.counting else 0

    def set_mode(self, mode: DialMode) -> None:
        self.mode = DialMode(mode)
        if self.mode is DialMode.PREVIEW:
            self.cancel()

    def after_wrapup(self) -> bool:
        """Start the countdown if in power mode; True when it started."""
        if self.mode is not DialMode.POWER:
            return False
        if self.countdown_seconds <= 0:
            emit(self.dial_requested)
            return True
        self._left = self.countdown_seconds
        self._timer.start()
        emit(self.tick, self._left)
        return True

    def cancel(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._left = 0
            emit(self.cancelled)

    def dial_now(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._left = 0
            emit(self.dial_requested)

    def _on_tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._timer.stop()
            self._left = 0
            emit(self.tick, 0)
            emit(self.dial_requested)
        else:
            emit(self.tick, self._left)
