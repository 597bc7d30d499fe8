"""Daily report, JSON or CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from server import reports
from server.api.common import ERRORS, ApiError, Caller, Ctx

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERRORS)


class AgentDay(BaseModel):
    agent_id: str
    username: str
    display_name: str
    team: str
    calls_made: int
    connected: int
    talk_seconds: int
    talk_minutes: float
    conversions: int
    callbacks_due: int


class Totals(BaseModel):
    calls_made: int
    connected: int
    talk_seconds: int
    talk_minutes: float
    conversions: int
    callbacks_due: int


class DailyReport(BaseModel):
    date: str
    timezone: str
    team_id: str | None
    team: str | None
    agents: list[AgentDay]
    totals: Totals


@router.get("/daily", response_model=DailyReport,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}})
def daily(p: Caller, ctx: Ctx,
          date: str | None = Query(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$"),
          team_id: str | None = Query(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
          format: Literal["json", "csv"] = "json") -> Any:
    try:
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(reports.ZoneInfo(ctx.config.tz)).date()
    except ValueError as exc:
        raise ApiError(400, "bad_date", "date must be a valid YYYY-MM-DD") from exc
    user_id = None
    if p.role == "tsr":
        if team_id is not None and team_id != p.team_id:
            raise ApiError(403, "forbidden", "not your team")
        team_id, user_id = p.team_id, p.user_id
    elif p.role == "tl":
        if team_id is not None and team_id != p.team_id:
            raise ApiError(403, "forbidden", "not your team")
        if p.team_id is None:
            raise ApiError(403, "no_team", "you are not in a team")
        team_id = p.team_id
    with ctx.reader() as s:
        report = reports.daily(s, day, ctx.config.tz, team_id, user_id)
    if format == "csv":
        return Response(reports.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="daily-{day.isoformat()}.csv"'})
    return report


def _scope(p: Caller, team_id: str | None) -> tuple[str | None, str | None]:
    """(team_id, user_id) the caller may see: a TSR their own row, a TL their team, an admin any."""
    if p.role in ("tsr", "tl"):
        if team_id is not None and team_id != p.team_id:
            raise ApiError(403, "forbidden", "not your team")
        if p.role == "tsr":
            return p.team_id, p.user_id
        if p.team_id is None:
            raise ApiError(403, "no_team", "you are not in a team")
        return p.team_id, None
    return team_id, None


def parse_range(tz: str, date_from: str | None, date_to: str | None) -> tuple[dt.date, dt.date]:
    try:
        today = dt.datetime.now(reports.ZoneInfo(tz)).date()
        first = dt.date.fromisoformat(date_from) if date_from else today
        last = dt.date.fromisoformat(date_to) if date_to else (first if date_from else today)
    except ValueError as exc:
        raise ApiError(400, "bad_date", "dates must be valid YYYY-MM-DD") from exc
    if last < first:
        raise ApiError(400, "bad_range", "to is before from")
    if (last - first).days + 1 > reports.MAX_RANGE_DAYS:
        raise ApiError(400, "bad_range", f"at most {reports.MAX_RANGE_DAYS} days")
    return first, last


def _date() -> Any:
    return Query(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


@router.get("/summary",
            responses={200: {"content": {"application/json": {}, "text/csv": {},
                                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                             "description": "the 日报表 for a day or a range: JSON, CSV or XLSX"}})
def summary(p: Caller, ctx: Ctx, date_from: str | None = _date(), date_to: str | None = _date(),
            team_id: str | None = Query(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
            format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    """Per agent and team: 通次, 通时, connected, connect rate, conversions, callbacks set,
    average handle and wrap-up time, refusals within 30 s, targets met; calls and talk time
    by hour (docs/coaching.md)."""
    first, last = parse_range(ctx.config.tz, date_from, date_to)
    team, user = _scope(p, team_id)
    with ctx.reader() as s:
        report = reports.summary(s, first, last, ctx.config.tz, team, user)
    name = f"report-{first.isoformat()}" + ("" if first == last else f"_{last.isoformat()}")
    if format == "csv":
        return Response(reports.summary_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(reports.summary_xlsx(report),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return report
