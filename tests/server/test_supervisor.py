"""Supervisor mode on the server (issue 11): the pushed live board, floor control,
messages, monitor sessions and their audit, the 403 matrix; real server over HTTP,
on SQLite and on PostgreSQL (several processes too)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from core.phone import mask
from server.models import Presence
from tests.server.helpers import event, hdr, make_team, now_iso
from tests.server.live import start_server
from tests.server.sse import SseReader, agent_patch

BOARD = "/api/v1/supervisor/board"
STREAM = "/api/v1/supervisor/board/stream"
AGENT_STREAM = "/api/v1/agent/stream"
AUDIT = "/api/v1/supervisor/audit"
LATENCY_S = 1.0


def _presence(c, h, state, **kw):
    r = c.post("/api/v1/presence", headers=h, json={"state": state, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def _board(srv, t, *, seconds: float = 20) -> SseReader:
    reader = SseReader(srv.url, STREAM, hdr(srv, t.tl), seconds=seconds).start()
    assert reader.status == 200
    reader.wait_for(lambda e: e.name == "snapshot")
    return reader


def _row(board: dict, agent_id: str) -> dict:
    return next(a for a in board["agents"] if a["agent_id"] == agent_id)


def _push(c, h, events):
    r = c.post("/api/v1/sync/push", headers=h, json={"events": events})
    assert r.status_code == 200, r.text
    assert all(x["status"] == "accepted" for x in r.json()["results"]), r.json()
    return r.json()


def _call_events(lead_id: str, talk: int, code: str | None):
    call_id = uuid.uuid4().hex
    evs = [event("call_ended", lead_id, {"call_id": call_id, "dialed_at": now_iso(-talk - 10),
                                          "answered_at": now_iso(-talk) if talk else None,
                                          "ended_at": now_iso(-1), "sip_status": 200 if talk else 480,
                                          "talk_seconds": talk})]
    if code:
        evs.append(event("disposition_recorded", lead_id, {"call_id": call_id, "code": code}))
    return evs


def _full_numbers(text: str) -> list[str]:
    # Bounded by non-alphanumerics so a run of digits inside a hex UUID is not read as a number.
    return re.findall(r"(?<![0-9A-Za-z])(?:\+?86)?1[3-9]\d{9}(?![0-9A-Za-z])", text)


# -- the board -----------------------------------------------------------------------------

def test_board_snapshot_has_state_call_numbers_targets_and_masks_the_number(srv):
    t = make_team(srv, n_tsr=2, leads_each=2)
    a, b = t.tsrs
    lead = t.leads[a][0]
    with srv.client() as c:
        _push(c, hdr(srv, a), _call_events(lead, 95, "SALE") + _call_events(lead, 0, None))
        _presence(c, hdr(srv, a), "on_call", call_id="call-live", lead_id=lead)
        _presence(c, hdr(srv, b), "paused", reason="用餐")
        r = c.get(BOARD, headers=hdr(srv, t.tl))
        assert r.status_code == 200, r.text
        phone = c.get("/api/v1/sync/pull", headers=hdr(srv, a), params={"limit": 5000}).json()
    board = r.json()
    assert board["team_id"] == t.id and board["timezone"] == "Asia/Shanghai"
    assert [x["username"] for x in board["agents"]] == sorted(t.tsrs)  # agents only, not the TL
    ra, rb = _row(board, t.user_ids[a]), _row(board, t.user_ids[b])
    assert ra["presence"]["state"] == "on_call"
    call = ra["presence"]["call"]
    number = next(ch["data"]["phones"][0]["number"] for ch in phone["changes"]
                  if ch["entity"] == "lead" and ch["id"] == lead)
    assert call["call_id"] == "call-live" and call["lead_id"] == lead
    assert call["number_masked"] == mask(number) and "****" in call["number_masked"]
    assert call["started_at"] == ra["presence"]["since"]
    assert ra["today"]["calls_made"] == 2 and ra["today"]["connected"] == 1
    assert ra["today"]["talk_seconds"] == 95 and ra["today"]["conversions"] == 1
    assert ra["targets"] == {"calls_per_day": 30, "talk_minutes_per_day": 50, "conversions_per_month": 10}
    assert ra["last_sync_at"] is not None
    assert rb["presence"] == {**rb["presence"], "state": "paused", "reason": "用餐", "call": None}
    assert rb["today"]["calls_made"] == 0 and rb["last_sync_at"] is None
    assert number not in r.text and not _full_numbers(r.text), "a full number reached the TL's board"


def test_a_state_change_reaches_the_board_stream_within_a_second(srv):
    t = make_team(srv, n_tsr=2, leads_each=1)
    agent = t.tsrs[0]
    aid = t.user_ids[agent]
    board = _board(srv, t)
    try:
        with srv.client() as c:
            for state, kw in [("ready", {}), ("on_call", {"call_id": "c-1", "number_e164": "+8613812345678"}),
                              ("wrap_up", {"call_id": "c-1"}), ("paused", {"reason": "休息"}), ("ready", {})]:
                t0 = time.monotonic()
                _presence(c, hdr(srv, agent), state, **kw)
                ev = board.wait_for(agent_patch(aid, presence_state=state), timeout=3)
                took = ev.at - t0
                assert took < LATENCY_S, f"{state} reached the board after {took:.3f} s"
                if state == "on_call":
                    assert ev.data["presence"]["call"]["number_masked"] == "138****5678"
                if state == "paused":
                    assert ev.data["presence"]["reason"] == "休息"
            # A heartbeat repeating the state publishes nothing.
            _presence(c, hdr(srv, agent), "ready")
            time.sleep(0.5)
            assert not [e for e in board.drain() if agent_patch(aid, presence_state="ready")(e)]
    finally:
        board.stop()


def test_calls_pushed_update_todays_numbers_on_the_board(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    agent = t.tsrs[0]
    aid = t.user_ids[agent]
    board = _board(srv, t)
    try:
        with srv.client() as c:
            t0 = time.monotonic()
            _push(c, hdr(srv, agent), _call_events(t.leads[agent][0], 61, "SALE"))
        ev = board.wait_for(agent_patch(aid, today=...), timeout=3)
        assert ev.at - t0 < LATENCY_S
        today = ev.data["today"]
        assert (today["calls_made"], today["connected"], today["talk_seconds"], today["conversions"]) == (1, 1, 61, 1)
        assert ev.data["last_sync_at"]
        # A pull notes the sync too (at most once a minute): the agent has synced by push already.
        with srv.client() as c:
            report = c.get("/api/v1/reports/daily", headers=hdr(srv, t.tl)).json()
        mine = next(x for x in report["agents"] if x["agent_id"] == aid)
        assert mine["calls_made"] == today["calls_made"] and mine["talk_seconds"] == today["talk_seconds"]
    finally:
        board.stop()


def test_a_first_pull_is_noted_as_the_last_sync(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    aid = t.user_ids[t.tsrs[0]]
    board = _board(srv, t)
    try:
        with srv.client() as c:
            assert c.get("/api/v1/sync/pull", headers=hdr(srv, t.tsrs[0])).status_code == 200
        board.wait_for(agent_patch(aid, last_sync_at=...), timeout=3)
    finally:
        board.stop()


def test_an_agent_whose_heartbeats_stop_turns_offline_on_the_board(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    aid = t.user_ids[agent]
    with srv.client() as c:
        _presence(c, hdr(srv, agent), "ready")
    board = _board(srv, t)
    try:
        # As if the last heartbeat came 40 s ago (the sweep looks once a second).
        with srv.admin() as s:
            s.get(Presence, aid).last_seen -= dt.timedelta(seconds=40)
        ev = board.wait_for(agent_patch(aid, presence_state="offline"), timeout=4)
        assert ev.data["presence"]["call"] is None
        with srv.client() as c:
            _presence(c, hdr(srv, agent), "ready")  # back: a new version, on the board at once
        board.wait_for(agent_patch(aid, presence_state="ready"), timeout=2)
    finally:
        board.stop()


def test_ten_open_boards_cost_no_database_queries_per_board(srv):
    """The stream path has no DB access: with 10 boards open the server sends the same
    number of queries per second as with one (the old stream: 2 per board per second)."""
    t = make_team(srv, n_tsr=2, leads_each=0)
    admin = srv.headers("admin", "admin-demo-2026")

    def queries_over(seconds: float) -> int:
        with srv.client() as c:
            q0 = c.get("/api/v1/admin/diagnostics", headers=admin).json()["db_queries"]
            time.sleep(seconds)
            return c.get("/api/v1/admin/diagnostics", headers=admin).json()["db_queries"] - q0

    boards = [_board(srv, t, seconds=40)]
    try:
        time.sleep(1.0)
        one = queries_over(3.0)
        boards += [_board(srv, t, seconds=40) for _ in range(9)]
        time.sleep(1.0)
        ten = queries_over(3.0)
        assert ten - one <= 3, f"1 board: {one} queries in 3 s, 10 boards: {ten}"
        assert ten <= 10, f"10 boards sent {ten} queries in 3 s (a polled board: 6 per board)"
        # …and every one of them still gets a change.
        with srv.client() as c:
            _presence(c, hdr(srv, t.tsrs[0]), "paused", reason="会议")
        for b in boards:
            b.wait_for(agent_patch(t.user_ids[t.tsrs[0]], presence_state="paused"), timeout=LATENCY_S)
    finally:
        for b in boards:
            b.stop()


def test_legacy_presence_stream_still_works_on_the_broadcast(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    r = SseReader(srv.url, "/api/v1/presence/stream", hdr(srv, t.tl), seconds=10).start()
    try:
        assert r.status == 200
        r.wait_for(lambda e: e.name == "presence" and e.data["username"] == agent and e.data["state"] == "offline")
        with srv.client() as c:
            t0 = time.monotonic()
            _presence(c, hdr(srv, agent), "on_call", call_id="legacy-1")
        ev = r.wait_for(lambda e: e.name == "presence" and e.data["username"] == agent, timeout=3)
        assert ev.data["state"] == "on_call" and ev.data["call_id"] == "legacy-1" and ev.at - t0 < LATENCY_S
    finally:
        r.stop()


# -- the 403 matrix ---------------------------------------------------------------------------

def _supervisor_calls(x, y, c, srv):
    """(name, callable(headers) -> status) for every supervisor endpoint, aimed at team x."""
    agent = x.user_ids[x.tsrs[0]]

    def stream(h, params=None):
        r = SseReader(srv.url, STREAM, h, params=params, seconds=1).start()
        r.stop()
        return r.status

    return [
        ("board", lambda h: c.get(BOARD, headers=h, params={"team_id": x.id}).status_code),
        ("board (own team implied)", lambda h: c.get(BOARD, headers=h).status_code),
        ("board stream", lambda h: stream(h, {"team_id": x.id})),
        ("audit", lambda h: c.get(AUDIT, headers=h, params={"team_id": x.id}).status_code),
        ("force pause", lambda h: c.post(f"/api/v1/supervisor/agents/{agent}/state", headers=h,
                                         json={"state": "paused", "reason": "会议"}).status_code),
        ("force ready", lambda h: c.post(f"/api/v1/supervisor/agents/{agent}/state", headers=h,
                                         json={"state": "ready"}).status_code),
        ("message to agent", lambda h: c.post("/api/v1/supervisor/messages", headers=h,
                                              json={"text": "hi", "agent_id": agent}).status_code),
        ("message to team", lambda h: c.post("/api/v1/supervisor/messages", headers=h,
                                             json={"text": "hi", "team_id": x.id}).status_code),
        ("grant", lambda h: c.post("/api/v1/monitor/grants", headers=h,
                                   json={"agent_id": agent, "mode": "listen"}).status_code),
    ]


def test_tsr_tokens_and_other_teams_tls_are_refused_everywhere(srv):
    x, y = make_team(srv, n_tsr=2, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        _presence(c, hdr(srv, x.tsrs[0]), "on_call", call_id="m-1")  # so a grant is otherwise possible
        calls = _supervisor_calls(x, y, c, srv)
        for name, call in calls:
            # A TSR of the team itself, a TSR of another team.
            for who in (x.tsrs[1], y.tsrs[0]):
                assert call(hdr(srv, who)) == 403, (name, who)
            # The other team's TL (the implied-team board is their own team: allowed).
            if name != "board (own team implied)":
                assert call(hdr(srv, y.tl)) == 403, (name, "other TL")
        # The team's own TL may do all of it.
        for name, call in calls:
            assert call(hdr(srv, x.tl)) in (200, 201, 202), name
        # An admin names the team; without one: 400.
        admin = srv.headers("admin", "admin-demo-2026")
        assert c.get(BOARD, headers=admin, params={"team_id": x.id}).status_code == 200
        assert c.get(BOARD, headers=admin).status_code == 400


def test_monitor_sessions_are_scoped_to_their_tl(srv):
    x, y = make_team(srv, n_tsr=1, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    agent = x.tsrs[0]
    with srv.client() as c:
        _presence(c, hdr(srv, agent), "on_call", call_id="m-2")
        g = c.post("/api/v1/monitor/grants", headers=hdr(srv, x.tl),
                   json={"agent_id": x.user_ids[agent], "mode": "listen"}).json()
        for who in (agent, y.tsrs[0]):
            assert c.post("/api/v1/monitor/sessions", headers=hdr(srv, who), json={"jti": g["jti"]}).status_code == 403
        assert c.post("/api/v1/monitor/sessions", headers=hdr(srv, y.tl), json={"jti": g["jti"]}).status_code == 404
        sid = c.post("/api/v1/monitor/sessions", headers=hdr(srv, x.tl), json={"jti": g["jti"]}).json()["session_id"]
        for path, body in ((f"/api/v1/monitor/sessions/{sid}/mode", {"mode": "barge"}),
                           (f"/api/v1/monitor/sessions/{sid}/end", {})):
            assert c.post(path, headers=hdr(srv, y.tl), json=body).status_code == 404
            assert c.post(path, headers=hdr(srv, agent), json=body).status_code == 403


# -- floor control and messages ------------------------------------------------------------------

def _pull_entities(c, h, entity):
    body = c.get("/api/v1/sync/pull", headers=h, params={"limit": 5000}).json()
    return {ch["id"]: ch["data"] for ch in body["changes"] if ch["entity"] == entity}


def test_forced_pause_reaches_the_agent_by_stream_and_pull_and_is_audited(srv):
    t = make_team(srv, n_tsr=2, leads_each=0)
    agent, other = t.tsrs
    aid = t.user_ids[agent]
    feed = SseReader(srv.url, AGENT_STREAM, hdr(srv, agent), seconds=20).start()
    board = _board(srv, t)
    try:
        feed.wait_for(lambda e: e.name == "hello")
        with srv.client() as c:
            t0 = time.monotonic()
            r = c.post(f"/api/v1/supervisor/agents/{aid}/state", headers=hdr(srv, t.tl),
                       json={"state": "paused", "reason": "会议"})
            assert r.status_code == 202, r.text
            cmd = r.json()
            assert (cmd["state"], cmd["reason"], cmd["status"], cmd["kind"]) == ("paused", "会议", "pending", "set_state")
            ev = feed.wait_for(lambda e: e.name == "command", timeout=3)
            assert ev.at - t0 < LATENCY_S and ev.data["id"] == cmd["id"]
            board.wait_for(agent_patch(aid, pending_command=...), timeout=2)
            pulled = _pull_entities(c, hdr(srv, agent), "agent_command")
            assert pulled[cmd["id"]]["status"] == "pending" and pulled[cmd["id"]]["state"] == "paused"
            assert cmd["id"] not in _pull_entities(c, hdr(srv, other), "agent_command")
            # The agent's app carries it out and says so; the board's pending order goes.
            ack = c.post(f"/api/v1/agent/commands/{cmd['id']}/ack", headers=hdr(srv, agent),
                         json={"result": "applied"})
            assert ack.status_code == 200 and ack.json()["status"] == "applied"
            _presence(c, hdr(srv, agent), "paused", reason="会议")
            board.wait_for(agent_patch(aid, pending_command=None), timeout=2)
            assert c.post(f"/api/v1/agent/commands/{cmd['id']}/ack", headers=hdr(srv, other),
                          json={"result": "applied"}).status_code == 404
            assert _pull_entities(c, hdr(srv, agent), "agent_command")[cmd["id"]]["status"] == "applied"
            # Back to 就绪: a new order; an unacknowledged one is superseded by the next.
            first = c.post(f"/api/v1/supervisor/agents/{aid}/state", headers=hdr(srv, t.tl),
                           json={"state": "ready"}).json()
            second = c.post(f"/api/v1/supervisor/agents/{aid}/state", headers=hdr(srv, t.tl),
                            json={"state": "paused", "reason": "培训"}).json()
            pulled = _pull_entities(c, hdr(srv, agent), "agent_command")
            assert pulled[first["id"]]["status"] == "superseded" and pulled[second["id"]]["status"] == "pending"
            assert c.post(f"/api/v1/supervisor/agents/{aid}/state", headers=hdr(srv, t.tl),
                          json={"state": "paused"}).status_code == 422  # a pause needs a reason
            audit = c.get(AUDIT, headers=hdr(srv, t.tl), params={"agent_id": aid}).json()["items"]
    finally:
        feed.stop()
        board.stop()
    actions = [(a["action"], a["detail"].get("state"), a["detail"].get("result")) for a in audit]
    assert actions == [("force_state", "paused", None), ("force_state", "ready", None),
                       ("command_ack", "paused", "applied"), ("force_state", "paused", None)]
    assert all(a["actor_username"] == t.tl for a in audit if a["action"] == "force_state")
    assert audit[-1]["agent_username"] == agent and audit[-1]["at"]


def test_messages_reach_one_agent_or_the_whole_team_and_are_audited(srv):
    t, other_team = make_team(srv, n_tsr=2, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    a, b = t.tsrs
    feed_a = SseReader(srv.url, AGENT_STREAM, hdr(srv, a), seconds=20).start()
    feed_b = SseReader(srv.url, AGENT_STREAM, hdr(srv, b), seconds=20).start()
    try:
        for f in (feed_a, feed_b):
            f.wait_for(lambda e: e.name == "hello")
        with srv.client() as c:
            t0 = time.monotonic()
            to_a = c.post("/api/v1/supervisor/messages", headers=hdr(srv, t.tl),
                          json={"text": "李娜，下一通注意开场白", "agent_id": t.user_ids[a]})
            assert to_a.status_code == 201, to_a.text
            ev = feed_a.wait_for(lambda e: e.name == "message", timeout=3)
            assert ev.at - t0 < LATENCY_S and ev.data["text"] == "李娜，下一通注意开场白"
            to_all = c.post("/api/v1/supervisor/messages", headers=hdr(srv, t.tl), json={"text": "10 点开会"}).json()
            assert to_all["to_agent_id"] is None
            for f in (feed_a, feed_b):
                f.wait_for(lambda e: e.name == "message" and e.data["id"] == to_all["id"], timeout=LATENCY_S)
            assert not [e for e in feed_b.drain() if e.name == "message" and e.data["id"] == to_a.json()["id"]]
            assert set(_pull_entities(c, hdr(srv, a), "team_message")) == {to_a.json()["id"], to_all["id"]}
            assert set(_pull_entities(c, hdr(srv, b), "team_message")) == {to_all["id"]}
            assert not _pull_entities(c, hdr(srv, other_team.tsrs[0]), "team_message").keys() & {to_all["id"]}
            assert set(_pull_entities(c, hdr(srv, t.tl), "team_message")) == {to_a.json()["id"], to_all["id"]}
            audit = c.get(AUDIT, headers=hdr(srv, t.tl), params={"action": "message"}).json()["items"]
    finally:
        feed_a.stop()
        feed_b.stop()
    assert [(x["agent_username"], x["detail"]["to"], x["detail"]["text"]) for x in audit] == [
        (None, "team", "10 点开会"), (a, "agent", "李娜，下一通注意开场白")]


def test_monitor_session_start_mode_change_end_are_audited_and_on_the_board(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    aid = t.user_ids[agent]
    board = _board(srv, t)
    try:
        with srv.client() as c:
            _presence(c, hdr(srv, agent), "on_call", call_id="call-77")
            g = c.post("/api/v1/monitor/grants", headers=hdr(srv, t.tl), json={"agent_id": aid, "mode": "listen"})
            assert g.status_code == 200, g.text
            jti = g.json()["jti"]
            start = c.post("/api/v1/monitor/sessions", headers=hdr(srv, t.tl), json={"jti": jti})
            assert start.status_code == 201, start.text
            sid = start.json()["session_id"]
            assert c.post("/api/v1/monitor/sessions", headers=hdr(srv, t.tl), json={"jti": jti}).status_code == 409
            ev = board.wait_for(agent_patch(aid, monitor=...), timeout=2)
            assert ev.data["monitor"]["mode"] == "listen" and ev.data["monitor"]["call_id"] == "call-77"
            for mode in ("whisper", "barge", "listen"):
                r = c.post(f"/api/v1/monitor/sessions/{sid}/mode", headers=hdr(srv, t.tl), json={"mode": mode})
                assert r.status_code == 200 and r.json()["mode"] == mode and r.json()["grant"]["token"]
                board.wait_for(lambda e, m=mode: agent_patch(aid, monitor=...)(e) and e.data["monitor"]["mode"] == m,
                               timeout=2)
            time.sleep(1.1)
            end = c.post(f"/api/v1/monitor/sessions/{sid}/end", headers=hdr(srv, t.tl), json={"reason": "tl_hangup"})
            assert end.status_code == 200 and end.json()["ended_at"] and end.json()["duration_s"] >= 1
            board.wait_for(agent_patch(aid, monitor=None), timeout=2)
            again = c.post(f"/api/v1/monitor/sessions/{sid}/end", headers=hdr(srv, t.tl), json={})
            assert again.json()["end_reason"] == "tl_hangup"  # idempotent
            # A second session ends by itself when the agent's call ends.
            jti2 = c.post("/api/v1/monitor/grants", headers=hdr(srv, t.tl),
                          json={"agent_id": aid, "mode": "barge"}).json()["jti"]
            sid2 = c.post("/api/v1/monitor/sessions", headers=hdr(srv, t.tl), json={"jti": jti2}).json()["session_id"]
            _presence(c, hdr(srv, agent), "wrap_up", call_id="call-77")
            items = c.get(AUDIT, headers=hdr(srv, t.tl), params={"agent_id": aid}).json()["items"]
    finally:
        board.stop()
    items.reverse()
    mine = [(i["action"], i["mode"], i["session_id"]) for i in items if i["action"] != "monitor_grant"]
    assert mine == [("monitor_start", "listen", sid), ("monitor_mode", "whisper", sid), ("monitor_mode", "barge", sid),
                    ("monitor_mode", "listen", sid), ("monitor_end", "listen", sid),
                    ("monitor_start", "barge", sid2), ("monitor_end", "barge", sid2)]
    ends = [i for i in items if i["action"] == "monitor_end"]
    assert ends[0]["duration_s"] >= 1 and ends[0]["detail"]["reason"] == "tl_hangup"
    assert ends[1]["detail"]["reason"] == "call_ended"
    assert all(i["call_id"] == "call-77" and i["actor_username"] == t.tl for i in items)
    assert next(i["detail"] for i in items if i["action"] == "monitor_mode") == {"from": "listen", "to": "whisper"}
    assert sum(i["action"] == "monitor_grant" for i in items) == 2 + 3  # two grants, three mode changes


def test_audit_list_pages_and_filters(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        for i in range(5):
            assert c.post("/api/v1/supervisor/messages", headers=hdr(srv, t.tl), json={"text": f"m{i}"}).status_code == 201
        first = c.get(AUDIT, headers=hdr(srv, t.tl), params={"limit": 2}).json()
        second = c.get(AUDIT, headers=hdr(srv, t.tl), params={"limit": 2, "before": first["next_before"]}).json()
        rest = c.get(AUDIT, headers=hdr(srv, t.tl), params={"limit": 2, "before": second["next_before"]}).json()
        future = c.get(AUDIT, headers=hdr(srv, t.tl), params={"since": now_iso(3600)}).json()
    texts = [x["detail"]["text"] for page in (first, second, rest) for x in page["items"]]
    assert texts == ["m4", "m3", "m2", "m1", "m0"] and rest["next_before"] is None
    assert future["items"] == []


# -- several server processes -------------------------------------------------------------------

def test_postgresql_two_server_processes_share_the_floor(pg_cluster):
    """LISTEN/NOTIFY: a change posted to one process reaches a board on the other."""
    tmp = Path(tempfile.mkdtemp(prefix="seatmate-2proc-"))
    url = pg_cluster.create_database()
    one = start_server(url, tmp / "one")
    two = start_server(url, tmp / "two", demo=False)
    try:
        t = make_team(one, n_tsr=2, leads_each=0)
        a, b = t.tsrs
        board_two = _board(two, t)
        board_one = _board(one, t)
        feed_two = SseReader(two.url, AGENT_STREAM, hdr(two, b), seconds=20).start()
        feed_two.wait_for(lambda e: e.name == "hello")
        try:
            for server, other, state in ((one, board_two, "ready"), (two, board_one, "paused"), (one, board_two, "on_call")):
                with server.client() as c:
                    t0 = time.monotonic()
                    _presence(c, hdr(server, a), state, **({"reason": "休息"} if state == "paused" else {}))
                ev = other.wait_for(agent_patch(t.user_ids[a], presence_state=state), timeout=3)
                assert ev.at - t0 < LATENCY_S, f"{state}: {ev.at - t0:.3f} s across processes"
            with one.client() as c:
                t0 = time.monotonic()
                r = c.post(f"/api/v1/supervisor/agents/{t.user_ids[b]}/state", headers=hdr(one, t.tl),
                           json={"state": "paused", "reason": "会议"})
                assert r.status_code == 202
            assert feed_two.wait_for(lambda e: e.name == "command", timeout=3).at - t0 < LATENCY_S
            with two.client() as c:
                diag = c.get("/api/v1/admin/diagnostics", headers=two.headers("admin", "admin-demo-2026")).json()
            assert diag["floor"]["kind"] == "postgresql" and diag["floor"]["notifications"] >= 4
        finally:
            for r in (board_one, board_two, feed_two):
                r.stop()
    finally:
        two.stop()
        one.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_sqlite_server_with_two_workers_shares_the_floor(tmp_path):
    """Several worker processes on one SQLite file: the floor_feed table carries the messages."""
    srv = start_server(f"sqlite:///{tmp_path / 's.sqlite3'}", tmp_path / "data", workers=2)
    try:
        t = make_team(srv, n_tsr=2, leads_each=0)
        boards = [_board(srv, t) for _ in range(6)]  # spread over both workers by the kernel
        try:
            for agent, state in ((t.tsrs[0], "ready"), (t.tsrs[1], "paused"), (t.tsrs[0], "on_call")):
                with srv.client() as c:  # a new connection each time: either worker
                    t0 = time.monotonic()
                    _presence(c, hdr(srv, agent), state, **({"reason": "休息"} if state == "paused" else {}))
                for b in boards:
                    ev = b.wait_for(agent_patch(t.user_ids[agent], presence_state=state), timeout=3)
                    assert ev.at - t0 < LATENCY_S
        finally:
            for b in boards:
                b.stop()
    finally:
        srv.stop()


@pytest.mark.parametrize("text", ["", "   ", "x" * 501])
def test_bad_messages_are_refused(srv, text):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        assert c.post("/api/v1/supervisor/messages", headers=hdr(srv, t.tl), json={"text": text}).status_code == 422


def test_simulate_floor_brings_the_demo_board_to_life(srv, tmp_path):
    """``seatmate-server simulate-floor``: the demo TL sees the simulated agents work."""
    import subprocess
    import sys

    from tests.server.live import ROOT

    board = SseReader(srv.url, STREAM, srv.headers("zhangwei"), seconds=60).start()
    try:
        snap = board.wait_for(lambda e: e.name == "snapshot").data
        sims = {a["agent_id"]: a["username"] for a in snap["agents"] if a["username"] in ("chenjing", "zhaolei")}
        assert len(sims) == 2  # the demo has them
        r = subprocess.run([sys.executable, "-m", "server.cli", "simulate-floor", "--db", srv.db_url,
                            "--data-dir", str(tmp_path), "--url", srv.url, "--agents", "2", "--speed", "10",
                            "--duration", "8", "--seed", "7"],
                           capture_output=True, text=True, timeout=90, cwd=ROOT, check=False)
        assert r.returncode == 0, r.stderr[-3000:]
        states = {(e.data["agent_id"], e.data["presence"]["state"]) for e in board.drain()
                  if e.name == "agent" and e.data.get("agent_id") in sims and "presence" in e.data}
    finally:
        board.stop()
    for agent_id in sims:
        assert {(agent_id, "ready"), (agent_id, "offline")} <= states, states
    assert any(s == "on_call" for _, s in states), states
    assert "calls" in r.stdout
