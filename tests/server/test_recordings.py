"""Resumable recording upload with checksum check; only the agent and their TL may read it."""

from __future__ import annotations

import hashlib
import os

from tests.server.helpers import hdr, make_team


def test_resumable_upload_and_access(srv):
    a, b = make_team(srv, n_tsr=2, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    agent, other = a.tsrs
    h = hdr(srv, agent)
    data = os.urandom(300_000)
    call = f"rec-{a.id[:8]}"
    url = f"/api/v1/recordings/{call}"
    with srv.client() as c:
        assert c.head(url, headers=h).status_code == 404
        r = c.patch(url, headers=h | {"Upload-Offset": "0"}, content=data[:100_000])
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "100000"
        # The connection dropped: ask where we are, resume from there.
        assert c.head(url, headers=h).headers["Upload-Offset"] == "100000"
        r = c.patch(url, headers=h | {"Upload-Offset": "50000"}, content=data[50_000:])
        assert r.status_code == 409 and r.headers["Upload-Offset"] == "100000"
        r = c.patch(url, headers=h | {"Upload-Offset": "100000"}, content=data[100_000:])
        assert r.status_code == 204 and r.headers["Upload-Offset"] == "300000"
        # Another agent cannot touch it.
        for who in (other, b.tsrs[0], b.tl):
            assert c.head(url, headers=hdr(srv, who)).status_code in (403, 404)
            assert c.patch(url, headers=hdr(srv, who) | {"Upload-Offset": "300000"}, content=b"x").status_code == 403
        r = c.post(url + "/complete", headers=h, json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        assert r.status_code == 200 and r.json()["status"] == "complete"
        # Read access: the agent and the team's TL; nobody else.
        assert c.get(url, headers=h).content == data
        assert c.get(url, headers=hdr(srv, a.tl)).content == data
        for who in (other, b.tl, b.tsrs[0]):
            assert c.get(url, headers=hdr(srv, who)).status_code == 404
        # After completion the upload is closed.
        assert c.patch(url, headers=h | {"Upload-Offset": "300000"}, content=b"x").status_code == 409


def test_checksum_mismatch_is_422_and_restarts(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    h = hdr(srv, t.tsrs[0])
    url = f"/api/v1/recordings/bad-{t.id[:8]}"
    with srv.client() as c:
        c.patch(url, headers=h | {"Upload-Offset": "0"}, content=b"abc")
        r = c.post(url + "/complete", headers=h, json={"sha256": "0" * 64, "size": 3})
        assert r.status_code == 422 and r.json()["code"] == "checksum_mismatch"
        assert c.head(url, headers=h).headers["Upload-Offset"] == "0"


def test_hostile_recording_requests(srv):
    h = srv.headers("lina")
    with srv.client() as c:
        assert c.patch("/api/v1/recordings/x", headers=h, content=b"x").status_code == 422  # no Upload-Offset
        assert c.patch("/api/v1/recordings/x", headers=h | {"Upload-Offset": "-1"}, content=b"x").status_code == 422
        assert c.patch("/api/v1/recordings/..%2F..%2Fetc", headers=h | {"Upload-Offset": "0"}).status_code in (404, 422)
        r = c.post("/api/v1/recordings/x/complete", headers=h, json={"sha256": "zz", "size": 1})
        assert r.status_code == 422
