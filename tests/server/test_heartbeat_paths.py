"""The heartbeat's three paths (server/api/presence.py) and the board's one-agent numbers
(server/reports.py agent_stats_one), both backends, real server over HTTP.

- nothing changed and ``last_seen`` fresh: no write;
- nothing changed but ``last_seen`` older than 14 s: one conditional UPDATE refreshes it
  (same version: nothing for the boards);
- the agent was offline (no heartbeat for 30 s) and comes back in the same state: that is
  a change the boards must hear — version + 1, like any state change (the refresh UPDATE
  must not swallow it);
- the refresh UPDATE matches only the exact state it was decided on (another instance may
  have written a different one meanwhile);
- after pushes with calls the board's one-statement numbers equal the daily report's.
"""

from __future__ import annotations

import datetime as dt
import uuid

from tests.server.helpers import PASSWORD, event, hdr, make_team, now_iso


def _row(srv, user_id):
    from server.models import Presence

    with srv.admin() as s:
        row = s.get(Presence, user_id)
        return None if row is None else (row.state, row.version, row.last_seen, row.team_id)


def _age(srv, user_id, seconds: float) -> dt.datetime:
    """Move the agent's last_seen ``seconds`` into the past (as if heartbeats had been rarer)."""
    from sqlalchemy import update

    from server.models import Presence, utcnow

    then = utcnow() - dt.timedelta(seconds=seconds)
    with srv.admin() as s:
        s.execute(update(Presence).where(Presence.user_id == user_id).values(last_seen=then))
    return then


def test_refresh_stale_and_offline_paths(srv):
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    uid = team.user_ids[agent]
    h = hdr(srv, agent)
    with srv.client() as c:
        def beat(**body):
            r = c.post("/api/v1/presence", json={"state": "ready", **body}, headers=h)
            assert r.status_code == 200, r.text
            assert r.json()["state"] == body.get("state", "ready") and r.json()["server_time"].endswith("Z")

        beat()
        state, version, seen, team_id = _row(srv, uid)
        beat()
        assert _row(srv, uid) == (state, version, seen, team_id)  # fresh: nothing written

        old = _age(srv, uid, 20)  # > 14 s: the refresh
        beat()
        state2, version2, seen2, _ = _row(srv, uid)
        assert (state2, version2) == (state, version) and seen2 > old + dt.timedelta(seconds=19)

        _age(srv, uid, 45)  # > 30 s: the boards show the agent offline; the next beat brings them back
        beat()
        state3, version3, _seen3, _ = _row(srv, uid)
        assert (state3, version3) == ("ready", version + 1)


def test_refresh_statement_matches_only_the_state_it_was_decided_on(srv):
    from server import presence
    from server.models import utcnow

    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    uid = team.user_ids[agent]
    with srv.client() as c:
        assert c.post("/api/v1/presence", json={"state": "paused", "reason": "培训"},
                      headers=hdr(srv, agent)).status_code == 200
    now = utcnow()
    with srv.admin() as s:
        conn = s.connection()
        for state, reason in (("ready", None), ("paused", None), ("paused", "午休")):
            params = presence.touch_params(uid, team.id, state, reason, None, None, now)
            assert conn.execute(presence.TOUCH, params).rowcount == 0, (state, reason)
        params = presence.touch_params(uid, team.id, "paused", "培训", None, None, now)
        assert conn.execute(presence.TOUCH, params).rowcount == 1


def test_board_numbers_in_one_statement_equal_the_daily_report(srv):
    from server import reports
    from server.config import DEFAULT_TZ

    team = make_team(srv, n_tsr=2, leads_each=3)
    a, b = team.tsrs
    calls = [(a, "SALE", 90), (a, "NO_ANSWER", 0), (a, "CALLBACK", 40), (b, "REFUSED", 35)]
    with srv.client() as c:
        for k, (agent, code, talk) in enumerate(calls):
            lead = team.leads[agent][k % 3]
            cid = f"c{k}-{uuid.uuid4().hex}"  # unique: the session server is shared with other tests
            payload = {"call_id": cid, "code": code}
            if code == "CALLBACK":
                payload["callback_at"] = now_iso(-60)  # due already
            evs = [event("call_attempted", lead, {"call_id": cid, "direction": "out", "number_e164": "+8613800000000"}),
                   event("call_ended", lead, {"call_id": cid, "dialed_at": now_iso(-talk - 5), "ended_at": now_iso(),
                                              "answered_at": now_iso(-talk) if talk else None,
                                              "sip_status": 200 if talk else 480, "talk_seconds": talk}),
                   event("disposition_recorded", lead, payload)]
            r = c.post("/api/v1/sync/push", json={"events": evs}, headers=hdr(srv, agent))
            assert r.status_code == 200 and all(x["status"] == "accepted" for x in r.json()["results"]), r.text
    from server.board import today

    tz = DEFAULT_TZ  # the test server's business time zone (live.py sets none)
    start, end = reports.day_bounds_utc(today(tz), tz)
    ids = [team.user_ids[a], team.user_ids[b]]
    with srv.admin() as s:
        many = reports.agent_stats(s, ids, start, end)
        one = {uid: reports.agent_stats_one(s, uid, start, end) for uid in ids}
    assert one == many
    assert many[team.user_ids[a]]["calls_made"] == 3 and many[team.user_ids[a]]["callbacks_due"] == 1
    assert many[team.user_ids[a]]["talk_seconds"] == 130 and many[team.user_ids[b]]["connected"] == 1


def test_heartbeats_the_fast_path_does_not_take_get_the_routes_answers(srv):
    """server/api/presence.py HeartbeatFastPath answers only well-formed, authenticated
    heartbeats; everything else reaches the route, whose error answers the client knows."""
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    h = hdr(srv, agent)
    other_lead = make_team(srv, n_tsr=1, leads_each=1).leads
    with srv.client() as c:
        def post(**kw):
            return c.post("/api/v1/presence", **kw)

        r = post(json={"state": "ready"})
        assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")
        r = post(json={"state": "ready"}, headers={"Authorization": "Bearer nope"})
        assert (r.status_code, r.json()["code"]) == (401, "invalid_token")
        r = post(json={"state": "dancing"}, headers=h)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_request") and "state" in r.json()["detail"]
        r = post(json={"state": "ready", "reason": "a\x00b"}, headers=h)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_request")
        r = post(content=b'{"state": "ready"', headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request"
        lead = next(iter(other_lead.values()))[0]
        r = post(json={"state": "on_call", "call_id": "x1", "lead_id": lead}, headers=h)
        assert (r.status_code, r.json()["code"]) == (403, "not_your_lead")
        r = post(json={"state": "ready"}, headers=h)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["state"] == "ready" and "server-timing" in r.headers
        login = srv.login(agent, PASSWORD, fresh=True)
        fresh = {"Authorization": "Bearer " + login["access_token"]}
        assert c.post("/api/v1/auth/logout", json={"refresh_token": login["refresh_token"]},
                      headers=fresh).status_code in (200, 204)
        r = post(json={"state": "ready"}, headers=fresh)
        assert (r.status_code, r.json()["code"]) == (401, "revoked")


def test_an_oversized_chunked_heartbeat_gets_413(srv):
    """No Content-Length (chunked): the body limit counts while the fast path reads it."""
    from server.app import MAX_BODY

    team = make_team(srv, n_tsr=1, leads_each=1)

    def chunks():
        yield b'{"state": "ready", "reason": "'
        for _ in range(MAX_BODY // (1 << 20) + 1):
            yield b"x" * (1 << 20)
        yield b'"}'

    with srv.client() as c:
        r = c.post("/api/v1/presence", content=chunks(),
                   headers={**hdr(srv, team.tsrs[0]), "Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "too_large")
