"""Pull and push against the real server: cursors, paging, tombstones, each event once."""

from __future__ import annotations

import concurrent.futures
import uuid

from core.grant_token import load_public_key
from server import admin
from server.models import Lead, User
from tests.server.helpers import event, hdr, make_team, now_iso, pull_all


def test_pull_pages_with_monotonic_cursor_and_no_repeats(srv):
    t = make_team(srv, n_tsr=1, leads_each=7)
    h = hdr(srv, t.tsrs[0])
    with srv.client() as c:
        cursor, pages, ids = None, 0, []
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            body = c.get("/api/v1/sync/pull", headers=h, params=params).json()
            assert len(body["changes"]) <= 3
            assert cursor is None or int(body["next_cursor"]) >= int(cursor)
            ids += [(ch["entity"], ch["id"]) for ch in body["changes"]]
            cursor, pages = body["next_cursor"], pages + 1
            assert body["monitor_public_key"]
            if not body["has_more"]:
                break
            assert pages < 100
        assert len(ids) == len(set(ids)), "an entity came twice in one pull sequence"
        assert {i for e, i in ids if e == "lead"} == set(t.leads[t.tsrs[0]])
        # Nothing changed: the same cursor gives an empty page.
        again = c.get("/api/v1/sync/pull", headers=h, params={"cursor": cursor}).json()
        assert again["changes"] == [] and again["has_more"] is False and again["next_cursor"] == cursor


def test_pull_includes_reference_data_and_public_key(srv):
    with srv.client() as c:
        seen, _ = pull_all(c, srv.headers("wangfang"))
        body = c.get("/api/v1/sync/pull", headers=srv.headers("wangfang"), params={"limit": 1}).json()
    entities = {e for e, _ in seen}
    assert {"campaign", "script", "disposition_code", "lead", "target"} <= entities
    camp = next(v for (e, _), v in seen.items() if e == "campaign")["data"]
    assert camp["rules"]["compliance"]["max_attempts_per_lead_per_day"] == 3
    code = seen[("disposition_code", f"{camp['id']}:INTERESTED")]["data"]
    assert code["requires_callback"] is True and code["label"] == "有意向"
    lead = next(v for (e, _), v in seen.items() if e == "lead")["data"]
    assert lead["phones"][0]["number"].startswith("+86")
    load_public_key(body["monitor_public_key"])  # a valid Ed25519 key


def test_tl_pulls_team_leads_only(srv):
    a, b = make_team(srv), make_team(srv)
    with srv.client() as c:
        seen, _ = pull_all(c, hdr(srv, a.tl))
    got = {i for e, i in seen if e == "lead"}
    assert got == {x for ids in a.leads.values() for x in ids}
    assert not got & {x for ids in b.leads.values() for x in ids}


def test_reassigned_lead_is_a_tombstone_for_the_old_agent(srv):
    t = make_team(srv, n_tsr=2, leads_each=2)
    old, new = t.tsrs
    lead_id = t.leads[old][0]
    with srv.client() as c:
        _, cur_old = pull_all(c, hdr(srv, old))
        _, cur_new = pull_all(c, hdr(srv, new))
        _, cur_tl = pull_all(c, hdr(srv, t.tl))
        with srv.admin() as s:
            admin.assign_lead(s, s.get(Lead, lead_id), s.get(User, t.user_ids[new]))
        seen_old, _ = pull_all(c, hdr(srv, old), cur_old)
        seen_new, _ = pull_all(c, hdr(srv, new), cur_new)
        seen_tl, _ = pull_all(c, hdr(srv, t.tl), cur_tl)
    assert seen_old == {("lead", lead_id): {"entity": "lead", "id": lead_id, "op": "delete"}}
    assert seen_new[("lead", lead_id)]["op"] == "upsert"
    assert seen_new[("lead", lead_id)]["data"]["assigned_to"] == t.user_ids[new]
    assert seen_tl[("lead", lead_id)]["op"] == "upsert"  # still the TL's team
    # The old agent may no longer write to it.
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", headers=hdr(srv, old),
                   json={"events": [event("note_added", lead_id, {"text": "x"})]}).json()
    assert r["results"][0]["status"] == "rejected" and r["results"][0]["code"] == "not_your_lead"


def _push(c, h, events):
    r = c.post("/api/v1/sync/push", headers=h, json={"events": events})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_push_derives_lead_state_and_pull_returns_it(srv):
    t = make_team(srv, n_tsr=1, leads_each=3)
    agent = t.tsrs[0]
    h = hdr(srv, agent)
    l1, l2, l3 = t.leads[agent]
    cb = now_iso(86400)
    call = f"c1-{uuid.uuid4().hex[:8]}"  # the server is shared: another test's agent may own "c1"
    with srv.client() as c:
        _, cursor = pull_all(c, h)
        res = _push(c, h, [
            event("call_attempted", l1, {"call_id": call, "number_e164": "+8613900000001", "direction": "out"}),
            event("disposition_recorded", l1, {"call_id": call, "code": "INTERESTED", "callback_at": cb}),
            event("disposition_recorded", l2, {"code": "SALE"}),
            event("disposition_recorded", l3, {"code": "DNC"}),
        ])
        assert [r["status"] for r in res] == ["accepted"] * 4
        seen, _ = pull_all(c, h, cursor)
    d1, d2, d3 = (seen[("lead", x)]["data"] for x in (l1, l2, l3))
    assert d1["status"] == "callback" and d1["next_callback_at"].startswith(cb[:16])
    assert d1["last_disposition"] == "INTERESTED" and d1["last_attempt_at"]
    assert d2["status"] == "done" and d2["last_disposition"] == "SALE"
    assert d3["status"] == "closed"
    # DNC code: the lead's number is now on the do-not-call list for everyone.
    assert ("dnc", d3["phones"][0]["number"]) in seen


def test_push_rejections_have_reasons_and_never_fail_the_batch(srv):
    t = make_team(srv, n_tsr=2, leads_each=1)
    mine, theirs = t.leads[t.tsrs[0]][0], t.leads[t.tsrs[1]][0]
    h = hdr(srv, t.tsrs[0])
    batch = [
        event("disposition_recorded", mine, {"code": "NO_SUCH_CODE"}),
        event("disposition_recorded", mine, {"code": "CALLBACK"}),  # callback required
        event("disposition_recorded", mine, {"code": "INSURED_ELSEWHERE"}),  # note required
        event("disposition_recorded", theirs, {"code": "SALE"}),
        event("disposition_recorded", "no-such-lead", {"code": "SALE"}),
        event("teleport", mine, {}),
        {"id": "not-a-uuid", "type": "note_added", "occurred_at": now_iso(), "lead_id": mine, "payload": {}},
        {"id": str(uuid.uuid4()), "type": "note_added", "occurred_at": "yesterday", "lead_id": mine},
        event("note_added", mine, {"text": ""}),
        event("call_attempted", mine, {"call_id": "c", "number_e164": "13800000000"}),
        event("note_added", mine, {"text": "x" * 20000}),
        "not an object",
        event("note_added", mine, {"text": "fine"}),
    ]
    with srv.client() as c:
        res = _push(c, h, batch)
        codes = [r.get("code") for r in res]
        assert codes == ["unknown_code", "callback_required", "note_required", "not_your_lead", "not_your_lead",
                         "unknown_type", "malformed", "malformed", "malformed", "malformed", "too_large",
                         "malformed", None]
        assert all(r["reason"] for r in res[:-1]) and res[-1]["status"] == "accepted"
        # A retry of a rejected event gets the same answer; an accepted one is a duplicate.
        again = _push(c, h, [batch[0], batch[-1]])
        assert again[0]["status"] == "rejected" and again[0]["code"] == "unknown_code"
        assert again[1]["status"] == "duplicate"


def test_retry_after_lost_response_changes_nothing(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    lead = t.leads[t.tsrs[0]][0]
    h = hdr(srv, t.tsrs[0])
    ev = event("note_added", lead, {"text": "一次"})
    with srv.client() as c:
        _, cursor = pull_all(c, h)
        assert _push(c, h, [ev])[0]["status"] == "accepted"
        seen, cursor2 = pull_all(c, h, cursor)
        notes = seen[("lead", lead)]["data"]["notes"]
        for _ in range(3):
            assert _push(c, h, [ev])[0]["status"] == "duplicate"
        seen2, _ = pull_all(c, h, cursor2)
    assert notes.count("一次") == 1
    assert seen2 == {}, "a duplicate must not produce a change"


def test_concurrent_identical_pushes_store_the_event_once(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    lead = t.leads[t.tsrs[0]][0]
    h = hdr(srv, t.tsrs[0])
    events = [event("note_added", lead, {"text": f"n{i}"}) for i in range(20)]

    def push_all(_):
        with srv.client() as c:
            return _push(c, h, events)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(push_all, range(6)))
    for i in range(20):
        statuses = sorted(r[i]["status"] for r in results)
        assert statuses == ["accepted"] + ["duplicate"] * 5, statuses
    with srv.client() as c:
        seen, _ = pull_all(c, h)
    notes = seen[("lead", lead)]["data"]["notes"]
    assert all(notes.count(f"] n{i}\n") + notes.endswith(f"] n{i}") == 1 for i in range(20))


def test_late_older_event_does_not_override_newer_state(srv):
    t = make_team(srv, n_tsr=1, leads_each=1)
    lead = t.leads[t.tsrs[0]][0]
    h = hdr(srv, t.tsrs[0])
    with srv.client() as c:
        _push(c, h, [event("disposition_recorded", lead, {"code": "SALE"}, at=now_iso(-60))])
        _push(c, h, [event("disposition_recorded", lead, {"code": "REFUSED"}, at=now_iso(-600))])
        seen, _ = pull_all(c, h)
    assert seen[("lead", lead)]["data"]["last_disposition"] == "SALE"


def test_event_id_of_another_user_is_not_a_duplicate(srv):
    t = make_team(srv, n_tsr=2, leads_each=1)
    a, b = t.tsrs
    ev = event("unscripted_question", None, {"text": "保费能分期吗？"})
    with srv.client() as c:
        assert _push(c, hdr(srv, a), [ev])[0]["status"] == "accepted"
        r = _push(c, hdr(srv, b), [ev])[0]
    assert r["status"] == "rejected" and r["code"] == "id_conflict"


def test_batch_shape_errors_are_4xx(srv):
    h = srv.headers("lina")
    with srv.client() as c:
        for body in [{}, {"events": "x"}, {"events": [{}] * 1001}, [], "x"]:
            r = c.post("/api/v1/sync/push", headers=h, json=body)
            assert r.status_code == 422 and r.json()["code"] == "invalid_request", (body, r.text)
        r = c.post("/api/v1/sync/push", headers=h | {"Content-Type": "application/json"}, content=b"{not json")
        assert r.status_code == 422
        for cursor in ["abc", "-1", "1" * 25]:
            r = c.get("/api/v1/sync/pull", headers=h, params={"cursor": cursor})
            assert r.status_code == 422, cursor
        assert c.get("/api/v1/sync/pull", headers=h, params={"limit": 0}).status_code == 422
        assert c.get("/api/v1/sync/pull", headers=h, params={"limit": 5001}).status_code == 422
