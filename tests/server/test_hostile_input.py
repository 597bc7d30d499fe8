"""Malformed and hostile input gets a 4xx with a reason, never a 5xx, on both backends."""

from __future__ import annotations

import json
import uuid

from tests.server.helpers import hdr, make_team


def _is_4xx_with_reason(r) -> bool:
    return 400 <= r.status_code < 500 and bool(r.json().get("detail")) and bool(r.json().get("code"))


def test_nul_characters_are_refused_not_crashing_postgres(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    lead = t.leads[t.tsrs[0]][0]
    h = hdr(srv, t.tsrs[0]) | {"Content-Type": "application/json"}
    with srv.client() as c:
        r = c.post("/api/v1/auth/login", json={"username": "li\x00na", "password": "x\x00", "device_id": "\x00"})
        assert _is_4xx_with_reason(r), r.text
        r = c.post("/api/v1/presence", headers=h, json={"state": "paused", "reason": "用\x00餐"})
        assert _is_4xx_with_reason(r), r.text
        events = [{"id": str(uuid.uuid4()), "type": typ, "occurred_at": "2026-01-01T00:00:00Z",
                   "lead_id": lid, "payload": payload}
                  for typ, lid, payload in ([("note_added\x00", lead, {"text": "a"}),
                                                           ("note_added", lead + "\x00", {"text": "a"}),
                                                           ("note_added", lead, {"text": "a\x00b"}),
                                                           ("note_added", lead, {"te\x00xt": "a"})])]
        r = c.post("/api/v1/sync/push", headers=h, content=json.dumps({"events": events}))
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == ["rejected"] * 4


def test_broken_and_oversized_bodies(srv):
    h = srv.headers("lina") | {"Content-Type": "application/json"}
    with srv.client() as c:
        for path in ("/api/v1/sync/push", "/api/v1/auth/login", "/api/v1/presence", "/api/v1/monitor/grants",
                     "/api/v1/auth/refresh"):
            for body in (b"[" * 50000 + b"]" * 50000, b"{", b"\xff\xfe", b"null", b'{"events": [' + b'{"a":' * 3000 +
                         b"1" + b"}" * 3000 + b"]}"):
                r = c.post(path, headers=h, content=body)
                assert _is_4xx_with_reason(r), (path, body[:20], r.status_code, r.text)
        r = c.post("/api/v1/sync/push", headers=h, content=b" " * (21 * 1024 * 1024))
        assert r.status_code == 413 and r.json()["code"] == "too_large"
        r = c.get("/api/v1/no/such/thing", headers=h)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = c.delete("/api/v1/sync/pull", headers=h)
        assert r.status_code == 405


def test_hostile_times_and_numbers_in_events(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    lead = t.leads[t.tsrs[0]][0]
    h = hdr(srv, t.tsrs[0])
    cases = [
        {"occurred_at": "9999-12-31T23:59:59-10:00"},
        {"occurred_at": 1e300},
        {"occurred_at": "0001-01-01T00:00:00Z"},
        {"occurred_at": "2026-01-01T00:00:00Z", "type": "callback_scheduled",
         "payload": {"callback_id": "c", "due_at": "9999-12-31T23:59:59-12:00"}},
        {"occurred_at": "2026-01-01T00:00:00Z", "type": "call_ended",
         "payload": {"call_id": "c", "dialed_at": "2026-01-01T00:00:00Z", "ended_at": "2026-01-01T00:00:00Z",
                     "talk_seconds": 10**30}},
        {"occurred_at": "2026-01-01T00:00:00Z", "type": "disposition_recorded",
         "payload": {"code": "INTERESTED", "callback_at": "0001-01-01T00:00:00+14:00"}},
    ]
    events = [{"id": str(uuid.uuid4()), "type": "note_added", "lead_id": lead, "payload": {"text": "x"}} | case
              for case in cases]
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", headers=h, json={"events": events})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["rejected"] * len(cases), r.json()
