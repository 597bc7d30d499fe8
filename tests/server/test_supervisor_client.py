"""sync.supervisor against the real server: the TL's calls, the board stream on its own
thread (reconnecting), an agent's feed, and core.supervisor.BoardState applying it all."""

from __future__ import annotations

import queue
import time

import pytest

from core.supervisor import BoardState, projected_finish
from core.timeutil import utcnow
from sync.client import ApiClient, MemoryVault, RequestRejected
from sync.supervisor import StreamEvent, SupervisorClient, agent_feed, board_stream, wait_until
from tests.server.helpers import PASSWORD, hdr, make_team


def _client(srv, username: str) -> ApiClient:
    api = ApiClient(srv.url, MemoryVault())
    api.login(username, PASSWORD)
    return api


@pytest.fixture
def team(srv):
    return make_team(srv, n_tsr=2, leads_each=1)


def test_tl_client_board_stream_floor_control_monitoring_and_audit(srv, team):
    tl_api, agent_api = _client(srv, team.tl), _client(srv, team.tsrs[0])
    agent_id = team.user_ids[team.tsrs[0]]
    sup, agent_side = SupervisorClient(tl_api), SupervisorClient(agent_api)
    board = BoardState()
    changed: queue.Queue = queue.Queue()

    def on_board(ev: StreamEvent) -> None:
        if ev.data is None:
            if ev.name == "disconnected":
                board.disconnected()
            return
        changed.put((board.apply(ev.name, ev.data, utcnow()), time.monotonic()))

    orders: queue.Queue = queue.Queue()
    stream = board_stream(tl_api, on_board).start()
    feed = agent_feed(agent_api, lambda ev: orders.put(ev)).start()
    try:
        assert wait_until(lambda: board.connected and agent_id in board.rows, 10)
        assert board.team_id == team.id and set(board.rows) == {team.user_ids[u] for u in team.tsrs}
        assert wait_until(lambda: feed.connects == 1, 10)
        # A state change on the agent's side reaches the TL's BoardState within a second.
        t0 = time.monotonic()
        agent_api.presence("on_call", call_id="cc-1", lead_id=team.leads[team.tsrs[0]][0])
        while True:
            ids, at = changed.get(timeout=3)
            if agent_id in ids and board.rows[agent_id].presence.state == "on_call":
                break
        assert at - t0 < 1.0
        row = board.rows[agent_id]
        assert row.presence.call and "****" in (row.presence.call.number_masked or "")
        assert not board.is_stale(utcnow())
        # One-off snapshot agrees.
        snap = sup.board()
        assert snap.rows[agent_id].presence.state == "on_call" and not snap.connected
        # Floor control: the order reaches the agent's feed; the ack clears it on the board.
        cmd = sup.force_pause(agent_id, "会议")
        assert cmd.status == "pending" and cmd.is_open
        ev = _next(orders, "command")
        assert ev.data["id"] == cmd.id
        assert wait_until(lambda: board.rows[agent_id].pending_command is not None, 2)
        done = agent_side.ack_command(cmd.id, "deferred", "on a call")
        assert done.status == "deferred"
        done = agent_side.ack_command(cmd.id, "applied")
        assert done.status == "applied" and not done.is_open
        assert wait_until(lambda: board.rows[agent_id].pending_command is None, 2)
        msg = sup.send_message("下午三点开会")
        assert msg.to_agent_id is None and _next(orders, "message").data["id"] == msg.id
        assert wait_until(lambda: any(m.id == msg.id for m in board.messages), 2)
        # Monitoring: grant → session → mode change (a fresh grant) → end.
        grant = sup.request_grant(agent_id, "listen")
        session = sup.start_monitor(grant.jti)
        assert wait_until(lambda: board.rows[agent_id].monitor is not None, 2)
        changed_mode = sup.change_monitor_mode(session.session_id, "whisper")
        assert changed_mode.mode == "whisper" and changed_mode.grant and changed_mode.grant.jti != grant.jti
        ended = sup.end_monitor(session.session_id, "tl_hangup")
        assert ended.ended_at and ended.end_reason == "tl_hangup"
        assert wait_until(lambda: board.rows[agent_id].monitor is None, 2)
        page = sup.audit(agent_id=agent_id)
        assert [e.action for e in page.items][:3] == ["monitor_end", "monitor_mode", "monitor_grant"]
        assert {e.action for e in sup.audit().items} >= {"force_state", "command_ack", "message", "monitor_start"}
        assert sup.audit(action="message").items[0].detail["text"] == "下午三点开会"
        with pytest.raises(RequestRejected) as err:
            sup.force_state(agent_id, "paused")  # no reason
        assert err.value.status == 422
    finally:
        stream.stop()
        feed.stop()
        tl_api.close()
        agent_api.close()
    assert not stream.running and not feed.running


def _next(q: queue.Queue, name: str, timeout: float = 3.0) -> StreamEvent:
    deadline = time.monotonic() + timeout
    while True:
        ev = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if ev.name == name:
            return ev


def test_stream_reconnects_with_a_fresh_snapshot(srv, team):
    api = _client(srv, team.tl)
    events: list[StreamEvent] = []
    # The server closes each connection after 1 s: the client comes back by itself.
    stream = board_stream(api, events.append, max_backoff_s=0.5)
    stream.params["max_seconds"] = 1
    stream.start()
    try:
        assert wait_until(lambda: [e.name for e in events].count("snapshot") >= 3, 15)
    finally:
        stream.stop()
        api.close()
    names = [e.name for e in events]
    assert names.count("snapshot") >= 3 and "disconnected" in names
    assert names.index("connected") < names.index("snapshot")


def test_a_tsr_cannot_open_the_board_and_the_stream_says_so(srv, team):
    api = _client(srv, team.tsrs[0])
    events: list[StreamEvent] = []
    stream = board_stream(api, events.append).start()
    try:
        assert wait_until(lambda: not stream.running, 10)
    finally:
        stream.stop()
    assert events[-1].name == "closed" and "403" in (events[-1].error or "")
    with pytest.raises(RequestRejected) as err:
        SupervisorClient(api).board()
    assert err.value.status == 403
    api.close()
    assert hdr(srv, team.tl)  # the TL is unaffected


def test_pace_hint():
    import datetime as dt

    start = dt.datetime(2026, 12, 1, 1, 20)  # 09:20 Shanghai in UTC
    now = start + dt.timedelta(hours=2)
    assert projected_finish(10, 30, start, now) == now + dt.timedelta(hours=4)
    assert projected_finish(0, 30, start, now) is None
    assert projected_finish(30, 30, start, now) == now
