"""The recordings browser over HTTP: the access matrix (own, own team's TL, other team's TL,
another TSR, admin), Range semantics (206, Content-Range, 416), the playback log, filters."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from tests.server.helpers import event, hdr, make_team

ADMIN = ("admin", "admin-demo-2026")


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _record(c, h, call_id: str, data: bytes) -> None:
    url = f"/api/v1/recordings/{call_id}"
    assert c.patch(url, headers=h | {"Upload-Offset": "0"}, content=data).status_code == 204
    r = c.post(url + "/complete", headers=h, json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def recorded(live_server):
    srv = live_server
    a, b = make_team(srv, n_tsr=2, leads_each=1), make_team(srv, n_tsr=1, leads_each=0)
    agent = a.tsrs[0]
    data = os.urandom(1_500_000)
    start = dt.datetime(2026, 5, 11, 2, 0, tzinfo=dt.timezone.utc)
    calls = [f"pb-{a.id[:8]}-{i}" for i in range(3)]
    with srv.client() as c:
        h = hdr(srv, agent)
        ev = []
        for i, cid in enumerate(calls):
            t0 = start + dt.timedelta(minutes=10 * i)
            ev.append(event("call_ended", a.leads[agent][0], {
                "call_id": cid, "dialed_at": _iso(t0), "answered_at": _iso(t0 + dt.timedelta(seconds=3)),
                "ended_at": _iso(t0 + dt.timedelta(seconds=63 + 60 * i)), "talk_seconds": 60 + 60 * i},
                at=_iso(t0 + dt.timedelta(minutes=3))))
        ev.append(event("disposition_recorded", a.leads[agent][0], {"code": "REFUSED", "call_id": calls[1]},
                        at=_iso(start + dt.timedelta(minutes=14))))
        res = c.post("/api/v1/sync/push", headers=h, json={"events": ev}).json()["results"]
        assert all(r["status"] == "accepted" for r in res), res
        for cid in calls:
            _record(c, h, cid, data if cid == calls[0] else b"RIFF" + os.urandom(1000))
    return srv, a, b, calls, data


def test_access_matrix_and_range_semantics(recorded):
    srv, a, b, calls, data = recorded
    url = f"/api/v1/recordings/{calls[0]}/stream"
    who = {"own": hdr(srv, a.tsrs[0]), "team_tl": hdr(srv, a.tl), "admin": srv.headers(*ADMIN),
           "other_tl": hdr(srv, b.tl), "other_tsr_same_team": hdr(srv, a.tsrs[1]), "other_team_tsr": hdr(srv, b.tsrs[0])}
    with srv.client() as c:
        for name, h in who.items():
            r = c.get(url, headers=h | {"Range": "bytes=100-199"})
            if name in ("own", "team_tl", "admin"):
                assert r.status_code == 206, (name, r.text)
                assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
                assert r.headers["accept-ranges"] == "bytes" and r.content == data[100:200]
            else:
                assert r.status_code == 403, (name, r.status_code)
                assert r.json()["code"] == "forbidden"
        h = who["team_tl"]
        # A seek: from the middle, open-ended: at most 1 MiB, never the rest of a long file.
        r = c.get(url, headers=h | {"Range": "bytes=200000-"})
        assert r.status_code == 206 and len(r.content) == 1024 * 1024
        assert r.headers["content-range"] == f"bytes 200000-{200000 + 1024 * 1024 - 1}/{len(data)}"
        assert r.content == data[200000:200000 + 1024 * 1024]
        r = c.get(url, headers=h | {"Range": "bytes=-10"})
        assert r.status_code == 206 and r.content == data[-10:]
        r = c.get(url, headers=h | {"Range": f"bytes={len(data) - 5}-{len(data) + 100}"})
        assert r.status_code == 206 and r.content == data[-5:]
        for bad in (f"bytes={len(data)}-", "bytes=10-5", "bytes=0-1,5-6", "items=0-1"):
            r = c.get(url, headers=h | {"Range": bad})
            assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}", bad
        r = c.get(url, headers=h)
        assert r.status_code == 200 and r.headers["accept-ranges"] == "bytes" and r.content == data
        assert c.get(f"/api/v1/recordings/nope-{a.id[:6]}/stream", headers=h).status_code == 404
        # Every playback is logged: who, when, from which byte; the TL reads the log, a TSR cannot.
        log = c.get(f"/api/v1/recordings/{calls[0]}/playbacks", headers=h).json()["playbacks"]
        starts = [(p["username"], p["range_start"]) for p in log]
        assert (a.tl, 200000) in starts and (a.tsrs[0], 100) in starts and ("admin", 100) in starts
        assert not any(u == b.tl for u, _s in starts)
        assert c.get(f"/api/v1/recordings/{calls[0]}/playbacks", headers=who["own"]).status_code == 403


def test_browse_filters_and_paging(recorded):
    srv, a, b, calls, _data = recorded
    h = hdr(srv, a.tl)
    with srv.client() as c:
        r = c.get("/api/v1/recordings", headers=h, params={"date_from": "2026-05-11", "limit": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 3 and [i["call_id"] for i in body["items"]] == [calls[2], calls[1]]
        nxt = c.get("/api/v1/recordings", headers=h, params={"date_from": "2026-05-11", "limit": 2, "offset": 2})
        assert [i["call_id"] for i in nxt.json()["items"]] == [calls[0]]
        item = body["items"][1]
        assert item["disposition"] == "REFUSED" and item["talk_seconds"] == 120 and item["evaluated"] is False
        assert item["username"] == a.tsrs[0] and item["lead_id"] == a.leads[a.tsrs[0]][0]

        def ids(**params):
            r = c.get("/api/v1/recordings", headers=h, params={"date_from": "2026-05-11"} | params)
            assert r.status_code == 200, r.text
            return [i["call_id"] for i in r.json()["items"]]

        assert ids(disposition="REFUSED") == [calls[1]]
        assert ids(min_seconds=100) == [calls[2], calls[1]] and ids(max_seconds=60) == [calls[0]]
        assert ids(agent_id=a.user_ids[a.tsrs[1]]) == []
        assert ids(evaluated="false") == [calls[2], calls[1], calls[0]] and ids(evaluated="true") == []
        assert ids(date_from="2026-05-12") == []
        # Scope: another team's TL sees none of them and cannot ask for this team; a TSR their own only.
        assert c.get("/api/v1/recordings", headers=hdr(srv, b.tl), params={"team_id": a.id}).status_code == 403
        other = c.get("/api/v1/recordings", headers=hdr(srv, b.tl), params={"date_from": "2026-05-11"}).json()
        assert other["total"] == 0
        assert c.get("/api/v1/recordings", headers=hdr(srv, a.tsrs[1]),
                     params={"date_from": "2026-05-11"}).json()["total"] == 0
        assert c.get("/api/v1/recordings", headers=hdr(srv, a.tsrs[0]),
                     params={"date_from": "2026-05-11"}).json()["total"] == 3
