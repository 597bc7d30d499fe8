"""Callback reminders and follow-up flags.

:class:`CallbackMonitor` polls a cheap query (due callbacks, a few rows) on a
timer, reminds once per callback when it falls due, and publishes the overdue
count for the status bar. :func:`stale_new_leads` flags new leads nobody has
contacted within 48 hours (the floor's follow-up rule).

The 48-hour rule, precisely: a lead is *waiting for its first contact* while its status
is ``new`` and no call attempt was ever made to it (``last_attempt_at`` is empty — an
attempt counts whatever its outcome: answered, busy or not answered, made here or synced
from another device). It waits since it reached this device (``created_at`` in the cache:
the pull after the TL assigned it, or the import). It is *overdue* once it has waited
:data:`FIRST_CONTACT_HOURS`; the first dial attempt ends it (it is written with the
attempt, before the call connects), as does any disposition that moves it out of ``new``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from core.callbacks import DueCallback, split_due
from core.timeutil import naive_utc, now_utc


class CallbackMonitor(QObject):
    reminder = Signal(object)  # DueCallback, once per callback when it falls due
    counts_changed = Signal(int, int)  # due, overdue
    checked = Signal()  # after every check (time-based flags, e.g. the 48-hour rule, follow it)

    def __init__(
        self,
        fetch_due: Callable[[dt.datetime], Sequence[DueCallback]],
        clock: Callable[[], dt.datetime] | None = None,
        interval_ms: int = 15_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._fetch_due = fetch_due  # callbacks with due_at <= now, not done
        self._clock = clock or now_utc
        self._reminded: set[tuple[str, dt.datetime]] = set()
        self._counts = (-1, -1)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    @property
    def counts(self) -> tuple[int, int]:
        return self._counts

    def start(self) -> None:
        self._timer.start()
        self.check()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        now = self._clock()
        rows = list(self._fetch_due(now))
        due, overdue = split_due(rows, now)
        for cb in due + overdue:
            key = (cb.lead_id, naive_utc(cb.due_at))
            if key not in self._reminded:
                self._reminded.add(key)
                self.reminder.emit(cb)
        counts = (len(due), len(overdue))
        if counts != self._counts:
            self._counts = counts
            self.counts_changed.emit(*counts)
        self.checked.emit()
