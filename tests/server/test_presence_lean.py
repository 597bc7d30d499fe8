"""The cheap presence paths (server/presence.py, server/api/presence.py, server/board.py) keep
what the board shows: a push notes the agent's last sync even when the same push created the
agent's presence row; heartbeats that change nothing write nothing, a changed one is stored.
Both backends."""

from __future__ import annotations

from tests.server.helpers import event, hdr, make_team


def _row(srv, user_id):
    from server.models import Presence

    with srv.admin() as s:
        row = s.get(Presence, user_id)
        return None if row is None else (row.state, row.version, row.last_seen, row.last_sync_at)


def test_first_push_with_a_state_change_notes_the_sync(srv):
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    uid = team.user_ids[agent]
    assert _row(srv, uid) is None  # no heartbeat yet: the push's own event creates the row
    ev = event("agent_state_changed", None, {"state": "paused", "reason": "培训"})
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", json={"events": [ev]}, headers=hdr(srv, agent))
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "accepted"
    state, _version, _seen, last_sync = _row(srv, uid)
    assert state == "paused" and last_sync is not None
    with srv.client() as c:  # a later push updates the stored row
        r = c.post("/api/v1/sync/push", json={"events": [event("note_added", team.leads[agent][0], {"text": "x"})]},
                   headers=hdr(srv, agent))
    assert r.status_code == 200, r.text
    assert _row(srv, uid)[3] >= last_sync


def test_unchanged_heartbeats_write_nothing_and_a_change_is_stored(srv):
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    uid = team.user_ids[agent]
    with srv.client() as c:
        assert c.post("/api/v1/presence", json={"state": "ready"}, headers=hdr(srv, agent)).status_code == 200
        first = _row(srv, uid)
        for _ in range(5):
            assert c.post("/api/v1/presence", json={"state": "ready"}, headers=hdr(srv, agent)).status_code == 200
        assert _row(srv, uid) == first  # same version, same last_seen: no write
        assert c.post("/api/v1/presence", json={"state": "paused", "reason": "午休"},
                      headers=hdr(srv, agent)).status_code == 200
    state, version, _seen, _sync = _row(srv, uid)
    assert (state, version) == ("paused", first[1] + 1)
