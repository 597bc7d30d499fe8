"""The board's rules without a server: thresholds and alerts (core/floor_alerts.py), the pace hint."""

from __future__ import annotations

import datetime as dt

import pytest

from core.floor_alerts import IDLE_READY, LONG_CALL, LONG_PAUSE, AlertTracker, Thresholds, alert_for
from core.supervisor import AgentPresence, BoardRow, DailyTargets, TodayNumbers

NOW = dt.datetime(2026, 12, 5, 3, 0)  # naive UTC: 11:00 in Asia/Shanghai


def _row(state: str, minutes_in_state: float, agent: str = "a1", **kw) -> BoardRow:
    since = NOW - dt.timedelta(minutes=minutes_in_state)
    return BoardRow(agent, "lina", "李娜", "1002", presence=AgentPresence(state, None, since, since, 3), **kw)


def test_thresholds_from_settings_keep_defaults_for_bad_values() -> None:
    t = Thresholds.from_settings({"long_call_s": "420", "long_pause_s": -5, "idle_ready_s": "x"})
    assert t == Thresholds(long_call_s=420)
    assert Thresholds.from_settings(None) == Thresholds()
    assert Thresholds.from_settings(t.to_settings()) == t


def test_alert_for_each_state() -> None:
    t = Thresholds(long_call_s=600, long_pause_s=900, long_wrapup_s=120, idle_ready_s=300)
    assert alert_for(_row("on_call", 11), NOW, t) == LONG_CALL
    assert alert_for(_row("on_call", 9), NOW, t) is None
    assert alert_for(_row("paused", 16), NOW, t) == LONG_PAUSE
    assert alert_for(_row("ready", 6), NOW, t) == IDLE_READY
    assert alert_for(_row("ready", 6), NOW, Thresholds(idle_ready_s=0)) is None  # 0 = off
    assert alert_for(_row("offline", 600), NOW, t) is None


def test_tracker_raises_once_per_episode() -> None:
    t = Thresholds(long_call_s=60)
    tracker = AlertTracker()
    raised, changed = tracker.update([_row("on_call", 2)], NOW, t)
    assert [a.kind for a in raised] == [LONG_CALL] and changed
    raised, changed = tracker.update([_row("on_call", 2)], NOW + dt.timedelta(seconds=1), t)
    assert raised == [] and not changed  # still the same call: not raised again
    raised, changed = tracker.update([_row("wrap_up", 0)], NOW, t)
    assert raised == [] and changed and tracker.active == {}
    raised, _ = tracker.update([_row("on_call", 1.5)], NOW, t)  # a new call: a new episode
    assert len(raised) == 1


@pytest.mark.parametrize(("calls", "talk_s", "expected"), [
    (10, 20 * 60, "预计 15:00 达标"),  # 2 h for 10/30 calls → 4 h more; talk 20/50 min → 3 h more
    (30, 50 * 60, "已达标"),
    (0, 0, "—"),
    (2, 60, "进度落后"),
])
def test_pace(qapp, calls: int, talk_s: int, expected: str) -> None:
    from app.i18n import Translations
    from ui.supervisor.board_model import BoardClock, pace

    Translations.of(qapp).apply("zh_CN")

    row = _row("ready", 1, today=TodayNumbers("2026-12-05", calls, calls, talk_s, 0, 0),
               targets=DailyTargets(30, 50, 10))
    assert pace(row, NOW, BoardClock(), "Asia/Shanghai")[0] == expected
