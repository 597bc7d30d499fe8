"""Supervisor endpoints (班组监控): the live team board, floor control, messages, the audit list.

Every endpoint refuses a TSR (403 ``forbidden``) and a TL asking about another
team (403 ``not_your_team``); see docs/supervisor.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from core.timeutil import naive_utc
from server import audit, board, floor, floor_control
from server.api import streams
from server.api.common import (
    ERRORS,
    ApiError,
    Ctx,
    In,
    require,
    run_write,
    supervised_team,
    team_agent,
)
from server.models import User, utcnow
from server.security import Principal

router = APIRouter(prefix="/api/v1/supervisor", tags=["supervisor"], responses=ERRORS)

Supervisor = Annotated[Principal, Depends(require("tl", "admin"))]
TeamLeader = Annotated[Principal, Depends(require("tl"))]
TEAM_ID = Query(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                description="a TL's own team by default; required for an admin")


# -- shapes (docs/supervisor.md) ---------------------------------------------------------

class CallOut(BaseModel):
    call_id: str | None
    lead_id: str | None
    started_at: str | None
    number_masked: str | None


class PresenceOut(BaseModel):
    state: Literal["ready", "on_call", "wrap_up", "paused", "offline"]
    reason: str | None
    since: str | None
    last_seen: str | None
    version: int
    call: CallOut | None


class TodayOut(BaseModel):
    date: str
    calls_made: int
    connected: int
    talk_seconds: int
    conversions: int
    callbacks_due: int


class TargetsOut(BaseModel):
    calls_per_day: int
    talk_minutes_per_day: int
    conversions_per_month: int


class CommandOut(BaseModel):
    id: str
    agent_id: str
    team_id: str
    kind: Literal["set_state"]
    state: Literal["paused", "ready"]
    reason: str | None
    issued_by: str
    issued_by_name: str
    issued_at: str
    expires_at: str
    status: Literal["pending", "deferred", "applied", "refused", "superseded", "expired"]
    acked_at: str | None


class MonitorOut(BaseModel):
    session_id: str
    tl_id: str
    mode: Literal["listen", "whisper", "barge"]
    call_id: str | None
    started_at: str


class BoardAgent(BaseModel):
    agent_id: str
    username: str
    display_name: str
    sip_user: str | None
    presence: PresenceOut
    today: TodayOut
    targets: TargetsOut
    last_sync_at: str | None
    pending_command: CommandOut | None
    monitor: MonitorOut | None


class BoardOut(BaseModel):
    team_id: str
    team_name: str | None
    server_time: str
    timezone: str
    date: str
    stale_after_s: int
    agents: list[BoardAgent]


class MessageOut(BaseModel):
    id: str
    team_id: str
    sender_id: str
    sender_name: str
    to_agent_id: str | None
    text: str
    sent_at: str


class AuditItem(BaseModel):
    id: int
    at: str
    action: str
    actor_id: str
    actor_username: str
    actor_name: str
    agent_id: str | None
    agent_username: str | None
    agent_name: str | None
    call_id: str | None
    session_id: str | None
    mode: str | None
    duration_s: int | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_before: int | None = Field(description="pass as `before` for the next (older) page; null at the end")


# -- the board ---------------------------------------------------------------------------

@router.get("/board", response_model=BoardOut)
def board_snapshot(p: Supervisor, ctx: Ctx, team_id: str | None = TEAM_ID) -> dict[str, Any]:
    team = supervised_team(p, team_id)
    with ctx.reader() as s:
        return board.snapshot(s, team, ctx.config.tz)


class _BoardStream(streams.Handler):
    """``snapshot`` first, then ``agent`` patches (and ``message``); stale presence
    patches (an older version than the board has) are dropped here."""

    def __init__(self, ctx, team_id: str) -> None:
        self.ctx, self.team_id = ctx, team_id
        self.day: str | None = None
        self.known: dict[str, tuple[int, str]] = {}

    def _load(self) -> dict[str, Any]:
        with self.ctx.reader() as s:
            return board.snapshot(s, self.team_id, self.ctx.config.tz)

    async def snapshot(self) -> list[str]:
        snap = await run_in_threadpool(self._load)
        self.day = snap["date"]
        self.known = {a["agent_id"]: (a["presence"]["version"], a["presence"]["state"]) for a in snap["agents"]}
        return [streams.sse("snapshot", snap)]

    def frame(self, frame: floor.Frame) -> str | None:
        if frame.event != "agent":
            return frame.sse
        agent_id = frame.data.get("agent_id")
        known = self.known.get(agent_id)
        if known is None:
            return None  # not a row of this board (a TL's own presence; a member added since)
        pres = frame.data.get("presence")
        if pres is not None:
            key = (int(pres.get("version") or 0), str(pres.get("state")))
            if key[0] < known[0] or key == known:
                return None
            self.known[agent_id] = key
        return frame.sse

    def needs_snapshot(self) -> bool:
        return self.day is not None and board.today(self.ctx.config.tz).isoformat() != self.day


@router.get("/board/stream", responses=streams.SSE_DOC)
async def board_stream(p: Supervisor, ctx: Ctx, team_id: str | None = TEAM_ID,
                       max_seconds: float = Query(default=0, ge=0, le=86400,
                                                  description="close after this long (0 = never)")):
    team = supervised_team(p, team_id)
    return streams.respond(ctx, [floor.team_topic(team)], _BoardStream(ctx, team), max_seconds, caller=p)


# -- floor control -------------------------------------------------------------------------

class ForceStateIn(In):
    state: Literal["paused", "ready"]
    reason: str | None = Field(default=None, max_length=100, description="required for paused (小休)")


@router.post("/agents/{agent_id}/state", response_model=CommandOut, status_code=202)
def force_state(agent_id: Annotated[str, PathParam(max_length=64)], body: ForceStateIn, p: TeamLeader,
                ctx: Ctx) -> dict[str, Any]:
    reason = (body.reason or "").strip() or None
    if body.state == "paused" and reason is None:
        raise ApiError(422, "reason_required", "a pause needs a reason")

    def work(s) -> dict[str, Any]:
        agent = team_agent(s, p, agent_id)
        tl = s.get(User, p.user_id)
        now = utcnow()
        return floor_control.command_data(floor_control.force_state(s, tl, agent, body.state, reason, now), now)

    return run_write(ctx, work)


class MessageIn(In):
    text: str = Field(min_length=1, max_length=floor_control.MESSAGE_MAX)
    agent_id: str | None = Field(default=None, max_length=64, description="null: the whole team")
    team_id: str | None = Field(default=None, max_length=64, description="your own team (the default)")


@router.post("/messages", response_model=MessageOut, status_code=201)
def send_message(body: MessageIn, p: TeamLeader, ctx: Ctx) -> dict[str, Any]:
    team = supervised_team(p, body.team_id)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "empty", "the message is empty")

    def work(s) -> dict[str, Any]:
        agent = team_agent(s, p, body.agent_id) if body.agent_id is not None else None
        tl = s.get(User, p.user_id)
        return floor_control.message_data(floor_control.send_message(s, tl, team, text, agent, utcnow()))

    return run_write(ctx, work)


# -- audit -----------------------------------------------------------------------------------

@router.get("/audit", response_model=AuditPage)
def audit_list(p: Supervisor, ctx: Ctx, team_id: str | None = TEAM_ID,
               agent_id: str | None = Query(default=None, max_length=64),
               action: Literal[audit.ACTIONS] | None = None,  # type: ignore[valid-type]
               since: dt.datetime | None = None, until: dt.datetime | None = None,
               before: int | None = Query(default=None, ge=1, le=2**62, description="id from next_before"),
               limit: int = Query(default=100, ge=1, le=500)) -> dict[str, Any]:
    team = supervised_team(p, team_id)
    try:
        since_n = naive_utc(since) if since else None
        until_n = naive_utc(until) if until else None
    except (OverflowError, ValueError) as exc:
        raise ApiError(400, "bad_time", "since/until out of range") from exc
    with ctx.reader() as s:
        items, next_before = audit.listing(s, team, agent_id=agent_id, action=action, since=since_n,
                                           until=until_n, before=before, limit=limit)
    return {"items": items, "next_before": next_before}
