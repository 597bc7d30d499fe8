"""sync.coaching against the real server: the TL's client for the form, a recording streamed as
Range chunks, distribution preview/commit, the report export, the inbox; and the coaching
events an app puts in its outbox, pushed by ApiClient."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import pytest
from openpyxl import load_workbook

from core.coaching import ItemAnswer, score
from server import admin
from server.demo import CAMPAIGN
from sync.client import ApiClient, MemoryVault, RequestRejected
from sync.coaching import TeamLeadClient, acknowledgement_event, dispute_event, evaluation_event
from tests.server.helpers import PASSWORD, make_team


def _client(srv, username: str) -> ApiClient:
    api = ApiClient(srv.url, MemoryVault())
    api.login(username, PASSWORD)
    return api


def _push(api: ApiClient, typed: tuple[str, dict]) -> dict:
    etype, payload = typed
    ev = {"id": str(uuid.uuid4()), "type": etype, "occurred_at": "2026-12-01T08:00:00.000Z", "lead_id": None,
          "payload": payload}
    return api._json(api._request("POST", "/sync/push", json_body={"events": [ev]}), "push")["results"][0] | {
        "event_id": ev["id"]}


def test_team_lead_client_round_trip(srv):
    t, other = make_team(srv, n_tsr=1, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    agent = t.tsrs[0]
    tl_api, agent_api, other_api = _client(srv, t.tl), _client(srv, agent), _client(srv, other.tl)
    tl, me = TeamLeadClient(tl_api), TeamLeadClient(agent_api)
    with srv.admin() as s:
        camp = admin.find_campaign(s, CAMPAIGN).id
    form = tl.coaching_form(camp)
    assert len(form.items) == 20 and form.items[0].id == "1.1"
    # A recording, streamed back in Range chunks (never one whole download), from a seek point.
    data = os.urandom(2_500_000)
    call = f"cl-{t.id[:8]}"
    agent_api._request("PATCH", f"/recordings/{call}", content=data, headers={"Upload-Offset": "0"})
    agent_api._request("POST", f"/recordings/{call}/complete",
                       json_body={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    parts = list(tl.stream_recording(call, start=100_000, chunk=1024 * 1024))
    assert [len(p) for p in parts] == [1024 * 1024, 1024 * 1024, len(data) - 100_000 - 2 * 1024 * 1024]
    assert b"".join(parts) == data[100_000:]
    with pytest.raises(RequestRejected):
        TeamLeadClient(other_api).read_range(call, 0)
    assert {p["range_start"] for p in tl.playbacks(call)} >= {100_000, 100_000 + 1024 * 1024}
    # Coaching events as an app's outbox would push them.
    items = [ItemAnswer("1.1", "Y", "", 1.0), ItemAnswer("1.2", "N", "报工号", 4.0), ItemAnswer("2.1", "NA")]
    res = _push(tl_api, evaluation_event(t.user_ids[agent], call, camp, items, overall_comment="ok"))
    assert res["status"] == "accepted", res
    assert tl.recordings(evaluated=True, agent_id=t.user_ids[agent])["items"][0]["call_id"] == call
    mine = me.evaluations()
    assert [e["score"] for e in mine] == [score(items)] == [50.0]
    assert _push(agent_api, acknowledgement_event(res["event_id"], "明白"))["status"] == "accepted"
    with pytest.raises(ValueError):
        dispute_event(res["event_id"], " ")
    assert tl.evaluations(call_id=call)[0]["ack_state"] == "acknowledged"
    # Distribution, report export, inbox: reachable and scoped.
    ov = tl.distribution(camp)
    assert [a["agent_id"] for a in ov["agents"]] == [t.user_ids[agent]]
    assert tl.preview_distribution(camp, 0)["committed"] is False
    wb = load_workbook(io.BytesIO(tl.export_report("xlsx", "2026-12-01", "2026-12-01")))
    assert wb["坐席"]["A2"].value == "姓名"
    assert tl.report("2026-12-01")["agents"][0]["username"] in (t.tl, agent)
    assert tl.questions(camp) == []
    with pytest.raises(RequestRejected):
        me.distribution(camp)
