"""``seatmate-server set-sip``: a user's SIP account, its password encrypted at rest and
delivered only in that user's own pull (never a TL's or an admin's)."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from tests.server.helpers import pull_all
from tests.server.test_cli import run_main


def _login(c, username: str, password: str) -> dict:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def test_set_sip_encrypts_validates_and_reaches_only_the_user(srv, capsys, monkeypatch) -> None:
    def cli(*args, stdin=""):
        return run_main(srv, capsys, monkeypatch, *args, stdin=stdin)

    tag = uuid.uuid4().hex[:6]
    team, tl, agent, sip_pw = f"SIP组{tag}", f"tl{tag}", f"ag{tag}", f"pbx-secret-{tag}"
    assert cli("create-team", team).returncode == 0
    assert cli("create-user", tl, "--role", "tl", "--team", team, stdin="tl-secret-99\n").returncode == 0
    assert cli("create-user", agent, "--role", "tsr", "--team", team, "--sip-user", f"8{tag[:4]}",
               stdin="agent-secret-99\n").returncode == 0

    # Refused with the app's own rules, nothing stored.
    r = cli("set-sip", agent, "--domain", "pbx.example.cn", "--srtp", "mandatory")
    assert r.returncode == 2 and "sip.srtp_needs_tls" in r.stderr, r.stderr
    r = cli("set-sip", agent, "--domain", "pbx.example.cn", "--proxy", "proxy.example.cn")
    assert r.returncode == 2 and "outbound_proxy" in r.stderr

    r = cli("set-sip", agent, "--domain", "pbx.example.cn:5061", "--transport", "tls", "--srtp", "mandatory",
            "--proxy", "sip:sbc.example.cn:5061;lr", "--codecs", "PCMA,PCMU", "--password-stdin", stdin=sip_pw + "\n")
    assert r.returncode == 0, r.stderr
    assert sip_pw not in r.stdout + r.stderr

    engine = create_engine(srv.db_url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT password_enc, settings FROM sip_accounts")).all()
        assert rows and all(sip_pw not in str(row) for row in rows)  # at rest: only the Fernet token
    engine.dispose()

    with srv.client() as c:
        seen, _ = pull_all(c, _login(c, agent, "agent-secret-99"))
        mine = [v["data"] for (e, _), v in seen.items() if e == "sip_account"]
        assert len(mine) == 1
        account = mine[0]
        assert account["password"] == sip_pw and account["version"] == 1
        s = account["settings"]
        assert (s["user"], s["domain"], s["transport"], s["srtp"], s["outbound_proxy"], s["codecs"]) == \
            (f"8{tag[:4]}", "pbx.example.cn:5061", "tls", "mandatory", "sip:sbc.example.cn:5061;lr", ["PCMA", "PCMU"])
        tl_seen, _ = pull_all(c, _login(c, tl, "tl-secret-99"))
        assert not [k for k in tl_seen if k[0] == "sip_account"]  # the TL does not get the agent's

    # A change keeps what it does not name, bumps the version; the password stays.
    assert cli("set-sip", agent, "--transport", "tcp", "--srtp", "optional").returncode == 0
    with srv.client() as c:
        seen, _ = pull_all(c, _login(c, agent, "agent-secret-99"))
        account = next(v["data"] for (e, _), v in seen.items() if e == "sip_account")
    assert account["version"] == 2 and account["password"] == sip_pw
    assert account["settings"]["transport"] == "tcp" and account["settings"]["domain"] == "pbx.example.cn:5061"
