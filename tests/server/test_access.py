"""Access control: every cross-agent and cross-team read and write is refused."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.server.helpers import event, hdr, make_team, now_iso, pull_all

LEAD_WRITES = [
    ("disposition_recorded", {"code": "SALE"}),
    ("callback_scheduled", {"callback_id": "cb1", "due_at": now_iso(3600)}),
    ("note_added", {"text": "偷看"}),
    ("call_attempted", {"call_id": "x1", "number_e164": "+8613900000000"}),
    ("call_ended", {"call_id": "x2", "dialed_at": now_iso(-60), "ended_at": now_iso(), "talk_seconds": 3}),
]


@pytest.fixture(scope="module")
def teams(live_server):
    return make_team(live_server, n_tsr=2, leads_each=2), make_team(live_server, n_tsr=1, leads_each=2)


def _results(c, h, events):
    r = c.post("/api/v1/sync/push", headers=h, json={"events": events})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_reads_are_scoped(srv, teams):
    x, y = teams
    a, b = x.tsrs
    all_y = {i for ids in y.leads.values() for i in ids}
    with srv.client() as c:
        for who, expected in [(a, set(x.leads[a])), (b, set(x.leads[b])), (y.tsrs[0], set(y.leads[y.tsrs[0]])),
                              (x.tl, set(x.leads[a]) | set(x.leads[b])), (y.tl, all_y)]:
            seen, _ = pull_all(c, hdr(srv, who))
            leads = {i for e, i in seen if e == "lead"}
            assert leads == expected, who
            assert {e for e, _ in seen} <= {"campaign", "script", "disposition_code", "lead", "dnc", "target",
                                            "setting", "coaching_form"}
        # Presence snapshots.
        assert {p["username"] for p in c.get("/api/v1/presence", headers=hdr(srv, a)).json()} == {a}
        assert {p["username"] for p in c.get("/api/v1/presence", headers=hdr(srv, x.tl)).json()} == {x.tl, a, b}


@pytest.mark.parametrize("etype,payload", LEAD_WRITES, ids=[t for t, _ in LEAD_WRITES])
def test_lead_writes_to_other_agents_and_teams_are_rejected(srv, teams, etype, payload):
    x, y = teams
    a, b = x.tsrs
    targets = [(a, x.leads[b][0]), (a, y.leads[y.tsrs[0]][0]), (y.tsrs[0], x.leads[a][0]),
               (x.tl, y.leads[y.tsrs[0]][0]), (y.tl, x.leads[b][0])]
    with srv.client() as c:
        for who, lead in targets:
            res = _results(c, hdr(srv, who), [event(etype, lead, payload)])[0]
            assert res["status"] == "rejected" and res["code"] == "not_your_lead", (who, lead, res)


def test_own_and_team_writes_are_accepted(srv, teams):
    x, _ = teams
    a, _b = x.tsrs
    with srv.client() as c:
        assert _results(c, hdr(srv, a), [event("note_added", x.leads[a][1], {"text": "mine"})])[0]["status"] == "accepted"
        assert _results(c, hdr(srv, x.tl), [event("note_added", x.leads[a][1], {"text": "TL"})])[0]["status"] == "accepted"


def test_coaching_scores_only_by_own_team_leader(srv, teams):
    x, y = teams
    a = x.tsrs[0]
    score = {"agent_id": x.user_ids[a], "answers": {"greeted": "Y", "closed": "NA"}}
    with srv.client() as c:
        assert _results(c, hdr(srv, x.tsrs[1]), [event("coaching_score", None, score)])[0]["code"] == "forbidden"
        assert _results(c, hdr(srv, y.tl), [event("coaching_score", None, score)])[0]["code"] == "forbidden"
        assert _results(c, hdr(srv, x.tl), [event("coaching_score", None, score)])[0]["status"] == "accepted"


def test_call_of_another_agent_cannot_be_overwritten(srv, teams):
    x, _ = teams
    a, b = x.tsrs
    ended = {"call_id": f"own-{x.id}", "dialed_at": now_iso(-60), "ended_at": now_iso(), "talk_seconds": 9}
    with srv.client() as c:
        assert _results(c, hdr(srv, a), [event("call_ended", None, ended)])[0]["status"] == "accepted"
        res = _results(c, hdr(srv, b), [event("call_ended", None, ended | {"talk_seconds": 999})])[0]
        assert res["code"] == "forbidden"
        # Nor can its recording be uploaded by someone else.
        r = c.patch(f"/api/v1/recordings/own-{x.id}", headers=hdr(srv, b) | {"Upload-Offset": "0"}, content=b"x")
        assert r.status_code == 403


def test_stream_shows_only_own_team(srv, teams):
    x, y = teams
    with srv.client() as c:
        c.post("/api/v1/presence", headers=hdr(srv, y.tsrs[0]), json={"state": "ready"})
    names = set()
    with httpx.Client(base_url=srv.url, timeout=10) as c, c.stream(
            "GET", "/api/v1/presence/stream", headers=hdr(srv, x.tl), params={"max_seconds": 1.5}) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                names.add(json.loads(line[6:])["username"])
    assert names == {x.tl, *x.tsrs}


def test_tsr_cannot_use_tl_endpoints(srv, teams):
    x, _ = teams
    with srv.client() as c:
        h = hdr(srv, x.tsrs[0])
        assert c.post("/api/v1/monitor/grants", headers=h,
                      json={"agent_id": x.user_ids[x.tsrs[1]], "mode": "listen"}).status_code == 403
        assert c.get("/api/v1/presence/stream", headers=h, params={"max_seconds": 1}).status_code == 403
