"""The agent's side of floor control: a stream of the TL's commands and messages for
this agent (instant delivery; the pull brings the same entities durably), and the
acknowledgement of a command. See docs/supervisor.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import Field

from server import floor, floor_control
from server.api import streams
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, run_write
from server.api.supervisor import CommandOut
from server.models import AgentCommand, utcnow
from server.serialize import iso

router = APIRouter(prefix="/api/v1/agent", tags=["agent"], responses=ERRORS)


class _AgentStream(streams.Handler):
    """``hello`` first (and again after a resync: the app should pull at once), then
    ``command`` and ``message`` events addressed to this agent or their whole team."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.sent = 0

    async def snapshot(self) -> list[str]:
        self.sent += 1
        return [streams.sse("hello", {"user_id": self.user_id, "server_time": iso(utcnow()),
                                      "resync": self.sent > 1})]


@router.get("/stream", responses=streams.SSE_DOC)
async def agent_stream(p: Caller, ctx: Ctx,
                       max_seconds: float = Query(default=0, ge=0, le=86400,
                                                  description="close after this long (0 = never)")):
    topics = [floor.user_topic(p.user_id)]
    if p.team_id:
        topics.append(floor.agents_topic(p.team_id))
    return streams.respond(ctx, topics, _AgentStream(p.user_id), max_seconds, caller=p)


class AckIn(In):
    result: Literal["applied", "deferred", "refused"]
    detail: str | None = Field(default=None, max_length=200, description="why refused / deferred")


@router.post("/commands/{command_id}/ack", response_model=CommandOut)
def ack_command(command_id: Annotated[str, PathParam(max_length=64)], body: AckIn, p: Caller,
                ctx: Ctx) -> dict[str, Any]:
    def work(s) -> dict[str, Any]:
        c = s.get(AgentCommand, command_id)
        if c is None or c.agent_id != p.user_id:
            raise ApiError(404, "not_found", "no such command for you")
        now = utcnow()
        floor_control.acknowledge(s, c, body.result, now, body.detail)
        return floor_control.command_data(c, now)

    return run_write(ctx, work)
