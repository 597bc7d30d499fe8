"""Monitor grants: a TL may listen/whisper/barge on an agent of their team who is on a call."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from core import grant_token
from server import presence
from server.api.common import ERRORS, ApiError, Ctx, In, require, run_write
from server.models import MonitorAudit, Presence, User, utcnow
from server.security import Principal
from server.serialize import iso

router = APIRouter(prefix="/api/v1/monitor", tags=["monitor"], responses=ERRORS)

LIFETIME_S = 30  # ≤ 60 s (grant_token.MAX_LIFETIME_S): long enough to place the call


class GrantIn(In):
    agent_id: str = Field(min_length=1, max_length=64)
    mode: Literal["listen", "whisper", "barge"]


class GrantOut(BaseModel):
    token: str
    expires_at: str
    agent_sip_user: str
    jti: str


TeamLeader = Annotated[Principal, Depends(require("tl"))]


@router.post("/grants", response_model=GrantOut)
def create_grant(body: GrantIn, ctx: Ctx, p: TeamLeader) -> dict[str, Any]:
    def grant(s) -> dict[str, Any]:
        agent = s.get(User, body.agent_id)
        # Same answer for "no such agent" and "not in your team": no probing.
        if agent is None or not agent.active or agent.team_id is None or agent.team_id != p.team_id:
            raise ApiError(403, "not_your_team", "agent is not in your team")
        if agent.id == p.user_id:
            raise ApiError(409, "self", "cannot monitor yourself")
        row = s.get(Presence, agent.id)
        now = utcnow()
        if row is None or presence.effective_state(row, now) != "on_call":
            raise ApiError(409, "not_on_call", "agent is not on a call")
        if not agent.sip_user:
            raise ApiError(409, "no_sip_user", "agent has no SIP user")
        jti = uuid.uuid4().hex
        token = grant_token.sign(ctx.keys.grant_key, agent=agent.sip_user, tl=p.user_id, mode=body.mode,
                                 lifetime_s=LIFETIME_S, jti=jti)
        expires = now + dt.timedelta(seconds=LIFETIME_S)
        s.add(MonitorAudit(jti=jti, tl_id=p.user_id, agent_id=agent.id, mode=body.mode,
                           call_id=row.call_id, issued_at=now, expires_at=expires))
        return {"token": token, "expires_at": iso(expires), "agent_sip_user": agent.sip_user, "jti": jti}

    return run_write(ctx, grant)
