"""``GET /sync/pull`` in lines (core/pull_lines.py), on both backends: a client that asks with
``Accept: application/x-ndjson`` gets the same page as the JSON answer, its changes in lines of
at most 500 (so the client never parses more than one line in one go), compressed the same
way; a client that does not ask (every client before this format) still gets the JSON object."""

from __future__ import annotations

from core import pull_lines
from tests.server.helpers import hdr, make_team

LINES = {"Accept": "application/x-ndjson, application/json;q=0.9"}


def test_a_page_in_lines_is_the_json_page_cut_in_lines(srv):
    team = make_team(srv, n_tsr=1, leads_each=1100)
    agent = team.tsrs[0]
    params = {"limit": 5000}
    with srv.client() as c:
        old = c.get("/api/v1/sync/pull", params=params, headers={**hdr(srv, agent), "Accept": "application/json"})
        new = c.get("/api/v1/sync/pull", params=params, headers={**hdr(srv, agent), **LINES,
                                                                  "Accept-Encoding": "zstd"})
    assert old.status_code == new.status_code == 200, (old.text, new.text[:200])
    assert old.headers["content-type"] == "application/json"
    assert new.headers["content-type"] == pull_lines.MEDIA_TYPE
    assert new.headers["content-encoding"] == "zstd"
    assert "Accept" in new.headers["vary"]
    assert new.num_bytes_downloaded < len(new.content) / 3  # httpx decoded the zstd body
    head, lines = pull_lines.decode(new.content)
    parts = list(lines)
    page = old.json()
    # The agent's 1,100 leads and whatever else the scope holds: at least three lines, none longer than 500.
    assert len(page["changes"]) >= 1100
    assert len(parts) >= 3 and max(len(p) for p in parts) <= pull_lines.CHANGES_PER_LINE
    assert [c for p in parts for c in p] == page["changes"]
    assert {k: v for k, v in head.items() if k != "server_time"} == \
        {k: v for k, v in page.items() if k not in ("changes", "server_time")}
    assert {c["id"] for c in page["changes"] if c["entity"] == "lead"} >= set(team.leads[agent])


def test_a_client_that_refuses_lines_gets_json(srv):
    team = make_team(srv, n_tsr=1, leads_each=2)
    with srv.client() as c:
        r = c.get("/api/v1/sync/pull", params={"limit": 10},
                  headers={**hdr(srv, team.tsrs[0]), "Accept": "application/x-ndjson;q=0, application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert isinstance(r.json()["changes"], list)
