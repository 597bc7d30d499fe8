"""Lead distribution (preview, commit, exclusivity under two TLs, reclaim while the agent is
offline) and the 日报表 over a range (JSON, CSV, XLSX, CLI), over HTTP on both backends."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select

from server import admin, cli
from server.leads_import import ParseResult
from server.models import Lead
from tests.server.helpers import event, hdr, make_team, pull_all


def _campaign_with_leads(srv, n: int) -> tuple[str, list[str]]:
    tag = uuid.uuid4().hex[:8]
    with srv.admin() as s:
        camp = admin.create_campaign(s, f"分配测试-{tag}")
        admin.load_codes(s, camp.name, Path(__file__).resolve().parents[2] / "resources" / "data"
                         / "dispositions_demo.json")
        rows = [{"external_id": f"D-{tag}-{i:04d}", "name": f"客户{i}", "phones": [
            {"number": f"+86137{int(tag[:4], 16) % 10**4:04d}{i:04d}", "label": "mobile"}],
                 "gender": "", "city": "", "plate": "", "vehicle": "", "policy_expiry": None, "last_premium": None,
                 "source": "test", "priority": 1 + i % 3, "notes": ""} for i in range(n)]
        admin.import_rows(s, camp, ParseResult(rows=rows, total=n))
        s.flush()
        return camp.id, [admin.lead_id_for(camp.id, r["external_id"]) for r in rows]


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_preview_then_commit_weighted_and_exclusive_under_two_tls(srv):
    camp, leads = _campaign_with_leads(srv, 40)
    x, y = make_team(srv, n_tsr=2, leads_each=0), make_team(srv, n_tsr=2, leads_each=0)
    body = {"campaign_id": camp, "count": 7, "mode": "even"}
    with srv.client() as c:
        ov = c.get("/api/v1/supervisor/distribution", headers=hdr(srv, x.tl), params={"campaign_id": camp})
        assert ov.status_code == 200, ov.text
        assert ov.json()["unassigned"] == 40 and len(ov.json()["agents"]) == 2
        pv = c.post("/api/v1/supervisor/distribution/preview", headers=hdr(srv, x.tl), json=body).json()
        assert pv["committed"] is False and sorted(a["planned"] for a in pv["agents"]) == [3, 4]
        # Preview changed nothing; a TSR and another team's agent are refused.
        assert c.get("/api/v1/supervisor/distribution", headers=hdr(srv, x.tl),
                     params={"campaign_id": camp}).json()["unassigned"] == 40
        assert c.post("/api/v1/supervisor/distribution/preview", headers=hdr(srv, x.tsrs[0]),
                      json=body).status_code == 403
        bad = c.post("/api/v1/supervisor/distribution/preview", headers=hdr(srv, x.tl),
                     json=body | {"agent_ids": [y.user_ids[y.tsrs[0]]]})
        assert bad.status_code == 403
        # Weighted with a floor: a zero-rate agent still gets the floor.
        pw = c.post("/api/v1/supervisor/distribution/preview", headers=hdr(srv, x.tl),
                    json=body | {"mode": "weighted", "floor": 2, "count": 10}).json()
        assert sum(a["planned"] for a in pw["agents"]) == 10 and min(a["planned"] for a in pw["agents"]) >= 2

        # Two TLs hand out 30 each at the same moment: 40 leads, each to exactly one agent.
        results: dict[str, dict] = {}
        barrier = threading.Barrier(2)

        def go(team) -> None:
            with srv.client() as cc:
                h = hdr(srv, team.tl)
                barrier.wait()
                r = cc.post("/api/v1/supervisor/distribution/commit", headers=h,
                            json={"campaign_id": camp, "count": 30})
                results[team.tl] = r.json() if r.status_code == 200 else {"error": r.text}

        threads = [threading.Thread(target=go, args=(t,)) for t in (x, y)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all("error" not in r for r in results.values()), results
        assert sorted(r["assigned"] for r in results.values()) == [10, 30]
    members = {x.user_ids[u]: x.id for u in x.tsrs} | {y.user_ids[u]: y.id for u in y.tsrs}
    with srv.admin() as s:
        rows = s.execute(select(Lead.id, Lead.assigned_to, Lead.team_id).where(Lead.id.in_(leads))).all()
        assert all(r.assigned_to in members and r.team_id == members[r.assigned_to] for r in rows)
        per = dict(s.execute(select(Lead.team_id, func.count()).where(Lead.id.in_(leads)).group_by(Lead.team_id)).all())
    got = {x.id: results[x.tl]["assigned"], y.id: results[y.tl]["assigned"]}
    assert per == got
    # Each agent's pull has exactly the leads now theirs.
    with srv.client() as c:
        seen, _ = pull_all(c, hdr(srv, x.tsrs[0]))
    mine = {i for (e, i), ch in seen.items() if e == "lead" and ch["op"] == "upsert" and i in set(leads)}
    assert mine == {r.id for r in rows if r.assigned_to == x.user_ids[x.tsrs[0]]}


def test_reclaim_offline_agent_keeps_disposition_and_is_told(srv):
    camp, leads = _campaign_with_leads(srv, 6)
    t = make_team(srv, n_tsr=3, leads_each=0)
    absent, others = t.tsrs[0], t.tsrs[1:]
    with srv.client() as c:
        r = c.post("/api/v1/supervisor/distribution/commit", headers=hdr(srv, t.tl),
                   json={"campaign_id": camp, "count": 6, "agent_ids": [t.user_ids[absent]]})
        assert r.status_code == 200 and r.json()["assigned"] == 6
        _, cursor = pull_all(c, hdr(srv, absent))
        recorded_at = _iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1))
        r = c.post("/api/v1/supervisor/distribution/reclaim", headers=hdr(srv, t.tl),
                   json={"agent_id": t.user_ids[absent], "campaign_id": camp})
        assert r.status_code == 200, r.text
        assert r.json()["reclaimed"] == 6 and r.json()["redistributed"] == 6
        # The agent comes back online: tombstones for the leads and a message saying why.
        seen, _ = pull_all(c, hdr(srv, absent), cursor)
        gone = {i for (e, i), ch in seen.items() if e == "lead" and ch["op"] == "delete"}
        assert gone == set(leads)
        assert any(e == "team_message" and "收回" in ch["data"]["text"] for (e, _i), ch in seen.items())
        # What they recorded offline is accepted, kept and shown to the TL.
        ev = event("disposition_recorded", leads[0], {"code": "NO_ANSWER",
                                                      "connected": False}, at=recorded_at)
        res = c.post("/api/v1/sync/push", headers=hdr(srv, absent), json={"events": [ev]}).json()["results"]
        assert res[0]["status"] == "accepted", res
        ov = c.get("/api/v1/supervisor/distribution", headers=hdr(srv, t.tl), params={"campaign_id": camp}).json()
        flagged = [d for d in ov["after_reclaim"] if d["disposition_id"] == ev["id"]]
        assert flagged and flagged[0]["flag"] == "after_reclaim" and flagged[0]["agent_id"] == t.user_ids[absent]
        by = {a["agent_id"]: a["open_leads"] for a in ov["agents"]}
        assert by[t.user_ids[absent]] == 0 and sum(by[t.user_ids[o]] for o in others) == 6
        # Still not theirs: another agent's lead they never had is refused.
        with srv.admin() as s:
            stranger = s.execute(select(Lead.id).where(Lead.assigned_to.is_not(None),
                                                       Lead.id.not_in(leads)).limit(1)).scalar_one()
        res = c.post("/api/v1/sync/push", headers=hdr(srv, absent), json={"events": [
            event("note_added", stranger, {"text": "x"})]}).json()["results"]
        assert res[0]["code"] == "not_your_lead"


def test_summary_report_range_csv_xlsx_and_cli(srv, tmp_path):
    t = make_team(srv, n_tsr=2, leads_each=2)
    a, b = t.tsrs
    zone = ZoneInfo("Asia/Shanghai")
    base = dt.datetime(2026, 4, 6, 10, 0, tzinfo=zone)
    ev = []
    for day in range(2):
        for i in range(3):  # per day: 3 calls, 2 connected (20 s and 120 s talk)
            start = base + dt.timedelta(days=day, minutes=10 * i)
            ans = i < 2
            cid = f"{t.id}-{day}-{i}"
            ev.append(event("call_ended", t.leads[a][0], {
                "call_id": cid, "dialed_at": _iso(start),
                "answered_at": _iso(start + dt.timedelta(seconds=5)) if ans else None,
                "ended_at": _iso(start + dt.timedelta(seconds=(25, 125, 30)[i])), "talk_seconds": (20, 120, 0)[i]},
                at=_iso(start + dt.timedelta(minutes=2))))
        s0 = base + dt.timedelta(days=day)
        ev.append(event("disposition_recorded", t.leads[a][0], {"code": "REFUSED", "call_id": f"{t.id}-{day}-0"},
                        at=_iso(s0 + dt.timedelta(seconds=25 + 15))))
    ev.append(event("disposition_recorded", t.leads[a][1], {
        "code": "CALLBACK", "call_id": f"{t.id}-1-1", "callback_at": _iso(base + dt.timedelta(days=2))},
        at=_iso(base + dt.timedelta(days=1, minutes=10, seconds=125 + 45))))
    params = {"date_from": "2026-04-06", "date_to": "2026-04-07"}
    with srv.client() as c:
        res = c.post("/api/v1/sync/push", headers=hdr(srv, a), json={"events": ev}).json()["results"]
        assert all(r["status"] == "accepted" for r in res), res
        rep = c.get("/api/v1/reports/summary", headers=hdr(srv, t.tl), params=params)
        assert rep.status_code == 200, rep.text
        rep = rep.json()
        csv_text = c.get("/api/v1/reports/summary", headers=hdr(srv, t.tl), params=params | {"format": "csv"}).text
        xlsx = c.get("/api/v1/reports/summary", headers=hdr(srv, t.tl), params=params | {"format": "xlsx"})
        own = c.get("/api/v1/reports/summary", headers=hdr(srv, b), params=params).json()
        assert c.get("/api/v1/reports/summary", headers=hdr(srv, t.tl),
                     params={"date_from": "2026-04-07", "date_to": "2026-04-01"}).status_code == 400
    row = {r["username"]: r for r in rep["agents"]}[a]
    assert rep["days"] == 2
    assert (row["calls_made"], row["connected"], row["talk_seconds"]) == (6, 4, 280)
    assert row["connect_rate"] == round(4 / 6, 4)
    assert row["quick_refusals"] == 2 and row["callbacks_set"] == 1 and row["conversions"] == 0
    assert row["avg_handle_seconds"] == round((25 + 125 + 30) * 2 / 6, 1)
    assert row["avg_wrap_seconds"] == round((15 + 15 + 45) / 3, 1)
    assert row["targets_met"] is False
    hours = {h["hour"]: h for h in rep["by_hour"]}
    assert hours[10]["calls_made"] == 6 and hours[10]["talk_seconds"] == 280 and sum(
        h["calls_made"] for h in rep["by_hour"]) == 6
    assert [r["username"] for r in own["agents"]] == [b]
    # CSV and XLSX hold exactly the JSON's table.
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["姓名", "用户名", "团队", "通次"] and rows[-1][0] == "合计"
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["坐席", "按小时"]
    ws = wb["坐席"]
    header = [c.value for c in ws[2]]
    assert header == rows[0]
    sheet = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert sheet[a][3:6] == (6, 4, round(4 / 6, 4)) and ws["F3"].number_format == "0.0%"
    assert next(wb["按小时"].iter_rows(min_row=13, max_row=13, values_only=True))[:3] == ("10:00", 6, 280)
    # The same export from the server CLI (a scheduled job).
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--db", srv.db_url, "--data-dir", str(tmp_path), "--team", t.name,
                     "--date", "2026-04-06", "--to", "2026-04-07", "--format", "xlsx", "-o", str(out)]) == 0
    ws2 = load_workbook(out)["坐席"]
    assert [list(r) for r in ws2.iter_rows(values_only=True)][1:] == [list(r) for r in ws.iter_rows(values_only=True)][1:]
