"""Presence: heartbeat/state from agents, a snapshot and an SSE stream for TLs.

The TL's full board is ``/api/v1/supervisor/board`` (server/api/supervisor.py);
``/presence/stream`` is the older, presence-only stream, now fed by the same
live floor (server/floor.py): no database query per open stream.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, select

from server import floor, payload_rules, presence
from server.api import streams
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, run_write
from server.models import Lead, Presence, User, utcnow
from server.serialize import iso

router = APIRouter(prefix="/api/v1/presence", tags=["presence"], responses=ERRORS)


class PresenceIn(In):
    state: Literal["ready", "on_call", "wrap_up", "paused", "offline"]
    reason: str | None = Field(default=None, max_length=100)
    call_id: str | None = Field(default=None, max_length=64)
    lead_id: str | None = Field(default=None, max_length=64)
    # The number being called (any spelling): stored masked only, for the TL's board.
    number_e164: str | None = Field(default=None, max_length=32)


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


# What owns_lead reads of a lead: two columns, not the whole row (phones, custom fields).
_LEAD_OWNER = select(Lead.team_id, Lead.assigned_to).where(Lead.id == bindparam("id"))


@router.post("", response_model=PresenceAck)
async def post_presence(body: PresenceIn, p: Caller, ctx: Ctx) -> dict[str, Any]:
    now = utcnow()

    def needed() -> bool:
        # The row is the truth: read it (a primary-key lookup, no write lock); write only
        # when the state changed or last_seen needs refreshing (one heartbeat in three).
        with ctx.engine.connect() as conn:
            if ctx.write_lock is None:
                # PostgreSQL: single-statement reads need no transaction; autocommit saves the
                # BEGIN and ROLLBACK round trips (2 of 3 per heartbeat).
                conn.execution_options(isolation_level="AUTOCOMMIT")
            row = presence.heartbeat_row(conn, p.user_id)
            if body.lead_id is not None and not presence.claim_checked(row, body.state, body.call_id, body.lead_id):
                lead = conn.execute(_LEAD_OWNER, {"id": body.lead_id}).first()
                if not payload_rules.owns_lead(p.role, p.user_id, p.team_id, lead):
                    # A call claimed on someone else's lead (or none): refused, never shown on a board.
                    raise ApiError(403, "not_your_lead", "lead is not assigned to you")
            return presence.needs_write(row, body.state, body.reason, body.call_id, body.lead_id, now)

    # SQLite: the read is a few B-tree pages of a local file (WAL: readers never wait for the
    # writer), cheaper than the thread-pool hop. PostgreSQL: a network round trip and a pool
    # checkout that can wait — kept off the loop, so a slow database never stalls the streams
    # and health checks this instance serves (the hop costs ~0.3 ms CPU, bench_request_cpu).
    if await run_in_threadpool(needed) if ctx.write_lock is None else needed():
        await run_in_threadpool(run_write, ctx, lambda s: presence.record(
            s, p.user_id, p.team_id, body.state, body.reason, body.call_id, body.lead_id, body.number_e164))
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


class _LegacyStream(streams.Handler):
    """One ``presence`` event per agent (the snapshot), then one per change."""

    def __init__(self, ctx, team_id: str | None) -> None:
        self.ctx, self.team_id = ctx, team_id
        self.users: dict[str, User] = {}
        self.known: dict[str, tuple[int, str]] = {}

    def _load(self) -> list[tuple[User, Presence | None]]:
        q = (select(User, Presence).outerjoin(Presence, Presence.user_id == User.id)
             .where(User.active.is_(True), User.role != "admin").order_by(User.username))
        if self.team_id is not None:
            q = q.where(User.team_id == self.team_id)
        with self.ctx.reader() as s:
            return [tuple(r) for r in s.execute(q).all()]

    async def snapshot(self) -> list[str]:
        rows = await run_in_threadpool(self._load)
        now = utcnow()
        out = []
        for user, row in rows:
            self.users[user.id] = user
            item = presence.legacy_item(user, row, now)
            key = (row.version if row else 0, item["state"])
            if self.known.get(user.id) != key:
                self.known[user.id] = key
                out.append(streams.sse("presence", item))
        return out

    def frame(self, frame: floor.Frame) -> str | None:
        pres = frame.data.get("presence") if frame.event == "agent" else None
        user = self.users.get(frame.data.get("agent_id", ""))
        if pres is None or user is None:
            return None
        key = (int(pres.get("version") or 0), pres.get("state"))
        known = self.known.get(user.id)
        if known is not None and (key[0] < known[0] or key == known):
            return None
        self.known[user.id] = key
        call = pres.get("call") or {}
        return streams.sse("presence", {
            "agent_id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role, "team_id": user.team_id, "state": pres.get("state"), "reason": pres.get("reason"),
            "call_id": call.get("call_id"), "lead_id": call.get("lead_id"), "since": pres.get("since"),
            "last_seen": pres.get("last_seen")})


@router.get("/stream", responses=streams.SSE_DOC)
async def stream(p: Caller, ctx: Ctx,
                 max_seconds: float = Query(default=0, ge=0, le=86400,
                                            description="close after this long (0 = never)")):
    if p.role not in ("tl", "admin"):
        raise ApiError(403, "forbidden", "requires role tl or admin")
    team_id, _ = _scope(p)
    topics = [floor.team_topic(team_id)] if team_id else [floor.ALL_TEAMS]
    return streams.respond(ctx, topics, _LegacyStream(ctx, team_id), max_seconds, caller=p)
