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
