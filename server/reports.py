"""Daily report (日报表) per agent and team: calls made, connected, talk time,
conversions, callbacks due. A "day" is local midnight to midnight in the
server's business time zone (Asia/Shanghai by default)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from server.models import Call, Disposition, Lead, Team, User

COLUMNS = ["agent_id", "username", "display_name", "team", "calls_made", "connected", "talk_seconds",
           "talk_minutes", "conversions", "callbacks_due"]
COLUMN_LABELS_ZH = ["坐席ID", "用户名", "姓名", "团队", "通次", "接通", "通时(秒)", "通时(分)", "成交", "待回访"]


def day_bounds_utc(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = start + dt.timedelta(days=1)
    to_utc = lambda t: t.astimezone(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731
    return to_utc(start), to_utc(end)


def daily(s: Session, day: dt.date, tz: str, team_id: str | None, user_id: str | None) -> dict[str, Any]:
    start, end = day_bounds_utc(day, tz)
    uq = select(User).where(User.role != "admin", User.active.is_(True))
    if user_id is not None:
        uq = uq.where(User.id == user_id)
    elif team_id is not None:
        uq = uq.where(User.team_id == team_id)
    users = list(s.execute(uq.order_by(User.username)).scalars())
    ids = [u.id for u in users]
    teams = dict(s.execute(select(Team.id, Team.name)).all())
    stats: dict[str, dict[str, int]] = {i: {"calls_made": 0, "connected": 0, "talk_seconds": 0,
                                            "conversions": 0, "callbacks_due": 0} for i in ids}
    if ids:
        connected = case((or_(Call.answered_at.is_not(None), Call.talk_seconds > 0), 1), else_=0)
        for uid, n, c, talk in s.execute(
            select(Call.user_id, func.count(), func.sum(connected), func.sum(Call.talk_seconds))
            .where(Call.user_id.in_(ids), Call.dialed_at >= start, Call.dialed_at < end)
            .group_by(Call.user_id)
        ).all():
            stats[uid].update(calls_made=int(n), connected=int(c or 0), talk_seconds=int(talk or 0))
        for uid, n in s.execute(
            select(Disposition.user_id, func.count())
            .where(Disposition.user_id.in_(ids), Disposition.is_conversion.is_(True),
                   Disposition.occurred_at >= start, Disposition.occurred_at < end)
            .group_by(Disposition.user_id)
        ).all():
            stats[uid]["conversions"] = int(n)
        for uid, n in s.execute(
            select(Lead.assigned_to, func.count())
            .where(and_(Lead.assigned_to.in_(ids), Lead.status == "callback",
                        Lead.next_callback_at.is_not(None), Lead.next_callback_at < end))
            .group_by(Lead.assigned_to)
        ).all():
            stats[uid]["callbacks_due"] = int(n)
    agents = []
    for u in users:
        st = stats[u.id]
        agents.append({"agent_id": u.id, "username": u.username, "display_name": u.display_name,
                       "team": teams.get(u.team_id or "", ""), **st,
                       "talk_minutes": round(st["talk_seconds"] / 60, 1)})
    totals = {k: sum(a[k] for a in agents) for k in ("calls_made", "connected", "talk_seconds",
                                                     "conversions", "callbacks_due")}
    totals["talk_minutes"] = round(totals["talk_seconds"] / 60, 1)
    return {"date": day.isoformat(), "timezone": tz, "team_id": team_id,
            "team": teams.get(team_id or "", None), "agents": agents, "totals": totals}


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMN_LABELS_ZH)
    w.writerow(COLUMNS)
    for a in report["agents"]:
        w.writerow([a[c] for c in COLUMNS])
    t = report["totals"]
    w.writerow(["TOTAL", "", "合计", report.get("team") or ""] + [t[c] for c in COLUMNS[4:]])
    # BOM: Excel (what TLs open this in) needs it to read UTF-8 Chinese.
    return "\ufeff" + buf.getvalue()
