"""Coaching (辅导表) as events: TL evaluates → correction supersedes → the agent acknowledges or
disputes → the TL sees it; the question inbox: agents' questions grouped → the TL answers →
a new script version the agent pulls, marked new. Over HTTP, both backends."""

from __future__ import annotations

import uuid
from pathlib import Path

from core import questions, script_doc
from server import admin
from server.demo import CAMPAIGN
from server.leads_import import ParseResult
from tests.server.helpers import event, hdr, make_team, now_iso, pull_all

DATA = Path(__file__).resolve().parents[2] / "resources" / "data"


def _push(c, h, *events) -> list[dict]:
    r = c.post("/api/v1/sync/push", headers=h, json={"events": list(events)})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def _eval(agent_id: str, call_id: str, campaign_id: str, items, **extra) -> dict:
    return event("coaching_evaluation_recorded", None, {"agent_id": agent_id, "call_id": call_id,
                                                        "campaign_id": campaign_id, "items": items, **extra})


def test_evaluation_correction_ack_dispute_round_trip(srv):
    t, other = make_team(srv, n_tsr=2, leads_each=1), make_team(srv, n_tsr=1, leads_each=0)
    agent, peer = t.tsrs
    aid = t.user_ids[agent]
    with srv.admin() as s:
        camp = admin.find_campaign(s, CAMPAIGN).id
    call = f"co-{t.id[:8]}"
    with srv.client() as c:
        seen, cursor = pull_all(c, hdr(srv, agent))
        form = seen[("coaching_form", camp)]["data"]
        assert form["sections"][0]["items"][0] == {"id": "1.1", "text": "问候客户"} and form["answers"] == ["Y", "N", "NA"]
        assert c.get(f"/api/v1/coaching/forms/{camp}", headers=hdr(srv, t.tl)).json()["name"] == form["name"]
        items = [{"item": "1.1", "answer": "Y", "comment": "热情", "at_s": 3.5},
                 {"item": "1.2", "answer": "N", "comment": "没有报工号", "at_s": 9},
                 {"item": "1.3", "answer": "NA"}]
        first = _eval(aid, call, camp, items, overall_comment="开场要完整", source="recording")
        # Who may evaluate, and the payload is checked against the form.
        assert _push(c, hdr(srv, peer), _eval(aid, call, camp, items))[0]["code"] == "forbidden"  # a TSR
        assert _push(c, hdr(srv, other.tl), _eval(aid, call, camp, items))[0]["code"] == "forbidden"
        assert _push(c, hdr(srv, t.tl), _eval(aid, call, camp, [{"item": "9.9", "answer": "Y"}]))[0]["code"] == "malformed"
        assert _push(c, hdr(srv, t.tl), _eval(aid, call, camp, [{"item": "1.1", "answer": "X"}]))[0]["code"] == "malformed"
        assert _push(c, hdr(srv, t.tl), first)[0]["status"] == "accepted"
        # A correction is a new event superseding the old one; the old one stays.
        fixed = _eval(aid, call, camp, [*items[:1], {"item": "1.2", "answer": "Y", "at_s": 9}, items[2]],
                      supersedes=first["id"], overall_comment="复核后修改")
        assert _push(c, hdr(srv, t.tl), fixed)[0]["status"] == "accepted"
        again = _eval(aid, call, camp, items, supersedes=first["id"])
        assert _push(c, hdr(srv, t.tl), again)[0]["code"] == "bad_supersedes"
        # The agent pulls both (the old one marked superseded) and answers the current one.
        seen, cursor = pull_all(c, hdr(srv, agent), cursor)
        old, new = seen[("coaching_evaluation", first["id"])]["data"], seen[("coaching_evaluation", fixed["id"])]["data"]
        assert old["superseded_by"] == fixed["id"] and old["score"] == 50.0
        assert new["score"] == 100.0 and new["items"][0]["at_s"] == 3.5 and new["ack_state"] == "none"
        assert not any(e == "coaching_evaluation" for e, _i in pull_all(c, hdr(srv, peer))[0])
        def ack():
            return event("coaching_acknowledged", None, {"evaluation_id": fixed["id"], "comment": "收到"})

        assert _push(c, hdr(srv, peer), ack())[0]["code"] == "not_your_evaluation"
        assert _push(c, hdr(srv, t.tl), ack())[0]["code"] == "not_your_evaluation"
        assert _push(c, hdr(srv, agent), event("coaching_disputed", None, {"evaluation_id": fixed["id"]}))[0][
            "code"] == "malformed"
        assert _push(c, hdr(srv, agent), ack())[0]["status"] == "accepted"
        dispute = event("coaching_disputed", None, {"evaluation_id": fixed["id"], "comment": "1.2 我报了工号，见 0:09"})
        assert _push(c, hdr(srv, agent), dispute)[0]["status"] == "accepted"
        # The TL sees the dispute, by pull and by the direct read.
        tl_seen, _ = pull_all(c, hdr(srv, t.tl))
        mine = tl_seen[("coaching_evaluation", fixed["id"])]["data"]
        assert mine["ack_state"] == "disputed" and "工号" in mine["ack_comment"]
        listed = c.get("/api/v1/coaching/evaluations", headers=hdr(srv, t.tl), params={"call_id": call}).json()
        assert [e["id"] for e in listed["evaluations"]] == [fixed["id"]]
        assert c.get("/api/v1/coaching/evaluations", headers=hdr(srv, other.tl),
                     params={"call_id": call}).json()["evaluations"] == []
        assert c.get("/api/v1/coaching/evaluations", headers=hdr(srv, peer),
                     params={"agent_id": aid}).status_code == 403


def _campaign_with_script(srv, t) -> tuple[str, dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    with srv.admin() as s:
        camp = admin.create_campaign(s, f"问答测试-{tag}")
        admin.load_script(s, camp.name, DATA / "script_renewal_demo.md", title="话术")
        rows = [{"external_id": f"Q-{tag}-{i}", "name": f"问客户{i}", "phones": [
            {"number": f"+86136{int(tag[:4], 16) % 10**4:04d}{i:04d}", "label": "mobile"}],
                 "gender": "", "city": "", "plate": "", "vehicle": "", "policy_expiry": None, "last_premium": None,
                 "source": "test", "priority": 3, "notes": ""} for i in range(len(t.tsrs))]
        admin.import_rows(s, camp, ParseResult(rows=rows, total=len(rows)))
        s.flush()
        leads = {}
        for u, row in zip(t.tsrs, rows, strict=True):
            lead = s.get(admin.Lead, admin.lead_id_for(camp.id, row["external_id"]))
            admin.assign_lead(s, lead, s.get(admin.User, t.user_ids[u]))
            leads[u] = lead.id
        return camp.id, leads


def test_question_inbox_answer_becomes_script_version_an_agent_pulls(srv):
    t, other = make_team(srv, n_tsr=2, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    camp, leads = _campaign_with_script(srv, t)
    a, b = t.tsrs
    with srv.client() as c:
        _seen, cursor = pull_all(c, hdr(srv, b))
        q1 = event("unscripted_question", leads[a], {"text": "你们理赔要多久？", "call_id": "qc-1"}, at=now_iso(-30))
        q2 = event("unscripted_question", leads[b], {"text": "你们理赔 要多久啊", "call_id": "qc-2"}, at=now_iso(-20))
        q3 = event("unscripted_question", leads[a], {"text": "为什么今年保费比去年贵"}, at=now_iso(-10))
        res = _push(c, hdr(srv, a), q1, q3) + _push(c, hdr(srv, b), q2)
        assert all(r["status"] == "accepted" for r in res), res
        r = c.get("/api/v1/supervisor/questions", headers=hdr(srv, t.tl), params={"campaign_id": camp})
        assert r.status_code == 200, r.text
        groups = r.json()["groups"]
        assert [g["count"] for g in groups] == [2, 1]
        g = groups[0]
        assert [q["id"] for q in g["questions"]] == [q1["id"], q2["id"]] and g["agents"] == 2
        assert g["questions"][0]["lead_name"] == "问客户0" and g["questions"][1]["call_id"] == "qc-2"
        assert c.get("/api/v1/supervisor/questions", headers=hdr(srv, other.tl),
                     params={"campaign_id": camp}).json()["groups"] == []
        assert c.get("/api/v1/supervisor/questions", headers=hdr(srv, a)).status_code == 403
        body = {"campaign_id": camp, "question_ids": [q1["id"], q2["id"]], "question": "理赔要多久？",
                "answer": "资料齐全的小额案件一般 3 个工作日内结案。"}
        assert c.post("/api/v1/supervisor/questions/answer", headers=hdr(srv, other.tl), json=body).status_code == 403
        r = c.post("/api/v1/supervisor/questions/answer", headers=hdr(srv, t.tl), json=body)
        assert r.status_code == 200, r.text
        version = r.json()["version"]
        assert version == 2
        assert c.post("/api/v1/supervisor/questions/answer", headers=hdr(srv, t.tl), json=body).status_code == 409
        # The agent's next pull brings the new script version with the answer, marked new.
        seen, _ = pull_all(c, hdr(srv, b), cursor)
        script = next(ch["data"] for (e, _i), ch in seen.items() if e == "script" and ch["data"]["campaign_id"] == camp)
        assert script["version"] == version
        doc = script_doc.parse(script["body_markdown"])
        last = doc.objections[-1]
        assert last.title == "理赔要多久？" and "3 个工作日" in last.body and questions.marked_new(last.body)
        assert [s.title for s in doc.sections][-2:] == ["成交确认", "结束语"]  # the rest is untouched
        open_now = c.get("/api/v1/supervisor/questions", headers=hdr(srv, t.tl), params={"campaign_id": camp}).json()
        assert [q["id"] for g in open_now["groups"] for q in g["questions"]] == [q3["id"]]
        done = c.get("/api/v1/supervisor/questions", headers=hdr(srv, t.tl),
                     params={"campaign_id": camp, "status": "answered"}).json()["groups"]
        assert done[0]["answered"] and done[0]["questions"][0]["script_version"] == 2


def test_load_coaching_form_cli_per_campaign(srv, tmp_path):
    from server import cli

    t = make_team(srv, n_tsr=1, leads_each=0)
    camp, _leads = _campaign_with_script(srv, t)
    with srv.client() as c:
        _seen, cursor = pull_all(c, hdr(srv, t.tsrs[0]))
        bad = tmp_path / "bad.json"
        bad.write_text('{"name": "x", "sections": []}', encoding="utf-8")
        assert cli.main(["load-coaching-form", "--db", srv.db_url, "--data-dir", str(tmp_path),
                         "--campaign", camp, str(bad)]) == 2
        assert cli.main(["load-coaching-form", "--db", srv.db_url, "--data-dir", str(tmp_path),
                         "--campaign", camp, str(DATA / "coaching_form_demo.json")]) == 0
        seen, _ = pull_all(c, hdr(srv, t.tsrs[0]), cursor)
    form = seen[("coaching_form", camp)]["data"]
    assert form["version"] == 1 and form["sections"][-1]["items"][-1]["id"] == "7.4"
