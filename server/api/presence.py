"""Presence: heartbeat/state from agents, a snapshot and an SSE stream for TLs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from server import presence
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, run_write
from server.models import Presence, utcnow
from server.serialize import iso

router = APIRouter(prefix="/api/v1/presence", tags=["presence"], responses=ERRORS)

POLL_S = 0.5  # the stream's DB poll: well inside the 2 s promise
KEEPALIVE_S = 15.0


class PresenceIn(In):
    state: Literal["ready", "on_call", "wrap_up", "paused", "offline"]
    reason: str | None = Field(default=None, max_length=100)
    call_id: str | None = Field(default=None, max_length=64)
    lead_id: str | None = Field(default=None, max_length=64)


class PresenceAck(BaseModel):
    state: str
    server_time: str


class AgentPresence(BaseModel):
    agent_id: str
    username: str
    display_name: str
    role: str
    team_id: str | None
    state: str
    reason: str | None = None
    call_id: str | None = None
    lead_id: str | None = None
    since: str | None = None
    last_seen: str | None = None


# user id -> (state tuple, monotonic time it was last confirmed in the DB), per worker.
# A heartbeat repeating what this worker wrote moments ago costs no DB access at all:
# 500 agents x one heartbeat per 5 s is most of the server's traffic.
_recent: dict[str, tuple[tuple, float]] = {}
_recent_lock = threading.Lock()


@router.post("", response_model=PresenceAck)
async def post_presence(body: PresenceIn, p: Caller, ctx: Ctx) -> dict[str, Any]:
    # async with a cache in front: the common heartbeat (same state, recently
    # written by this worker) is answered on the event loop with no DB access.
    now = utcnow()
    key = (body.state, body.reason, body.call_id, body.lead_id)
    mono = time.monotonic()
    hit = _recent.get(p.user_id)
    if hit and hit[0] == key and mono - hit[1] < presence.TOUCH_AFTER.total_seconds():
        return {"state": body.state, "server_time": iso(now)}

    def write(s) -> dt.datetime:
        row = s.get(Presence, p.user_id)
        if not presence.needs_write(row, body.state, body.reason, body.call_id, body.lead_id, now):
            return row.last_seen
        presence.record(s, p.user_id, p.team_id, body.state, body.reason, body.call_id, body.lead_id)
        return now

    confirmed = await run_in_threadpool(run_write, ctx, write)
    with _recent_lock:
        if len(_recent) > 200_000:
            _recent.clear()
        # Age the entry by how old the DB's last_seen already is.
        _recent[p.user_id] = (key, mono - (now - confirmed).total_seconds())
    return {"state": body.state, "server_time": iso(now)}


def _scope(p) -> tuple[str | None, str | None]:
    """(team_id, user_id) the caller may watch."""
    if p.role == "admin":
        return None, None
    if p.role == "tl":
        if not p.team_id:
            raise ApiError(403, "no_team", "you are not in a team")
        return p.team_id, None
    return None, p.user_id


@router.get("", response_model=list[AgentPresence])
def get_presence(p: Caller, ctx: Ctx) -> list[dict[str, Any]]:
    team_id, user_id = _scope(p)
    with ctx.reader() as s:
        return presence.snapshot(s, team_id, user_id)


@router.get("/stream", responses={200: {"content": {"text/event-stream": {}},
                                        "description": "Server-Sent Events, one `presence` event per change"}})
async def stream(request: Request, p: Caller, ctx: Ctx,
                 max_seconds: float = Query(default=0, ge=0, le=86400,
                                            description="close after this long (0 = never)")) -> StreamingResponse:
    if p.role not in ("tl", "admin"):
        raise ApiError(403, "forbidden", "requires role tl or admin")
    team_id, _ = _scope(p)

    def snap() -> list[dict[str, Any]]:
        with ctx.reader() as s:
            return presence.snapshot(s, team_id)

    async def gen():
        last: dict[str, tuple] = {}
        started = time.monotonic()
        last_sent = started
        yield "retry: 2000\n\n"
        while True:
            if max_seconds and time.monotonic() - started > max_seconds:
                return
            if await request.is_disconnected():
                return
            for item in await run_in_threadpool(snap):
                key = (item["state"], item["reason"], item["call_id"], item["lead_id"], item["since"])
                if last.get(item["agent_id"]) != key:
                    last[item["agent_id"]] = key
                    last_sent = time.monotonic()
                    yield f"event: presence\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
            if time.monotonic() - last_sent > KEEPALIVE_S:
                last_sent = time.monotonic()
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
