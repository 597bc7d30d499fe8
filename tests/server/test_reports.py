"""Daily report (日报表): figures from pushed events, JSON and CSV, scoped by role."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from tests.server.helpers import event, hdr, make_team


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_daily_report_counts_calls_talk_conversions_callbacks(srv):
    t = make_team(srv, n_tsr=2, leads_each=2)
    a, b = t.tsrs
    # A fixed local day in the past, so "today" elsewhere in the suite does not mix in.
    day = dt.date(2026, 3, 2)
    base = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ev = []
    for i in range(3):  # 3 calls, 2 connected, 60 + 120 s
        start = base + dt.timedelta(minutes=10 * i)
        answered = start + dt.timedelta(seconds=5) if i < 2 else None
        ev.append(event("call_ended", t.leads[a][0], {
            "call_id": f"{t.id}-{i}", "dialed_at": _iso(start),
            "answered_at": _iso(answered) if answered else None,
            "ended_at": _iso(start + dt.timedelta(minutes=3)), "sip_status": 200 if answered else 480,
            "talk_seconds": (60, 120, 0)[i]}, at=_iso(start + dt.timedelta(minutes=3))))
    ev.append(event("disposition_recorded", t.leads[a][0], {"code": "SALE"}, at=_iso(base + dt.timedelta(hours=1))))
    ev.append(event("disposition_recorded", t.leads[a][1], {"code": "CALLBACK", "callback_at": _iso(base + dt.timedelta(hours=3))},
                    at=_iso(base + dt.timedelta(hours=1))))
    # The day after: must not count.
    ev.append(event("call_ended", t.leads[a][0], {
        "call_id": f"{t.id}-late", "dialed_at": _iso(base + dt.timedelta(days=1)),
        "ended_at": _iso(base + dt.timedelta(days=1, minutes=1)), "talk_seconds": 30},
        at=_iso(base + dt.timedelta(days=1, minutes=1))))
    with srv.client() as c:
        res = c.post("/api/v1/sync/push", headers=hdr(srv, a), json={"events": ev}).json()["results"]
        assert all(r["status"] == "accepted" for r in res), res
        rep = c.get("/api/v1/reports/daily", headers=hdr(srv, t.tl), params={"date": day.isoformat()}).json()
        csv_text = c.get("/api/v1/reports/daily", headers=hdr(srv, t.tl),
                         params={"date": day.isoformat(), "format": "csv"}).text
        own = c.get("/api/v1/reports/daily", headers=hdr(srv, b), params={"date": day.isoformat()}).json()
    row = {r["username"]: r for r in rep["agents"]}
    assert (row[a]["calls_made"], row[a]["connected"], row[a]["talk_seconds"], row[a]["conversions"],
            row[a]["callbacks_due"]) == (3, 2, 180, 1, 1)
    assert row[b]["calls_made"] == 0
    assert rep["totals"]["calls_made"] == 3 and rep["totals"]["talk_minutes"] == 3.0
    assert set(row) == {t.tl, a, b}
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert rows[0][4] == "通次" and rows[1][4] == "calls_made"
    by_name = {r[1]: r for r in rows[2:]}
    assert by_name[a][4:] == ["3", "2", "180", "3.0", "1", "1"]
    assert rows[-1][0] == "TOTAL"
    # A TSR sees only their own row.
    assert [r["username"] for r in own["agents"]] == [b]


def test_report_scope_and_bad_input(srv):
    x, y = make_team(srv, n_tsr=1, leads_each=0), make_team(srv, n_tsr=1, leads_each=0)
    with srv.client() as c:
        assert c.get("/api/v1/reports/daily", headers=hdr(srv, x.tl), params={"team_id": y.id}).status_code == 403
        assert c.get("/api/v1/reports/daily", headers=hdr(srv, x.tsrs[0]), params={"team_id": y.id}).status_code == 403
        ok = c.get("/api/v1/reports/daily", headers=srv.headers("admin", "admin-demo-2026"), params={"team_id": y.id})
        assert ok.status_code == 200 and {r["username"] for r in ok.json()["agents"]} == {y.tl, y.tsrs[0]}
        for params in ({"date": "2026-02-30"}, {"date": "yesterday"}, {"format": "pdf"}, {"team_id": "a b"}):
            r = c.get("/api/v1/reports/daily", headers=hdr(srv, x.tl), params=params)
            assert r.status_code in (400, 422) and r.json()["detail"], params
