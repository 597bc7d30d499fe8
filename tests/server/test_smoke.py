from tests.server.helpers import hdr, make_team, pull_all


def test_demo_login_and_pull(srv):
    with srv.client() as c:
        seen, cursor = pull_all(c, srv.headers("lina"))
    leads = [v for (e, _), v in seen.items() if e == "lead"]
    assert len(leads) == 20
    assert all(v["op"] == "upsert" for v in leads)
    assert any(e == "disposition_code" for e, _ in seen)
    assert int(cursor) > 0


def test_make_team(srv):
    t = make_team(srv)
    with srv.client() as c:
        seen, _ = pull_all(c, hdr(srv, t.tsrs[0]))
    assert {i for (e, i) in seen if e == "lead"} == set(t.leads[t.tsrs[0]])
