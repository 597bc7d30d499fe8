"""Monitoring (监听 / 耳语 / 强插): grants and audited sessions.

A TL may get a grant for an agent of their team who is on a call; the TL's app
reports the session it opened with it (start), every mode change (answered with
a fresh grant for the new mode) and its end. Each step is a row in the
supervisor audit (docs/supervisor.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from core import grant_token
from server import audit, monitoring, presence
from server.api.common import ERRORS, ApiError, Ctx, In, require, run_write, team_agent
from server.models import MonitorAudit, MonitorSession, Presence, User, utcnow
from server.security import Principal
from server.serialize import iso

router = APIRouter(prefix="/api/v1/monitor", tags=["monitor"], responses=ERRORS)

LIFETIME_S = 30  # ≤ 60 s (grant_token.MAX_LIFETIME_S): long enough to place the call
START_WITHIN = dt.timedelta(minutes=5)  # a grant older than this cannot start a session


class GrantIn(In):
    agent_id: str = Field(min_length=1, max_length=64)
    mode: Literal["listen", "whisper", "barge"]


class GrantOut(BaseModel):
    token: str
    expires_at: str
    agent_sip_user: str
    jti: str


TeamLeader = Annotated[Principal, Depends(require("tl"))]


def _sign(s, ctx, p: Principal, agent: User, mode: str, call_id: str | None, now: dt.datetime,
          session_id: str | None = None) -> dict[str, Any]:
    if not agent.sip_user:
        raise ApiError(409, "no_sip_user", "agent has no SIP user")
    jti = uuid.uuid4().hex
    tl = s.get(User, p.user_id)
    # Bound to the TL's softphone (``from``) and to the agent's call (``call``, when the agent's
    # presence names it): the agent's softphone refuses the grant from anyone else or on another call.
    token = grant_token.sign(ctx.keys.grant_key, agent=agent.sip_user, tl=p.user_id, mode=mode,
                             lifetime_s=LIFETIME_S, jti=jti, caller=tl.sip_user if tl is not None else None,
                             call=call_id)
    expires = now + dt.timedelta(seconds=LIFETIME_S)
    s.add(MonitorAudit(jti=jti, tl_id=p.user_id, agent_id=agent.id, mode=mode, call_id=call_id, issued_at=now,
                       expires_at=expires))
    audit.record(s, action="monitor_grant", actor_id=p.user_id, team_id=agent.team_id, agent_id=agent.id,
                 call_id=call_id, session_id=session_id, mode=mode, detail={"jti": jti}, at=now)
    return {"token": token, "expires_at": iso(expires), "agent_sip_user": agent.sip_user, "jti": jti}


@router.post("/grants", response_model=GrantOut)
def create_grant(body: GrantIn, ctx: Ctx, p: TeamLeader) -> dict[str, Any]:
    def grant(s) -> dict[str, Any]:
        # Same answer for "no such agent" and "not in your team": no probing.
        agent = team_agent(s, p, body.agent_id)
        row = s.get(Presence, agent.id)
        now = utcnow()
        if row is None or presence.effective_state(row, now) != "on_call":
            raise ApiError(409, "not_on_call", "agent is not on a call")
        return _sign(s, ctx, p, agent, body.mode, row.call_id, now)

    return run_write(ctx, grant)


class SessionStartIn(In):
    jti: str = Field(min_length=1, max_length=64, description="the grant the TL's app used")


class SessionModeIn(In):
    mode: Literal["listen", "whisper", "barge"]


class SessionEndIn(In):
    reason: str | None = Field(default=None, max_length=20, description="e.g. tl_hangup, call_ended, failed")


class SessionOut(BaseModel):
    session_id: str
    jti: str
    team_id: str
    tl_id: str
    agent_id: str
    call_id: str | None
    mode: Literal["listen", "whisper", "barge"]
    started_at: str
    ended_at: str | None
    end_reason: str | None
    duration_s: int
    grant: GrantOut | None = Field(default=None, description="a fresh grant for the new mode (mode changes)")


@router.post("/sessions", response_model=SessionOut, status_code=201)
def start_session(body: SessionStartIn, ctx: Ctx, p: TeamLeader) -> dict[str, Any]:
    def work(s) -> dict[str, Any]:
        g = s.get(MonitorAudit, body.jti)
        now = utcnow()
        if g is None or g.tl_id != p.user_id:
            raise ApiError(404, "not_found", "no such grant of yours")
        agent = team_agent(s, p, g.agent_id)  # still in your team?
        if now - g.issued_at > START_WITHIN:
            raise ApiError(409, "grant_too_old", "that grant is too old to start a session")
        if s.execute(select(MonitorSession.id).where(MonitorSession.jti == g.jti)).first() is not None:
            raise ApiError(409, "already_started", "a session was started with this grant")
        m = MonitorSession(id=str(uuid.uuid4()), jti=g.jti, team_id=agent.team_id, tl_id=p.user_id,
                           agent_id=agent.id, call_id=g.call_id, mode=g.mode, started_at=now)
        s.add(m)
        audit.record(s, action="monitor_start", actor_id=p.user_id, team_id=m.team_id, agent_id=agent.id,
                     call_id=m.call_id, session_id=m.id, mode=m.mode, at=now)
        monitoring.publish(s, m)
        return monitoring.view(m, now)

    return run_write(ctx, work)


def _own_session(s, p: Principal, session_id: str) -> MonitorSession:
    m = s.get(MonitorSession, session_id)
    if m is None or m.tl_id != p.user_id:
        raise ApiError(404, "not_found", "no such session of yours")
    return m


@router.post("/sessions/{session_id}/mode", response_model=SessionOut)
def change_mode(session_id: Annotated[str, PathParam(max_length=64)], body: SessionModeIn, ctx: Ctx,
                p: TeamLeader) -> dict[str, Any]:
    def work(s) -> dict[str, Any]:
        m = _own_session(s, p, session_id)
        if m.ended_at is not None:
            raise ApiError(409, "ended", "the session has ended")
        agent = team_agent(s, p, m.agent_id)
        now = utcnow()
        grant = _sign(s, ctx, p, agent, body.mode, m.call_id, now, session_id=m.id)
        if body.mode != m.mode:
            audit.record(s, action="monitor_mode", actor_id=p.user_id, team_id=m.team_id, agent_id=m.agent_id,
                         call_id=m.call_id, session_id=m.id, mode=body.mode,
                         duration_s=monitoring.duration_s(m, now), detail={"from": m.mode, "to": body.mode},
                         at=now)
            m.mode = body.mode
            monitoring.publish(s, m)
        return {**monitoring.view(m, now), "grant": grant}

    return run_write(ctx, work)


@router.post("/sessions/{session_id}/end", response_model=SessionOut)
def end_session(session_id: Annotated[str, PathParam(max_length=64)], body: SessionEndIn, ctx: Ctx,
                p: TeamLeader) -> dict[str, Any]:
    def work(s) -> dict[str, Any]:
        m = _own_session(s, p, session_id)
        now = utcnow()
        monitoring.end(s, m, now, body.reason or "tl_ended", actor_id=p.user_id)  # idempotent
        return monitoring.view(m, now)

    return run_write(ctx, work)
