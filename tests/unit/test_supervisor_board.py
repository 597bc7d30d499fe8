"""core.supervisor.BoardState: the board's one reducer (snapshot, patches, stale versions)."""

from __future__ import annotations

import datetime as dt

from core.supervisor import ALL_ROWS, AgentCommand, BoardState, time_in_state

NOW = dt.datetime(2026, 12, 1, 2, 0, 0)


def _presence(state: str, version: int, **kw) -> dict:
    return {"state": state, "reason": kw.get("reason"), "since": "2026-12-01T01:59:00.000Z",
            "last_seen": "2026-12-01T01:59:58.000Z", "version": version, "call": kw.get("call")}


def _snapshot() -> dict:
    return {"team_id": "t1", "team_name": "续保一组", "server_time": "2026-12-01T02:00:00.000Z",
            "timezone": "Asia/Shanghai", "date": "2026-12-01", "stale_after_s": 30,
            "agents": [{"agent_id": "a1", "username": "lina", "display_name": "李娜", "sip_user": "1002",
                        "presence": _presence("ready", 3),
                        "today": {"date": "2026-12-01", "calls_made": 4, "connected": 2, "talk_seconds": 300,
                                  "conversions": 0, "callbacks_due": 1},
                        "targets": {"calls_per_day": 30, "talk_minutes_per_day": 50, "conversions_per_month": 10},
                        "last_sync_at": None, "pending_command": None, "monitor": None}]}


def test_snapshot_then_patches_replace_only_the_fields_they_carry():
    b = BoardState()
    assert b.apply("snapshot", _snapshot(), NOW) == ALL_ROWS
    row = b.rows["a1"]
    assert row.presence.state == "ready" and row.today.calls_made == 4 and row.today.connect_rate == 0.5
    call = {"call_id": "c1", "lead_id": "l1", "started_at": "2026-12-01T02:00:00.000Z", "number_masked": "138****5678"}
    assert b.apply("agent", {"agent_id": "a1", "presence": _presence("on_call", 4, call=call)}) == {"a1"}
    row = b.rows["a1"]
    assert row.presence.call is not None and row.presence.call.number_masked == "138****5678"
    assert row.today.calls_made == 4  # untouched
    assert b.apply("agent", {"agent_id": "a1", "today": {**_snapshot()["agents"][0]["today"], "calls_made": 5},
                             "last_sync_at": "2026-12-01T02:00:05.000Z"}) == {"a1"}
    assert b.rows["a1"].today.calls_made == 5 and b.rows["a1"].last_sync_at == dt.datetime(2026, 12, 1, 2, 0, 5)
    assert time_in_state(b.rows["a1"].presence, NOW) == 60.0


def test_stale_or_repeated_presence_is_ignored_and_unknown_agents_too():
    b = BoardState()
    b.apply("snapshot", _snapshot(), NOW)
    assert b.apply("agent", {"agent_id": "a1", "presence": _presence("paused", 2, reason="用餐")}) == frozenset()
    assert b.apply("agent", {"agent_id": "a1", "presence": _presence("ready", 3)}) == frozenset()
    assert b.rows["a1"].presence.state == "ready"
    # Same version, different state: the offline sweep of a silent agent.
    assert b.apply("agent", {"agent_id": "a1", "presence": _presence("offline", 3)}) == {"a1"}
    assert b.apply("agent", {"agent_id": "zz", "presence": _presence("ready", 9)}) == frozenset()


def test_commands_monitor_messages_and_staleness():
    b = BoardState()
    b.apply("snapshot", _snapshot(), NOW)
    cmd = {"id": "k1", "agent_id": "a1", "team_id": "t1", "kind": "set_state", "state": "paused", "reason": "会议",
           "issued_by": "tl", "issued_by_name": "张伟", "issued_at": "2026-12-01T02:00:00.000Z",
           "expires_at": "2026-12-01T02:15:00.000Z", "status": "pending", "acked_at": None}
    b.apply("agent", {"agent_id": "a1", "pending_command": cmd})
    pc = b.rows["a1"].pending_command
    assert isinstance(pc, AgentCommand) and pc.open_at(NOW) and not pc.open_at(NOW + dt.timedelta(minutes=20))
    b.apply("agent", {"agent_id": "a1", "pending_command": None,
                      "monitor": {"session_id": "s1", "tl_id": "tl", "mode": "whisper", "call_id": "c1",
                                  "started_at": "2026-12-01T02:00:00.000Z"}})
    assert b.rows["a1"].pending_command is None and b.rows["a1"].monitor.mode == "whisper"
    b.apply("message", {"id": "m1", "team_id": "t1", "sender_id": "tl", "sender_name": "张伟", "to_agent_id": None,
                        "text": "开会", "sent_at": "2026-12-01T02:00:00.000Z"})
    assert [m.text for m in b.messages] == ["开会"]
    assert not b.is_stale(NOW + dt.timedelta(seconds=5))
    assert b.is_stale(NOW + dt.timedelta(seconds=60))
    b.disconnected()
    assert b.is_stale(NOW) and b.age_s(NOW + dt.timedelta(seconds=7)) == 7.0 and b.rows  # rows kept
