"""The fast paths of pull and push keep their answers.

- Pull: a page's lead data (server/pull.py, read straight from the driver's rows) is exactly
  ``serialize.lead`` of the same lead, on both backends, for the values that need converting:
  times with and without a fraction (milliseconds are cut, not rounded), dates, empty and null
  phone lists, text that JSON must escape, zero numbers; and a deleted lead is a tombstone.
- Push: the calls and dispositions a batch creates are inserted at its end (server/events.py,
  ``PushContext.flush_rows``), yet later events of the same batch still see them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from core.wrapup import OUTCOME_MISMATCH
from server import changes, serialize
from server.models import Call, Disposition, Lead
from tests.server.helpers import event, hdr, make_team, now_iso, pull_all


def test_pulled_lead_data_equals_serialize_lead(srv):
    team = make_team(srv, n_tsr=1, leads_each=6)
    agent = team.tsrs[0]
    ids = team.leads[agent]
    edits = [
        dict(next_callback_at=dt.datetime(2026, 12, 5, 9, 30), last_attempt_at=dt.datetime(2026, 12, 4, 8, 0, 0, 999999)),
        dict(last_attempt_at=dt.datetime(2026, 12, 4, 8, 1, 2, 123999), last_disposition="NO_ANSWER", status="attempted"),
        dict(policy_expiry=dt.date(2027, 1, 31), last_premium=0, priority=1, phones=[]),
        dict(phones=None, notes='他说 "明天再打"\n第二行 \\ tab\t end', name="O'Brien 张"),
        dict(updated_at=dt.datetime(2026, 1, 2, 3, 4, 5), phones=[{"number": "+8613900000001", "label": "家"},
                                                                   {"number": "+8613900000002", "label": ""}]),
    ]
    with srv.admin() as s:
        for lead_id, values in zip(ids[:5], edits, strict=True):
            lead = s.get(Lead, lead_id)
            for k, v in values.items():
                setattr(lead, k, v)
            changes.note_lead(s, lead)
        gone = s.get(Lead, ids[5])
        changes.note_lead(s, gone)  # an upsert change whose row is deleted below: a tombstone
        s.flush()
        s.delete(gone)
    with srv.admin() as s:
        expected = {i: json.loads(json.dumps(serialize.lead(s.get(Lead, i)))) for i in ids[:5]}
    with srv.client() as c:
        seen, _ = pull_all(c, hdr(srv, agent), limit=2)  # small pages: the cursor crosses the leads
    for lead_id, want in expected.items():
        got = seen[("lead", lead_id)]
        assert got["op"] == "upsert"
        assert got["data"] == want, lead_id
    assert expected[ids[0]]["last_attempt_at"] == "2026-12-04T08:00:00.999Z"  # cut, not rounded up
    assert expected[ids[4]]["updated_at"] == "2026-01-02T03:04:05.000Z"
    assert expected[ids[3]]["phones"] == []
    assert seen[("lead", ids[5])] == {"entity": "lead", "id": ids[5], "op": "delete"}


def _push(srv, username: str, events: list[dict]) -> list[dict]:
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", headers=hdr(srv, username), json={"events": events})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_later_events_of_a_batch_see_the_calls_it_created(srv):
    team = make_team(srv, n_tsr=1, leads_each=2)
    agent = team.tsrs[0]
    lead = team.leads[agent][0]
    answered, missed = (f"c-{uuid.uuid4().hex[:10]}" for _ in range(2))
    ended = {"dialed_at": now_iso(-90), "answered_at": now_iso(-80), "ended_at": now_iso(), "talk_seconds": 80}
    res = _push(srv, agent, [
        event("call_ended", lead, {"call_id": answered, **ended}),
        # The call of this batch was answered: "no answer" does not fit it (core.wrapup.fits).
        event("disposition_recorded", lead, {"call_id": answered, "code": "NO_ANSWER"}),
        event("call_ended", lead, {"call_id": missed, "dialed_at": now_iso(-30), "ended_at": now_iso(),
                                   "sip_status": 480, "talk_seconds": 0}),
        # The same call reported again in the batch: one row, updated.
        event("call_ended", lead, {"call_id": missed, "dialed_at": now_iso(-30), "ended_at": now_iso(),
                                   "sip_status": 486, "talk_seconds": 0}),
        event("disposition_recorded", lead, {"call_id": missed, "code": "NO_ANSWER"}),
    ])
    assert [r["status"] for r in res] == ["accepted", "rejected", "accepted", "accepted", "accepted"], res
    assert res[1]["code"] == OUTCOME_MISMATCH, res[1]
    # A TL's evaluation naming a call the same batch reported as the TL's own: not the agent's call.
    tl_call = f"c-{uuid.uuid4().hex[:10]}"
    res = _push(srv, team.tl, [
        event("call_ended", None, {"call_id": tl_call, **ended}),
        event("coaching_evaluation_recorded", None, {"agent_id": team.user_ids[agent], "call_id": tl_call,
                                                     "source": "recording", "items": [{"item": "greet", "answer": "Y"}]}),
    ])
    assert res[0]["status"] == "accepted" and res[1]["code"] == "call_mismatch", res
    with srv.admin() as s:
        calls = {c.id: c for c in s.query(Call).filter(Call.id.in_([answered, missed, tl_call]))}
        assert calls[missed].sip_status == 486 and calls[answered].talk_seconds == 80
        assert calls[tl_call].user_id == team.user_ids[team.tl]
        assert s.query(Disposition).filter(Disposition.call_id == missed).count() == 1
        assert s.query(Disposition).filter(Disposition.call_id == answered).count() == 0
