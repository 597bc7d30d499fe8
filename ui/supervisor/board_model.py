"""The team board's item models: one row per agent over the floor service's BoardState.

- :class:`BoardTableModel` keeps only the agent ids in snapshot order and reads each
  cell from the service's state when painted. A patch repaints its row only
  (``dataChanged`` on that row); the service's one 1 s ``tick`` repaints the clock
  columns; a snapshot resets the model.
- :class:`BoardFilterModel` (a QSortFilterProxyModel) sorts by any column (header
  click) on :data:`SORT_ROLE` and filters by state (the filter buttons) and by name:
  the Chinese name, the user name, pinyin and pinyin initials (``core.pinyin``).

Colours: the state cell in the state's colour; a row past a TL threshold (long call,
long pause, long wrap-up, idle ready) gets a light red background.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from app.supervisor.floor_service import FloorService
from app.workspace.agent_state import STATE_NAMES
from core.agent_state import AgentState
from core.floor_alerts import IDLE_READY, LONG_CALL, LONG_PAUSE, LONG_WRAPUP
from core.kpi import format_duration
from core.pinyin import name_keys
from core.supervisor import BoardRow, projected_finish, time_in_state

CTX = "TeamBoard"

COL_NAME, COL_STATE, COL_TIME, COL_CALL, COL_CALLS, COL_TALK, COL_PACE, COL_RATE, COL_CONV, COL_SYNC = range(10)
HEADERS = (
    QT_TRANSLATE_NOOP("TeamBoard", "Agent"),
    QT_TRANSLATE_NOOP("TeamBoard", "State"),
    QT_TRANSLATE_NOOP("TeamBoard", "Time in state"),
    QT_TRANSLATE_NOOP("TeamBoard", "Current call"),
    QT_TRANSLATE_NOOP("TeamBoard", "Calls"),
    QT_TRANSLATE_NOOP("TeamBoard", "Talk time"),
    QT_TRANSLATE_NOOP("TeamBoard", "Pace"),
    QT_TRANSLATE_NOOP("TeamBoard", "Connect rate"),
    QT_TRANSLATE_NOOP("TeamBoard", "Conversions"),
    QT_TRANSLATE_NOOP("TeamBoard", "Last sync"),
)
CLOCK_COLUMNS = (COL_TIME, COL_CALL, COL_PACE, COL_SYNC)

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # BoardRow
AGENT_ID_ROLE = Qt.ItemDataRole.UserRole + 2
SORT_ROLE = Qt.ItemDataRole.UserRole + 3
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 4  # (done, target) for the calls / talk columns
ALERT_ROLE = Qt.ItemDataRole.UserRole + 5  # alert kind or None
STATE_ROLE = Qt.ItemDataRole.UserRole + 6  # state value

STATE_COLOURS = {
    AgentState.READY.value: QColor("#2e7d32"),
    AgentState.ON_CALL.value: QColor("#1565c0"),
    AgentState.WRAP_UP.value: QColor("#e67e22"),
    AgentState.PAUSED.value: QColor("#8e44ad"),
    AgentState.OFFLINE.value: QColor("#8a8a8a"),
}
ALERT_BACKGROUND = QColor("#fdecea")
ALERT_NAMES = {
    LONG_CALL: QT_TRANSLATE_NOOP("TeamBoard", "Long call"),
    LONG_PAUSE: QT_TRANSLATE_NOOP("TeamBoard", "Long pause"),
    LONG_WRAPUP: QT_TRANSLATE_NOOP("TeamBoard", "Long wrap-up"),
    IDLE_READY: QT_TRANSLATE_NOOP("TeamBoard", "Idle in ready"),
}
_DISPLAY = Qt.ItemDataRole.DisplayRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ROLES = frozenset({_DISPLAY, _BACKGROUND, _FOREGROUND, _ALIGN, _TOOLTIP, ROW_ROLE, AGENT_ID_ROLE, SORT_ROLE,
                    PROGRESS_ROLE, ALERT_ROLE, STATE_ROLE})
_ALERT_BRUSH = QBrush(ALERT_BACKGROUND)
_STATE_BRUSHES = {state: QBrush(colour) for state, colour in STATE_COLOURS.items()}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_MISSING = object()
#: The order of the filter buttons (and of the state sort).
STATE_ORDER = (AgentState.ON_CALL.value, AgentState.WRAP_UP.value, AgentState.READY.value,
               AgentState.PAUSED.value, AgentState.OFFLINE.value)
#: Pace is measured from this local time (the floor's first session starts at 09:00–09:20).
WORK_START = dt.time(9, 0)
#: A projection later than this local time is "behind" rather than a time.
WORK_END = dt.time(18, 0)


def tr(text: str) -> str:
    return QCoreApplication.translate(CTX, text)


def state_text(state: str, reason: str | None = None) -> str:
    try:
        name = QCoreApplication.translate("AgentState", STATE_NAMES[AgentState(state)])
    except ValueError:
        name = state
    if state == AgentState.PAUSED.value and reason:
        return QCoreApplication.translate("TeamBoard", "%1 (%2)").replace("%1", name).replace("%2", reason)
    return name


def alert_text(kind: str) -> str:
    return tr(ALERT_NAMES.get(kind, kind))


class BoardClock:
    """Local time in the board's time zone (pace times, last sync)."""

    def __init__(self) -> None:
        self._tz: zoneinfo.ZoneInfo | None = None
        self._tz_name = ""

    def local(self, utc: dt.datetime, tz_name: str) -> dt.datetime:
        if tz_name != self._tz_name:
            try:
                self._tz = zoneinfo.ZoneInfo(tz_name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._tz = None
            self._tz_name = tz_name
        aware = utc.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(self._tz) if self._tz is not None else aware.astimezone()


def pace(row: BoardRow, now_utc: dt.datetime, clock: BoardClock, tz: str) -> tuple[str, float]:
    """The pace hint and a sort key: "on track for 17:00", "target met", "behind", "—"."""
    local_now = clock.local(now_utc, tz)
    start = local_now.replace(hour=WORK_START.hour, minute=WORK_START.minute, second=0, microsecond=0)
    t = row.targets
    goals = [(row.today.calls_made, t.calls_per_day), (row.today.talk_seconds / 60.0, t.talk_minutes_per_day)]
    goals = [(done, target) for done, target in goals if target > 0]
    if not goals:
        return "—", 0.0
    if all(done >= target for done, target in goals):
        return QCoreApplication.translate("TeamBoard", "Target met"), -1.0
    projections = [projected_finish(done, target, start.replace(tzinfo=None), local_now.replace(tzinfo=None))
                   for done, target in goals]
    if any(p is None for p in projections):
        return "—", 1e12
    finish = max(p for p in projections if p is not None)
    end = local_now.replace(hour=WORK_END.hour, minute=WORK_END.minute, second=0, microsecond=0).replace(tzinfo=None)
    if finish > end:
        return QCoreApplication.translate("TeamBoard", "Behind"), 1e11 + (finish - end).total_seconds()
    return QCoreApplication.translate("TeamBoard", "On track for %1").replace("%1", f"{finish:%H:%M}"), finish.timestamp()


def ago_text(seconds: float) -> str:
    if seconds < 60:
        return QCoreApplication.translate("TeamBoard", "just now")
    if seconds < 3600:
        return QCoreApplication.translate("TeamBoard", "%1 min ago").replace("%1", str(int(seconds // 60)))
    return QCoreApplication.translate("TeamBoard", "%1 h ago").replace("%1", str(int(seconds // 3600)))


class BoardTableModel(QAbstractTableModel):
    def __init__(self, service: FloorService, parent: Any = None) -> None:
        super().__init__(parent)
        self.service = service
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._search_keys: dict[str, str] = {}
        self._clock = BoardClock()
        self._alerts: dict[str, Any] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._sort_keys: dict[str, dict[int, Any]] = {}
        service.board_reset.connect(self._reset)
        service.rows_changed.connect(self._rows_changed)
        service.tick.connect(self._tick)
        service.alerts_changed.connect(self._alerts_changed)
        self._reset()

    # -- structure -----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return tr(HEADERS[section])
        return None

    def agent_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, agent_id: str) -> int:
        return self._row_of.get(agent_id, -1)

    def search_key(self, agent_id: str) -> str:
        return self._search_keys.get(agent_id, "")

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATE_ORDER, 0)
        for row in self.service.board.rows.values():
            out[row.presence.state] = out.get(row.presence.state, 0) + 1
        return out

    # -- updates -------------------------------------------------------------------------
    def _reset(self) -> None:
        self.beginResetModel()
        rows = self.service.board.rows
        self._ids = list(rows)
        self._row_of = {a: i for i, a in enumerate(self._ids)}
        for agent_id, row in rows.items():
            if agent_id not in self._search_keys:
                full, initials = name_keys(row.display_name)
                self._search_keys[agent_id] = " ".join(
                    (row.display_name, row.username, full, initials)).lower()
        self._alerts = self.service.alerts
        self._texts.clear()
        self._sort_keys.clear()
        self.endResetModel()

    def _rows_changed(self, ids: Any) -> None:
        last = len(HEADERS) - 1
        for agent_id in ids:
            self._texts.pop(agent_id, None)
            self._sort_keys.pop(agent_id, None)
            r = self._row_of.get(agent_id, -1)
            if r >= 0:
                self.dataChanged.emit(self.index(r, 0), self.index(r, last))

    def _tick(self) -> None:
        self._texts.clear()
        self._sort_keys.clear()
        if self._ids:
            # One signal per clock column over every row: the views repaint what they show.
            for col in CLOCK_COLUMNS:
                self.dataChanged.emit(self.index(0, col), self.index(len(self._ids) - 1, col),
                                      [Qt.ItemDataRole.DisplayRole, SORT_ROLE])

    def _alerts_changed(self, alerts: dict[str, Any]) -> None:
        old, self._alerts = self._alerts, dict(alerts)
        changed = {a for a in set(old) | set(alerts) if old.get(a) != alerts.get(a)}
        self._rows_changed(changed)

    def retranslate(self) -> None:
        self._texts.clear()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HEADERS) - 1)
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(HEADERS) - 1))

    # -- cells ---------------------------------------------------------------------------
    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Views ask for ~8 roles per painted cell: unknown roles leave first, texts come from a
        # per-row cache (emptied for that row on a patch and for all rows on the 1 s tick).
        if role not in _ROLES:
            return None
        r = index.row()
        if r < 0 or r >= len(self._ids):
            return None
        agent_id = self._ids[r]
        col = index.column()
        if role == _DISPLAY:
            texts = self._texts.get(agent_id)
            if texts is None:
                row = self.service.board.rows.get(agent_id)
                if row is None:
                    return None
                texts = self._texts[agent_id] = tuple(self.cell_text(row, c) for c in range(len(HEADERS)))
            return texts[col]
        if role == _BACKGROUND:
            return _ALERT_BRUSH if agent_id in self._alerts else None
        if role == _ALIGN:
            return _RIGHT if col in (COL_RATE, COL_CONV) else None
        row = self.service.board.rows.get(agent_id)
        if row is None:
            return None
        if role == _FOREGROUND:
            return _STATE_BRUSHES.get(row.presence.state) if col == COL_STATE else None
        if role == SORT_ROLE:
            return self.sort_value(row, col)
        if role == ROW_ROLE:
            return row
        if role == AGENT_ID_ROLE:
            return agent_id
        if role == STATE_ROLE:
            return row.presence.state
        if role == ALERT_ROLE:
            alert = self._alerts.get(agent_id)
            return alert.kind if alert is not None else None
        if role == PROGRESS_ROLE:
            if col == COL_CALLS:
                return (row.today.calls_made, row.targets.calls_per_day)
            if col == COL_TALK:
                return (row.today.talk_seconds / 60.0, row.targets.talk_minutes_per_day)
            return None
        if role == _TOOLTIP:
            return self.tooltip(row)
        return None

    def sort_key(self, source_row: int, col: int) -> Any:
        """The sort value of a row, cached until the next tick or patch of that row."""
        agent_id = self._ids[source_row] if 0 <= source_row < len(self._ids) else ""
        keys = self._sort_keys.get(agent_id)
        if keys is None:
            keys = self._sort_keys[agent_id] = {}
        value = keys.get(col, _MISSING)
        if value is _MISSING:
            row = self.service.board.rows.get(agent_id)
            value = keys[col] = self.sort_value(row, col) if row is not None else 0
        return value

    def cell_text(self, row: BoardRow, col: int) -> str:
        p, today, now = row.presence, row.today, self.service.now()
        if col == COL_NAME:
            return row.display_name or row.username
        if col == COL_STATE:
            text = state_text(p.state, p.reason)
            cmd = row.pending_command
            if cmd is not None and cmd.is_open:
                text += " → " + state_text(cmd.state, cmd.reason)
            if row.monitor is not None:
                text += " · " + QCoreApplication.translate("TeamBoard", "monitored")
            return text
        if col == COL_TIME:
            return format_duration(time_in_state(p, now)) if p.since is not None else "—"
        if col == COL_CALL:
            if p.state != AgentState.ON_CALL.value or p.call is None:
                return ""
            started = p.call.started_at or p.since
            dur = format_duration(max(0.0, (now - started).total_seconds())) if started is not None else ""
            return f"{dur}  {p.call.number_masked or ''}".strip()
        if col == COL_CALLS:
            return f"{today.calls_made}/{row.targets.calls_per_day}"
        if col == COL_TALK:
            return QCoreApplication.translate("TeamBoard", "%1/%2 min").replace("%1", str(today.talk_seconds // 60)).replace(
                "%2", str(row.targets.talk_minutes_per_day))
        if col == COL_PACE:
            return pace(row, now, self._clock, self.service.board.timezone)[0]
        if col == COL_RATE:
            return f"{today.connect_rate:.0%}" if today.calls_made else "—"
        if col == COL_CONV:
            return str(today.conversions)
        if col == COL_SYNC:
            if row.last_sync_at is None:
                return "—"
            return ago_text(max(0.0, (now - row.last_sync_at).total_seconds()))
        return ""

    def sort_value(self, row: BoardRow, col: int) -> Any:
        p, today, now = row.presence, row.today, self.service.now()
        if col == COL_NAME:
            return self._search_keys.get(row.agent_id, row.username)
        if col == COL_STATE:
            return STATE_ORDER.index(p.state) if p.state in STATE_ORDER else len(STATE_ORDER)
        if col == COL_TIME:
            return time_in_state(p, now)
        if col == COL_CALL:
            started = p.call.started_at if p.call is not None else None
            return (now - started).total_seconds() if p.state == AgentState.ON_CALL.value and started else -1.0
        if col == COL_CALLS:
            return today.calls_made / row.targets.calls_per_day if row.targets.calls_per_day else today.calls_made
        if col == COL_TALK:
            t = row.targets.talk_minutes_per_day
            return today.talk_seconds / (t * 60) if t else today.talk_seconds
        if col == COL_PACE:
            return pace(row, now, self._clock, self.service.board.timezone)[1]
        if col == COL_RATE:
            return today.connect_rate
        if col == COL_CONV:
            return today.conversions
        if col == COL_SYNC:
            return row.last_sync_at.timestamp() if row.last_sync_at else 0.0
        return 0

    def tooltip(self, row: BoardRow) -> str:
        lines = [f"{row.display_name} ({row.username})" + (f" · {row.sip_user}" if row.sip_user else "")]
        alert = self._alerts.get(row.agent_id)
        if alert is not None:
            lines.append(alert_text(alert.kind))
        cmd = row.pending_command
        if cmd is not None and cmd.is_open:
            lines.append(QCoreApplication.translate("TeamBoard", "Order from %1: %2").replace("%1", cmd.issued_by_name).replace(
                "%2", state_text(cmd.state, cmd.reason)))
        return "\n".join(lines)


class BoardFilterModel(QSortFilterProxyModel):
    """Sort on SORT_ROLE; filter by a set of states and a name/pinyin search."""

    def __init__(self, source: BoardTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._source = source
        self._states: frozenset[str] | None = None
        self._needle = ""
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        # Not on every patch: a row that moved on each state change made the whole view repaint
        # 30 times a second with 200 agents, and rows jumping under the TL's eyes is not calm.
        # The order and the state filter follow once a second (the tick), and at once on a
        # header click, a filter button or a keystroke in the search.
        self.setDynamicSortFilter(False)
        self._dirty = False
        source.service.tick.connect(self.refresh)
        source.service.rows_changed.connect(self._mark_dirty)
        source.service.alerts_changed.connect(self._mark_dirty)

    def _mark_dirty(self, *_args: Any) -> None:
        self._dirty = True

    def refresh(self) -> None:
        """Re-apply the state filter and the sort (the 1 s tick), when something changed: a
        row, or the clock for a clock column's order."""
        column = self.sortColumn()
        if not self._dirty and column not in CLOCK_COLUMNS:
            return
        self._dirty = False
        if self._states is not None:
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        if column >= 0:
            self.sort(column, self.sortOrder())

    def set_states(self, states: frozenset[str] | None) -> None:
        self.beginFilterChange()
        self._states = states or None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        needle = text.strip().lower().replace(" ", "")
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        agent_id = self._source.agent_id(source_row)
        if agent_id is None:
            return False
        if self._states is not None:
            row = self._source.service.board.rows.get(agent_id)
            if row is None or row.presence.state not in self._states:
                return False
        if self._needle:
            key = self._source.search_key(agent_id)
            return any(self._needle in part for part in key.split())
        return True

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        col = left.column()
        a, b = self._source.sort_key(left.row(), col), self._source.sort_key(right.row(), col)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
