"""The TL's thresholds on the team board and the alert each row raises (pure rules).

Four thresholds a TL can change (settings ``supervisor.thresholds``, in seconds):
a long call, a long pause (小休), a long wrap-up (话后处理) and an agent idle in
就绪 for too long. :func:`alert_for` says which one a row is past, if any; the
board colours the row and, when a row *crosses* into an alert, raises it once in
the alert strip and the tray (:class:`AlertTracker`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from core.supervisor import BoardRow, time_in_state

LONG_CALL = "long_call"
LONG_PAUSE = "long_pause"
LONG_WRAPUP = "long_wrapup"
IDLE_READY = "idle_ready"
ALERT_KINDS = (LONG_CALL, LONG_PAUSE, LONG_WRAPUP, IDLE_READY)

#: Which state each threshold watches.
_STATE_OF = {"on_call": LONG_CALL, "paused": LONG_PAUSE, "wrap_up": LONG_WRAPUP, "ready": IDLE_READY}


@dataclass(frozen=True)
class Thresholds:
    """Seconds; 0 switches that alert off."""

    long_call_s: int = 600  # 10 min
    long_pause_s: int = 900  # 15 min
    long_wrapup_s: int = 120  # 2 min
    idle_ready_s: int = 300  # 5 min

    @classmethod
    def from_settings(cls, data: Mapping[str, Any] | None) -> Thresholds:
        """From the settings' dict; missing, negative or unreadable values keep their default."""
        base = cls()
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = (data or {}).get(f.name, getattr(base, f.name))
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = getattr(base, f.name)
            values[f.name] = value if 0 <= value <= 24 * 3600 else getattr(base, f.name)
        return cls(**values)

    def to_settings(self) -> dict[str, int]:
        return asdict(self)

    def limit(self, kind: str) -> int:
        return {LONG_CALL: self.long_call_s, LONG_PAUSE: self.long_pause_s, LONG_WRAPUP: self.long_wrapup_s,
                IDLE_READY: self.idle_ready_s}[kind]


def alert_for(row: BoardRow, now: dt.datetime, thresholds: Thresholds) -> str | None:
    """The alert this row is past now (a kind from ALERT_KINDS), or None."""
    kind = _STATE_OF.get(row.presence.state)
    if kind is None:
        return None
    limit = thresholds.limit(kind)
    if limit <= 0 or row.presence.since is None:
        return None
    return kind if time_in_state(row.presence, now) >= limit else None


@dataclass(frozen=True)
class Alert:
    agent_id: str
    kind: str
    state_since: dt.datetime | None  # identifies the episode: a new state is a new alert


class AlertTracker:
    """Which rows are in alert, and which just crossed into one (raised once per episode)."""

    def __init__(self) -> None:
        self.active: dict[str, Alert] = {}

    def update(self, rows: Iterable[BoardRow], now: dt.datetime, thresholds: Thresholds) -> tuple[list[Alert], bool]:
        """Re-evaluate; returns (alerts raised just now, whether the active set changed)."""
        raised: list[Alert] = []
        current: dict[str, Alert] = {}
        for row in rows:
            kind = alert_for(row, now, thresholds)
            if kind is None:
                continue
            alert = Alert(row.agent_id, kind, row.presence.since)
            current[row.agent_id] = alert
            if self.active.get(row.agent_id) != alert:
                raised.append(alert)
        changed = current != self.active
        self.active = current
        return raised, changed
