"""Access control by property over the real API (tests/server/access_campaign.py): nine
identities (TSRs and TLs of two teams, an admin, expired / revoked / no token) against every
route, judged by the oracle table. The suite's version runs on its own SQLite server: every
row × identity × object once, then Hypothesis-chosen requests. The long run (both backends):
``python -m tests.server.access_campaign --examples 3000 --seed 20261204``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.server import access_campaign as ac
from tests.server.live import ServiceError, start_server

EXAMPLES = 150
SEED = 20261204


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="seatmate-access-"))
    try:
        srv = start_server(f"sqlite:///{tmp / 'server.sqlite3'}", tmp / "data")
    except ServiceError as exc:
        pytest.fail(str(exc))
    w = ac.World(srv)
    yield w
    w.close()
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def test_every_route_has_an_oracle_row(world):
    spec = world.client.get("/openapi.json").json()
    assert not ac.missing_rows(spec), "routes without a row in access_campaign.ORACLE"
    # And no stale row: each names a route the server has.
    assert {(m, p) for m, p, _v in ac.ORACLE} <= ac.routes_of(spec)


def test_oracle_catches_a_route_it_does_not_know():
    spec = {"paths": {"/api/v1/new/thing": {"get": {}}, "/healthz": {"get": {}}}}
    assert ac.missing_rows(spec) == {("GET", "/api/v1/new/thing")}


def test_no_unauthorised_success_no_leak_no_5xx(world):
    tally = ac.Tally()
    ac.sweep(world, tally)
    swept = tally.attempts
    ac.run_property(world, tally, EXAMPLES, SEED)
    report = "\n".join(tally.problems)
    assert tally.attempts >= swept + EXAMPLES
    assert len(tally.by_route) == len(ac.ORACLE)
    assert tally.unauthorised == 0, report
    assert tally.leaks == 0, report
    assert tally.server_errors == 0, report
    assert tally.refused_allowed == 0, report
    # Both sides were exercised: a broken oracle (all False or all True) cannot pass.
    assert tally.allowed > 200 and tally.denied > 200, (tally.allowed, tally.denied)
    assert world.srv.proc.poll() is None


def test_the_leak_check_sees_foreign_ids_where_they_are_allowed(world):
    """The markers are real: an admin's answers carry team B's ids, TL A's never do."""
    markers = world.foreign_markers(world.idents["tl_a"])
    assert world.team_ids["B"] not in markers and world.b1 in markers
    for path in ("/api/v1/sync/pull", "/api/v1/recordings", "/api/v1/coaching/evaluations"):
        admin_body = world.client.get(path, headers=world.h("admin")).text
        tl_body = world.client.get(path, headers=world.h("tl_a")).text
        assert any(m in admin_body for m in markers), path
        assert not any(m in tl_body for m in markers), path


def test_a_servers_grant_is_bound_to_the_tl_and_the_agents_call(world):
    """The claims the agent's softphone checks (tests/supervisor_sip/test_monitor_grant_attacks.py):
    ``from`` = the TL's SIP user, ``call`` = the call the agent's presence names."""
    import base64
    import json

    from core import grant_token

    world.on_call(world.a1)
    r = world.client.post("/api/v1/monitor/grants", headers=world.h("tl_a"),
                          json={"agent_id": world.a1, "mode": "whisper"})
    assert r.status_code == 200, r.text
    body = r.json()["token"].split(".")[0]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims["from"] == world.a.sip[world.a.tl]
    assert claims["call"] == f"live-{world.a1[:8]}"
    # And the agent's verifier reads them back.
    pull = world.client.get("/api/v1/sync/pull", headers=world.uh(world.a1), params={"limit": 1}).json()
    verifier = grant_token.GrantVerifier(grant_token.load_public_key(pull["monitor_public_key"]),
                                         world.a.sip[world.a.tsrs[0]])
    g = verifier.verify(r.json()["token"])
    assert (g.caller, g.call) == (claims["from"], claims["call"])
    assert g.binding_problem(claims["from"], {claims["call"]}) is None
    assert g.binding_problem("someone-else", {claims["call"]}) == "sent by another team leader"
    assert g.binding_problem(claims["from"], {"another"}) == "issued for another call"
