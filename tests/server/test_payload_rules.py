"""Pushed payloads hold their type's fields only, and name only the caller's own objects
(server/payload_rules.py): unknown fields and absurd nesting are refused with a clear reason and
not stored raw; a correction's ``supersedes`` must be the caller's own disposition of the lead;
a presence claim of a call must be about the caller's own lead. Both backends."""

from __future__ import annotations

import json

from server import payload_rules
from tests.server.helpers import event, hdr, make_team


def _push(srv, user, events):
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", json={"events": events}, headers=hdr(srv, user))
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["results"]}


def _stored_payload(srv, event_id):
    from server.models import Event

    with srv.admin() as s:
        ev = s.get(Event, event_id)
        return None if ev is None else (ev.status, ev.payload)


def test_unknown_fields_and_deep_nesting_are_refused_and_not_stored(srv):
    team = make_team(srv, n_tsr=1, leads_each=2)
    agent = team.tsrs[0]
    lead = team.leads[agent][0]
    deep: dict = {}
    cur = deep
    for _ in range(900):
        cur["x"] = {}
        cur = cur["x"]
    unknown = event("note_added", lead, {"text": "你好", "colour": "red"})
    nested = event("note_added", lead, {"text": "你好", "blob": deep})
    item_extra = event("coaching_evaluation_recorded", None, {
        "agent_id": team.user_ids[agent], "call_id": "c-1", "source": "recording",
        "items": [{"item": "greet", "answer": "Y", "secret_score": 100}]})
    fine = event("note_added", lead, {"text": "正常的备注"})
    res = _push(srv, agent, [unknown, nested, item_extra, fine])
    assert res[unknown["id"]]["status"] == "rejected" and res[unknown["id"]]["code"] == "unknown_field"
    assert "'colour'" in res[unknown["id"]]["reason"]
    assert res[nested["id"]]["status"] == "rejected" and res[nested["id"]]["code"] == "too_deep"
    assert res[item_extra["id"]]["code"] == "unknown_field" and "items[0].secret_score" in res[item_extra["id"]]["reason"]
    assert res[fine["id"]]["status"] == "accepted"
    status, payload = _stored_payload(srv, nested["id"])
    assert status == "rejected" and len(json.dumps(payload)) < 100  # the 900 levels are not kept
    status, payload = _stored_payload(srv, unknown["id"])
    assert "colour" not in payload


def test_a_tl_evaluation_with_an_unknown_item_field_is_refused(srv):
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    ev = event("coaching_evaluation_recorded", None, {
        "agent_id": team.user_ids[agent], "call_id": "c-2", "source": "recording",
        "items": [{"item": "greet", "answer": "Y", "weight": 5}]})
    res = _push(srv, team.tl, [ev])[ev["id"]]
    assert res["status"] == "rejected" and res["code"] == "unknown_field", res
    assert "items[0].weight" in res["reason"]


def test_supersedes_must_name_the_callers_own_disposition(srv):
    team = make_team(srv, n_tsr=2, leads_each=1)
    a, b = team.tsrs
    lead_a, lead_b = team.leads[a][0], team.leads[b][0]
    original_b = event("disposition_recorded", lead_b, {"code": "REFUSED", "connected": True})
    assert _push(srv, b, [original_b])[original_b["id"]]["status"] == "accepted"
    original_a = event("disposition_recorded", lead_a, {"code": "REFUSED", "connected": True})
    own_fix = event("disposition_recorded", lead_a, {"code": "SALE", "supersedes": original_a["id"]})
    foreign_fix = event("disposition_recorded", lead_a, {"code": "SALE", "supersedes": original_b["id"]})
    made_up = event("disposition_recorded", lead_a, {"code": "SALE", "supersedes": "0" * 8 + "-0000-4000-8000-" + "0" * 12})
    res = _push(srv, a, [original_a, own_fix, foreign_fix, made_up])
    assert res[original_a["id"]]["status"] == "accepted"
    assert res[own_fix["id"]]["status"] == "accepted", res[own_fix["id"]]  # same batch: found
    for bad in (foreign_fix, made_up):
        assert res[bad["id"]]["status"] == "rejected" and res[bad["id"]]["code"] == "not_your_disposition"
    # A later batch may correct an earlier one too.
    later = event("disposition_recorded", lead_a, {"code": "REFUSED", "supersedes": own_fix["id"]})
    assert _push(srv, a, [later])[later["id"]]["status"] == "accepted"


def test_presence_on_call_must_be_about_the_callers_own_lead(srv):
    team = make_team(srv, n_tsr=2, leads_each=1)
    a, b = team.tsrs
    with srv.client() as c:
        mine = c.post("/api/v1/presence", headers=hdr(srv, a),
                      json={"state": "on_call", "call_id": "c-a", "lead_id": team.leads[a][0]})
        theirs = c.post("/api/v1/presence", headers=hdr(srv, a),
                        json={"state": "on_call", "call_id": "c-a2", "lead_id": team.leads[b][0]})
        nobody = c.post("/api/v1/presence", headers=hdr(srv, a),
                        json={"state": "on_call", "call_id": "c-a3", "lead_id": "no-such-lead"})
        tl = c.post("/api/v1/presence", headers=hdr(srv, team.tl),
                    json={"state": "on_call", "call_id": "c-t", "lead_id": team.leads[b][0]})
    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 403 and theirs.json()["code"] == "not_your_lead"
    assert nobody.status_code == 403
    assert tl.status_code == 200, tl.text  # a lead of the TL's own team


def test_a_repeated_claim_skips_the_lead_lookup_but_a_new_one_is_checked(srv):
    """A heartbeat repeating the stored (state, call, lead) is not looked up again (its lead was
    checked when it was written: server/presence.py claim_checked); any other claim still is —
    a new call on a lead reassigned meanwhile, or the same call on another agent's lead."""
    from server import admin

    team = make_team(srv, n_tsr=2, leads_each=1)
    a, b = team.tsrs
    lead_a = team.leads[a][0]
    beat = {"state": "on_call", "call_id": "c-1", "lead_id": lead_a}
    with srv.client() as c:
        assert c.post("/api/v1/presence", headers=hdr(srv, a), json=beat).status_code == 200
        with srv.admin() as s:  # the TL hands the lead to b during a's call
            admin.assign_lead(s, s.get(admin.Lead, lead_a), s.get(admin.User, team.user_ids[b]))
        again = c.post("/api/v1/presence", headers=hdr(srv, a), json=beat)
        new_call = c.post("/api/v1/presence", headers=hdr(srv, a), json={**beat, "call_id": "c-2"})
        wrap = c.post("/api/v1/presence", headers=hdr(srv, a), json={**beat, "state": "wrap_up"})
        other = c.post("/api/v1/presence", headers=hdr(srv, b), json=beat)  # b's row names no call yet
    assert again.status_code == 200, again.text  # the call began on a's own lead
    assert new_call.status_code == 403 and new_call.json()["code"] == "not_your_lead"
    assert wrap.status_code == 403 and wrap.json()["code"] == "not_your_lead"
    assert other.status_code == 200, other.text  # b owns it now: checked, allowed


def test_the_shape_rules_on_their_own():
    from server.events import NoteAdded

    assert not payload_rules.too_deep({"a": [{"b": 1}]})
    assert payload_rules.too_deep({"a": [{"b": {"c": {"d": 1}}}]})
    note = NoteAdded(text="x")
    assert payload_rules.shape_problem("note_added", note, {"text": "x"}) is None
    code, reason = payload_rules.shape_problem("note_added", note, {"text": "x", "y": 1, "z": 2})
    assert code == "unknown_field" and "'y'" in reason and "1 more" in reason
