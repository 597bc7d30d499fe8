"""Presence heartbeat, the TL's SSE stream (a change shows within 2 s), monitor grants."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
from sqlalchemy import select

from core.grant_token import GrantVerifier, load_public_key
from server.models import MonitorAudit
from tests.server.helpers import hdr, make_team


def _presence(c, h, state, **kw):
    r = c.post("/api/v1/presence", headers=h, json={"state": state, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def test_heartbeat_and_team_snapshot(srv):
    t = make_team(srv, n_tsr=2, leads_each=0)
    with srv.client() as c:
        _presence(c, hdr(srv, t.tsrs[0]), "ready")
        _presence(c, hdr(srv, t.tsrs[0]), "ready")  # heartbeat: same state
        snap = c.get("/api/v1/presence", headers=hdr(srv, t.tl)).json()
        mine = c.get("/api/v1/presence", headers=hdr(srv, t.tsrs[1])).json()
    states = {a["username"]: a["state"] for a in snap}
    assert states == {t.tl: "offline", t.tsrs[0]: "ready", t.tsrs[1]: "offline"}
    assert [a["username"] for a in mine] == [t.tsrs[1]]


def _stream(srv, headers, out: queue.Queue, stop: threading.Event, seconds: float) -> None:
    try:
        _read_stream(srv, headers, out, stop, seconds)
    except httpx.HTTPError as exc:
        out.put(("error", repr(exc)))


def _read_stream(srv, headers, out: queue.Queue, stop: threading.Event, seconds: float) -> None:
    with httpx.Client(base_url=srv.url, timeout=httpx.Timeout(10, read=seconds + 5)) as c:
        with c.stream("GET", "/api/v1/presence/stream", headers=headers,
                      params={"max_seconds": seconds}) as r:
            out.put(("status", r.status_code))
            event = None
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "presence":
                    out.put(("presence", json.loads(line[6:]), time.monotonic()))


def test_stream_reflects_a_change_within_two_seconds(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    th = threading.Thread(target=_stream, args=(srv, hdr(srv, t.tl), q, stop, 5), daemon=True)
    th.start()
    assert q.get(timeout=10) == ("status", 200)
    # The snapshot arrives first: everyone offline.
    first = q.get(timeout=10)
    assert first[1]["state"] == "offline"
    with srv.client() as c:
        for state in ("ready", "on_call", "wrap_up"):
            t0 = time.monotonic()
            _presence(c, hdr(srv, agent), state, call_id="call-1" if state == "on_call" else None)
            while True:
                item = q.get(timeout=5)
                assert item[0] == "presence", item
                if item[1]["username"] == agent and item[1]["state"] == state:
                    break
            assert item[0] == "presence", item
            assert item[2] - t0 < 2.0, f"{state} took {item[2] - t0:.2f} s"
    stop.set()
    th.join(timeout=15)
    assert not th.is_alive()


def test_stream_is_for_team_leaders_only(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        r = c.get("/api/v1/presence/stream", headers=hdr(srv, t.tsrs[0]), params={"max_seconds": 1})
    assert r.status_code == 403


def test_monitor_grant_requires_own_team_and_on_call(srv):
    a, b = make_team(srv, n_tsr=1, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    agent = a.tsrs[0]
    with srv.client() as c:
        grant = {"agent_id": a.user_ids[agent], "mode": "listen"}
        r = c.post("/api/v1/monitor/grants", headers=hdr(srv, a.tl), json=grant)
        assert r.status_code == 409 and r.json()["code"] == "not_on_call"
        _presence(c, hdr(srv, agent), "on_call", call_id="call-9")
        # Another team's TL, the agent themselves, another agent: refused.
        r = c.post("/api/v1/monitor/grants", headers=hdr(srv, b.tl), json=grant)
        assert r.status_code == 403 and r.json()["code"] == "not_your_team"
        for who in (agent, b.tsrs[0]):
            assert c.post("/api/v1/monitor/grants", headers=hdr(srv, who), json=grant).status_code == 403
        r = c.post("/api/v1/monitor/grants", headers=hdr(srv, a.tl), json={**grant, "mode": "barge"})
        assert r.status_code == 200, r.text
        body = r.json()
        key = c.get("/api/v1/sync/pull", headers=hdr(srv, agent), params={"limit": 1}).json()["monitor_public_key"]
    assert body["agent_sip_user"] == a.sip[agent]
    g = GrantVerifier(load_public_key(key), expected_agent=a.sip[agent]).verify(body["token"])
    assert g.mode == "barge" and g.tl == a.user_ids[a.tl] and 0 < g.exp - g.iat <= 60
    with srv.admin() as s:
        audit = s.execute(select(MonitorAudit).where(MonitorAudit.jti == g.jti)).scalar_one()
        assert (audit.agent_id, audit.tl_id, audit.mode, audit.call_id) == (
            a.user_ids[agent], a.user_ids[a.tl], "barge", "call-9")


def test_agent_state_event_updates_presence(srv):
    from tests.server.helpers import event

    t = make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    with srv.client() as c:
        _presence(c, hdr(srv, agent), "ready")
        r = c.post("/api/v1/sync/push", headers=hdr(srv, agent),
                   json={"events": [event("agent_state_changed", None, {"state": "paused", "reason": "用餐"})]})
        assert r.json()["results"][0]["status"] == "accepted"
        snap = c.get("/api/v1/presence", headers=hdr(srv, agent)).json()
    assert snap[0]["state"] == "paused" and snap[0]["reason"] == "用餐"
