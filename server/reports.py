"""Daily report (日报表) per agent and team: calls made, connected, talk time,
conversions, callbacks due. A "day" is local midnight to midnight in the
server's business time zone (Asia/Shanghai by default)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from core.contract import LeadStatus
from core.timeutil import naive_utc
from server.models import Call, Disposition, Lead, Team, User

COLUMNS = ["agent_id", "username", "display_name", "team", "calls_made", "connected", "talk_seconds",
           "talk_minutes", "conversions", "callbacks_due"]
COLUMN_LABELS_ZH = ["坐席ID", "用户名", "姓名", "团队", "通次", "接通", "通时(秒)", "通时(分)", "成交", "待回访"]


def day_bounds_utc(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = start + dt.timedelta(days=1)
    return naive_utc(start), naive_utc(end)


# Each number's rule, once: used by the team query below and the one-agent statement.
_CONNECTED = case((or_(Call.answered_at.is_not(None), Call.talk_seconds > 0), 1), else_=0)


def _calls_in(start: Any, end: Any) -> tuple:
    return Call.dialed_at >= start, Call.dialed_at < end


def _conversions_in(start: Any, end: Any) -> tuple:
    return Disposition.is_conversion.is_(True), Disposition.occurred_at >= start, Disposition.occurred_at < end


def _callbacks_due(end: Any) -> tuple:
    return Lead.status == LeadStatus.CALLBACK, Lead.next_callback_at.is_not(None), Lead.next_callback_at < end


def agent_stats(s: Session, ids: list[str], start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
    """Per agent: calls_made, connected, talk_seconds (from ``call_ended``, by dialed_at),
    conversions (``is_conversion`` dispositions), callbacks_due (leads in callback status due
    before ``end``) between naive-UTC ``start`` and ``end``. The one copy behind the daily
    report and the TL's live board (server/board.py)."""
    stats: dict[str, dict[str, int]] = {i: {"calls_made": 0, "connected": 0, "talk_seconds": 0,
                                            "conversions": 0, "callbacks_due": 0} for i in ids}
    if ids:
        for uid, n, c, talk in s.execute(
            select(Call.user_id, func.count(), func.sum(_CONNECTED), func.sum(Call.talk_seconds))
            .where(Call.user_id.in_(ids), *_calls_in(start, end))
            .group_by(Call.user_id)
        ).all():
            stats[uid].update(calls_made=int(n), connected=int(c or 0), talk_seconds=int(talk or 0))
        for uid, n in s.execute(
            select(Disposition.user_id, func.count())
            .where(Disposition.user_id.in_(ids), *_conversions_in(start, end))
            .group_by(Disposition.user_id)
        ).all():
            stats[uid]["conversions"] = int(n)
        for uid, n in s.execute(
            select(Lead.assigned_to, func.count())
            .where(and_(Lead.assigned_to.in_(ids), *_callbacks_due(end)))
            .group_by(Lead.assigned_to)
        ).all():
            stats[uid]["callbacks_due"] = int(n)
    return stats


_uid, _start, _end = bindparam("uid"), bindparam("start"), bindparam("end")
# One agent's numbers in one statement, built once (the board recomputes them after every
# push with calls in it: three statements built and compiled per push cost ~1 ms of CPU).
_ONE_CALLS = (select(func.count().label("n"), func.sum(_CONNECTED).label("c"), func.sum(Call.talk_seconds).label("t"))
              .where(Call.user_id == _uid, *_calls_in(_start, _end)).subquery())  # aggregate: always one row
_ONE_AGENT = select(
    _ONE_CALLS.c.n, _ONE_CALLS.c.c, _ONE_CALLS.c.t,
    select(func.count()).select_from(Disposition)
    .where(Disposition.user_id == _uid, *_conversions_in(_start, _end)).scalar_subquery(),
    select(func.count()).select_from(Lead).where(Lead.assigned_to == _uid, *_callbacks_due(_end)).scalar_subquery(),
).select_from(_ONE_CALLS)


def agent_stats_one(s: Session, user_id: str, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """``agent_stats`` for one agent (same rules, same numbers), in one statement."""
    n, c, talk, conv, due = s.execute(_ONE_AGENT, {"uid": user_id, "start": start, "end": end}).one()
    return {"calls_made": int(n or 0), "connected": int(c or 0), "talk_seconds": int(talk or 0),
            "conversions": int(conv or 0), "callbacks_due": int(due or 0)}


def _report_users(s: Session, team_id: str | None, user_id: str | None) -> list[User]:
    """The active non-admin users a report covers (one user, else one team, else all), by username."""
    uq = select(User).where(User.role != "admin", User.active.is_(True))
    if user_id is not None:
        uq = uq.where(User.id == user_id)
    elif team_id is not None:
        uq = uq.where(User.team_id == team_id)
    return list(s.execute(uq.order_by(User.username)).scalars())


def daily(s: Session, day: dt.date, tz: str, team_id: str | None, user_id: str | None) -> dict[str, Any]:
    start, end = day_bounds_utc(day, tz)
    users = _report_users(s, team_id, user_id)
    ids = [u.id for u in users]
    teams = dict(s.execute(select(Team.id, Team.name)).all())
    stats = agent_stats(s, ids, start, end)
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


# -- The 日报表 over a date range (docs/coaching.md, "Daily report") ----------------------
# The rates, averages, the 30-second refusal rule and "targets met" are core.kpi's (the
# agent's app computes its own day with the same KpiSnapshot); here only the sums come from SQL.

MAX_RANGE_DAYS = 92

RANGE_COLUMNS: list[tuple[str, str]] = [
    ("display_name", "姓名"), ("username", "用户名"), ("team", "团队"),
    ("calls_made", "通次"), ("connected", "接通数"), ("connect_rate", "接通率"),
    ("talk_seconds", "通时(秒)"), ("talk_minutes", "通时(分)"), ("conversions", "成交"),
    ("conversion_rate", "成交率"), ("callbacks_set", "预约回访"), ("avg_handle_seconds", "平均处理时长(秒)"),
    ("avg_wrap_seconds", "平均话后处理(秒)"), ("quick_refusals", "30秒内拒绝"),
    ("targets_met", "达标"),
]
HOUR_COLUMNS: list[tuple[str, str]] = [("hour", "时段"), ("calls_made", "通次"), ("talk_seconds", "通时(秒)"),
                                       ("talk_minutes", "通时(分)")]
_RATES = {"connect_rate", "conversion_rate"}


def _seconds(dialect: str, later, earlier):
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _hour_bucket(dialect: str, col):
    if dialect == "postgresql":
        return func.to_char(col, literal_column("'YYYY-MM-DD HH24'"))
    return func.strftime(literal_column("'%Y-%m-%d %H'"), col)


def _targets(s: Session):
    from core.kpi import Targets
    from server.models import Target

    t = s.get(Target, "default")
    return Targets(t.calls_per_day, t.talk_minutes_per_day, t.conversions_per_month) if t else Targets()


def _refusal_codes(s: Session) -> frozenset[str]:
    from core.kpi import DEFAULT_REFUSAL_CODES, refusal_codes_of
    from server.models import Campaign

    codes = set(DEFAULT_REFUSAL_CODES)
    for (rules,) in s.execute(select(Campaign.rules)).all():
        codes |= refusal_codes_of(rules if isinstance(rules, dict) else None)
    return frozenset(codes)


def _row(snap, **ident: Any) -> dict[str, Any]:
    return {**ident, "calls_made": snap.calls_made, "connected": snap.connected,
            "connect_rate": round(snap.connect_rate, 4), "talk_seconds": snap.talk_seconds,
            "talk_minutes": round(snap.talk_seconds / 60, 1), "conversions": snap.conversions,
            "conversion_rate": round(snap.conversion_rate, 4), "callbacks_set": snap.callbacks_set,
            "avg_handle_seconds": round(snap.average_handle_seconds, 1),
            "avg_wrap_seconds": round(snap.average_wrap_seconds, 1), "quick_refusals": snap.quick_refusals,
            "callbacks_due": snap.callbacks_due, "calls_target_met": snap.calls_target_met,
            "talk_target_met": snap.talk_target_met, "targets_met": snap.targets_met}


def summary(s: Session, first: dt.date, last: dt.date, tz: str, team_id: str | None,
            user_id: str | None) -> dict[str, Any]:
    """Per agent and team totals for the local days ``first``..``last`` (inclusive), plus
    calls and talk time by local hour of day (for the charts)."""
    from core.kpi import QUICK_REFUSAL_SECONDS, KpiSnapshot

    days = (last - first).days + 1
    start, _ = day_bounds_utc(first, tz)
    _, end = day_bounds_utc(last, tz)
    dialect = s.get_bind().dialect.name
    users = _report_users(s, team_id, user_id)
    ids = [u.id for u in users]
    teams = dict(s.execute(select(Team.id, Team.name)).all())
    zero = {"calls_made": 0, "connected": 0, "talk_seconds": 0, "handle_seconds": 0, "conversions": 0,
            "callbacks_set": 0, "quick_refusals": 0, "wrap_seconds": 0, "wrapups": 0, "callbacks_due": 0}
    sums: dict[str, dict[str, int]] = {i: dict(zero) for i in ids}
    hours = [{"calls_made": 0, "talk_seconds": 0} for _ in range(24)]
    if ids:
        # Two passes over the period, each grouped in the database: calls by (agent, UTC hour)
        # — the agent totals and the by-hour chart from one scan — and the agents'
        # dispositions joined to their calls.
        connected = case((or_(Call.answered_at.is_not(None), Call.talk_seconds > 0), 1), else_=0)
        handle = case((Call.ended_at.is_not(None), _seconds(dialect, Call.ended_at, Call.dialed_at)), else_=0)
        bucket = _hour_bucket(dialect, Call.dialed_at)
        zone = ZoneInfo(tz)
        local_hour: dict[str, int] = {}
        for uid, b, n, c, talk, hs in s.execute(
            select(Call.user_id, bucket, func.count(), func.sum(connected), func.sum(Call.talk_seconds),
                   func.sum(handle))
            .where(Call.user_id.in_(ids), Call.dialed_at >= start, Call.dialed_at < end)
            .group_by(Call.user_id, bucket)
        ).all():
            row = sums[uid]
            row["calls_made"] += int(n)
            row["connected"] += int(c or 0)
            row["talk_seconds"] += int(talk or 0)
            row["handle_seconds"] += float(hs or 0)
            h = local_hour.get(b)
            if h is None:
                utc = dt.datetime.strptime(str(b), "%Y-%m-%d %H").replace(tzinfo=dt.timezone.utc)
                h = local_hour[b] = utc.astimezone(zone).hour
            hours[h]["calls_made"] += int(n)
            hours[h]["talk_seconds"] += int(talk or 0)
        for row in sums.values():
            row["handle_seconds"] = max(0, round(row["handle_seconds"]))
        conv = case((Disposition.is_conversion.is_(True), 1), else_=0)
        cbs = case((Disposition.callback_at.is_not(None), 1), else_=0)
        refusal = case((and_(Disposition.code.in_(sorted(_refusal_codes(s))),
                             or_(Call.answered_at.is_not(None), Call.talk_seconds > 0),
                             Call.talk_seconds < QUICK_REFUSAL_SECONDS), 1), else_=0)
        wrap = _seconds(dialect, Disposition.occurred_at, Call.ended_at)
        measured = and_(Disposition.supersedes.is_(None), Call.ended_at.is_not(None), wrap >= 0, wrap <= 1800)
        for uid, cv, cb, q, ws, wn in s.execute(
            select(Disposition.user_id, func.sum(conv), func.sum(cbs), func.sum(refusal),
                   func.sum(case((measured, wrap), else_=0)), func.sum(case((measured, 1), else_=0)))
            .outerjoin(Call, Call.id == Disposition.call_id)
            .where(Disposition.user_id.in_(ids), Disposition.occurred_at >= start, Disposition.occurred_at < end)
            .group_by(Disposition.user_id)
        ).all():
            sums[uid].update(conversions=int(cv or 0), callbacks_set=int(cb or 0), quick_refusals=int(q or 0),
                             wrap_seconds=round(float(ws or 0)), wrapups=int(wn or 0))
        for uid, n in s.execute(
            select(Lead.assigned_to, func.count())
            .where(Lead.assigned_to.in_(ids), Lead.status == LeadStatus.CALLBACK,
                   Lead.next_callback_at.is_not(None), Lead.next_callback_at < end)
            .group_by(Lead.assigned_to)
        ).all():
            sums[uid]["callbacks_due"] = int(n)
    targets = _targets(s)
    agents = []
    for u in users:
        agents.append(_row(KpiSnapshot(targets=targets, days=days, **sums[u.id]), agent_id=u.id,
                           username=u.username, display_name=u.display_name, team=teams.get(u.team_id or "", "")))
    total = {k: sum(x[k] for x in sums.values()) for k in zero}
    totals = _row(KpiSnapshot(targets=targets, days=days, **total))
    totals["targets_met"] = sum(1 for a in agents if a["targets_met"])  # agents at target
    totals["agents"] = len(agents)
    by_hour = [{"hour": h, **v, "talk_minutes": round(v["talk_seconds"] / 60, 1)} for h, v in enumerate(hours)]
    return {"from": first.isoformat(), "to": last.isoformat(), "days": days, "timezone": tz,
            "team_id": team_id, "team": teams.get(team_id or "", None),
            "targets": {"calls_per_day": targets.calls_per_day,
                        "talk_minutes_per_day": targets.talk_minutes_per_day},
            "agents": agents, "totals": totals, "by_hour": by_hour}


def _cell(key: str, value: Any) -> Any:
    if key == "targets_met" and isinstance(value, bool):
        return "是" if value else "否"
    return value


def summary_csv(report: dict[str, Any]) -> str:
    """The agents view (one row per agent, then 合计), Chinese headers; UTF-8 with a BOM."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _k, label in RANGE_COLUMNS])
    for a in report["agents"]:
        w.writerow([_cell(k, a[k]) for k, _l in RANGE_COLUMNS])
    t = report["totals"]
    w.writerow(["合计", "", report.get("team") or ""] + [_cell(k, t[k]) for k, _l in RANGE_COLUMNS[3:]])
    return "\ufeff" + buf.getvalue()


def summary_xlsx(report: dict[str, Any]) -> bytes:
    """One sheet per view: 坐席 (per agent + 合计), 按小时 (calls and talk time by hour)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="305496")
    title = f"日报表 {report['from']}" + ("" if report["from"] == report["to"] else f" 至 {report['to']}")
    if report.get("team"):
        title += f" · {report['team']}"

    def sheet(ws, columns: list[tuple[str, str]], rows: list[list[Any]], total: list[Any] | None) -> None:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([label for _k, label in columns])
        for c in range(1, len(columns) + 1):
            cell = ws.cell(row=2, column=c)
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r in rows:
            ws.append(r)
        if total is not None:
            ws.append(total)
            for c in range(1, len(columns) + 1):
                ws.cell(row=ws.max_row, column=c).font = Font(bold=True)
        for c, (key, label) in enumerate(columns, 1):
            letter = get_column_letter(c)
            ws.column_dimensions[letter].width = max(10, len(label) * 2 + 2)
            if key in _RATES:
                for row in range(3, ws.max_row + 1):
                    ws[f"{letter}{row}"].number_format = "0.0%"
        ws.freeze_panes = "A3"

    ws = wb.active
    ws.title = "坐席"
    t = report["totals"]
    sheet(ws, RANGE_COLUMNS, [[_cell(k, a[k]) for k, _l in RANGE_COLUMNS] for a in report["agents"]],
          ["合计", "", report.get("team") or ""] + [_cell(k, t[k]) for k, _l in RANGE_COLUMNS[3:]])
    sheet(wb.create_sheet("按小时"), HOUR_COLUMNS,
          [[f"{h['hour']:02d}:00", h["calls_made"], h["talk_seconds"], h["talk_minutes"]] for h in report["by_hour"]],
          None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
