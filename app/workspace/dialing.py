"""Dial modes: preview (the next best lead) and power (auto-dial after a countdown).

:func:`rank_leads` orders a small candidate list the cache hands over:
overdue callbacks first (oldest first), then callbacks due now, then leads
never finished by priority (1 = highest) and nearest policy expiry. The
caller skips leads the compliance gate blocks and takes the first one left.

:class:`PowerDialer` runs the countdown after a saved wrap-up; the agent can
cancel it (Esc) or dial at once; it emits ``dial_requested`` at zero.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from core.dialing import DialMode


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
            self.dial_requested.emit()
            return True
        self._left = self.countdown_seconds
        self._timer.start()
        self.tick.emit(self._left)
        return True

    def cancel(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._left = 0
            self.cancelled.emit()

    def dial_now(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._left = 0
            self.dial_requested.emit()

    def _on_tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._timer.stop()
            self._left = 0
            self.tick.emit(0)
            self.dial_requested.emit()
        else:
            self.tick.emit(self._left)
