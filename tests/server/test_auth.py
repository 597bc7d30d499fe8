"""Accounts: argon2 passwords, access/refresh tokens, rotation, reuse detection, logout, throttling."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select

from server import admin
from server.models import User
from tests.server.helpers import PASSWORD, make_team


def _login(c, username, password=PASSWORD, **headers):
    return c.post("/api/v1/auth/login", json={"username": username, "password": password, "device_id": "pc-1"},
                  headers=headers)


def test_login_returns_tokens_and_user(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        r = _login(c, t.tsrs[0])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["expires_in"] == 900
        assert body["user"]["role"] == "tsr" and body["user"]["team_id"] == t.id
        assert body["user"]["sip_user"] == t.sip[t.tsrs[0]]
        me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200 and me.json()["username"] == t.tsrs[0]


def test_password_is_stored_as_argon2(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.admin() as s:
        h = s.execute(select(User.password_hash).where(User.username == t.tsrs[0])).scalar_one()
    assert h.startswith("$argon2id$") and PASSWORD not in h


def test_wrong_password_and_unknown_user_are_401_with_reason(srv):
    with srv.client() as c:
        r = _login(c, "lina", "not-the-password")
        assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
        r = _login(c, f"nobody_{uuid.uuid4().hex[:6]}", "whatever")
        assert r.status_code == 401 and r.json()["detail"]


def test_no_or_bad_token_is_401_everywhere(srv):
    with srv.client() as c:
        for method, path in [("GET", "/api/v1/sync/pull"), ("POST", "/api/v1/sync/push"),
                             ("POST", "/api/v1/presence"), ("GET", "/api/v1/presence/stream"),
                             ("POST", "/api/v1/monitor/grants"), ("GET", "/api/v1/reports/daily"),
                             ("HEAD", "/api/v1/recordings/abc"), ("POST", "/api/v1/auth/logout"),
                             ("GET", "/api/v1/auth/me")]:
            for auth in (None, "Bearer garbage", "Bearer sma1.e30.AAAA", "Basic dXNlcjpwYXNz"):
                headers = {"Authorization": auth} if auth else {}
                r = c.request(method, path, headers=headers, json={} if method == "POST" else None)
                assert r.status_code == 401, (method, path, auth, r.status_code, r.text)


def test_refresh_rotates_and_reuse_revokes_the_family(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        first = _login(c, t.tsrs[0]).json()
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        h2 = {"Authorization": f"Bearer {second['access_token']}"}
        assert c.get("/api/v1/auth/me", headers=h2).status_code == 200
        # The client used its new token: it has the answer. The old token presented
        # again now can only be a stolen copy: the whole login is revoked.
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert r.status_code == 200, r.text
        third = r.json()
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 401 and r.json()["code"] == "refresh_reused"
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
        assert r.status_code == 401
        h3 = {"Authorization": f"Bearer {third['access_token']}"}
        deadline = time.monotonic() + 5
        while c.get("/api/v1/auth/me", headers=h3).status_code != 401:
            assert time.monotonic() < deadline, "access token of a revoked family still works"
            time.sleep(0.2)
        # A new login is a new family and works.
        assert _login(c, t.tsrs[0]).status_code == 200


def test_refresh_retry_after_a_lost_answer_is_not_theft(srv):
    """The answer to a refresh was lost: the client presents the same token again
    (within the grace period, its successor never used). It gets a fresh pair and
    stays logged in; the answer it never saw stops working."""
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        first = _login(c, t.tsrs[0]).json()
        lost = c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 200, r.text
        retry = r.json()
        assert retry["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
        h = {"Authorization": f"Bearer {retry['access_token']}"}
        assert c.get("/api/v1/auth/me", headers=h).status_code == 200
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": lost["refresh_token"]})
        assert r.status_code == 401 and r.json()["code"] == "expired"
        # The session goes on with the retry's token.
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": retry["refresh_token"]})
        assert r.status_code == 200, r.text


def test_logout_revokes_refresh_and_access(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        tok = _login(c, t.tsrs[0]).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        other = _login(c, t.tsrs[0]).json()  # another device stays logged in
        assert c.post("/api/v1/auth/logout", headers=h).status_code == 204
        assert c.get("/api/v1/auth/me", headers=h).status_code == 401
        assert c.post("/api/v1/auth/refresh", json={"refresh_token": tok["refresh_token"]}).status_code == 401
        h_other = {"Authorization": f"Bearer {other['access_token']}"}
        assert c.get("/api/v1/auth/me", headers=h_other).status_code == 200


def test_unknown_refresh_token_is_401(srv):
    with srv.client() as c:
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
        assert r.status_code == 401 and r.json()["code"] == "invalid_refresh"


def test_login_throttled_per_username_then_429(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        codes = [_login(c, t.tsrs[0], "wrong-password").status_code for _ in range(5)]
        assert codes == [401] * 5
        r = _login(c, t.tsrs[0])  # even the right password is refused while locked
        assert r.status_code == 429 and r.json()["code"] == "throttled"
        assert int(r.headers["Retry-After"]) > 0
        # Other users are not affected.
        assert srv.login("wangfang", fresh=True)


def test_login_throttled_per_client_address(srv):
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    with srv.client() as c:
        codes = []
        for i in range(55):
            r = _login(c, f"ghost{i}_{uuid.uuid4().hex[:4]}", "nope", **{"X-Forwarded-For": ip})
            codes.append(r.status_code)
        assert codes[0] == 401 and codes[-1] == 429
        r = _login(c, "lina", "demo-2026", **{"X-Forwarded-For": ip})
        assert r.status_code == 429


def test_disabled_user_cannot_login_or_refresh(srv):
    t = make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        tok = _login(c, t.tsrs[0]).json()
        with srv.admin() as s:
            admin.find_user(s, t.tsrs[0]).active = False
        assert _login(c, t.tsrs[0]).status_code == 401
        assert c.post("/api/v1/auth/refresh", json={"refresh_token": tok["refresh_token"]}).status_code == 401
