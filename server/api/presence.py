"""Presence: heartbeat/state from agents, a snapshot and an SSE stream for TLs.

The TL's full board is ``/api/v1/supervisor/board`` (server/api/supervisor.py);
``/presence/stream`` is the older, presence-only stream, now fed by the same
live floor (server/floor.py): no database query per open stream.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Literal, NamedTuple

import orjson
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import bindparam, select

from server import floor, payload_rules, presence
from server.aiodb import Unavailable, compile_pg
from server.api import streams
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, ServerContext, bearer_caller, run_write
from server.models import Lead, Presence, User, utcnow
from server.security import Principal
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
# The same statements as psycopg SQL, for the event-loop path on PostgreSQL (server/aiodb.py).
_PG_READ = compile_pg(presence.HEARTBEAT_READ)
_PG_LEAD_OWNER = compile_pg(_LEAD_OWNER)
_PG_TOUCH = compile_pg(presence.TOUCH)


class _Lead(NamedTuple):
    team_id: str | None
    assigned_to: str | None


def _decide(row: Any, body: PresenceIn, now: dt.datetime) -> str | None:
    """None: nothing to write; ``touch``: only last_seen; ``record``: the full write."""
    if not presence.needs_write(row, body.state, body.reason, body.call_id, body.lead_id, now):
        return None
    return "touch" if presence.is_touch(row, body.state, body.reason, body.call_id, body.lead_id, now) else "record"


def _refuse_unless_owner(p: Principal, lead: Any) -> None:
    if not payload_rules.owns_lead(p.role, p.user_id, p.team_id, lead):
        # A call claimed on someone else's lead (or none): refused, never shown on a board.
        raise ApiError(403, "not_your_lead", "lead is not assigned to you")


async def _heartbeat_pg(ctx: ServerContext, p: Principal, body: PresenceIn, now: dt.datetime) -> None:
    """PostgreSQL: the read and a last_seen refresh are single autocommit statements run
    on the event loop (no thread hop, no transaction); only a real change goes through
    record() in the thread pool."""
    assert ctx.aio is not None
    try:
        row = await ctx.aio.fetchone(_PG_READ, {"uid": p.user_id})
        stored = None if row is None else presence.HeartbeatRow(*row)
        if body.lead_id is not None and not presence.claim_checked(stored, body.state, body.call_id, body.lead_id):
            lead = await ctx.aio.fetchone(_PG_LEAD_OWNER, {"id": body.lead_id})
            _refuse_unless_owner(p, None if lead is None else _Lead(*lead))
        write = _decide(stored, body, now)
        if write == "touch" and await ctx.aio.rowcount(_PG_TOUCH, presence.touch_params(
                p.user_id, p.team_id, body.state, body.reason, body.call_id, body.lead_id, now)) == 1:
            return
    except Unavailable as exc:
        raise ApiError(503, "busy", "database busy, retry") from exc
    if write is not None:  # a change, or the row changed under us: the full, locked write
        await run_in_threadpool(_record, ctx, p, body)


def _record(ctx: ServerContext, p: Principal, body: PresenceIn) -> None:
    run_write(ctx, lambda s: presence.record(s, p.user_id, p.team_id, body.state, body.reason, body.call_id,
                                             body.lead_id, body.number_e164))


def _heartbeat_sqlite(ctx: ServerContext, p: Principal, body: PresenceIn, now: dt.datetime) -> str | None:
    # SQLite: the read is a few B-tree pages of a local file (WAL: readers never wait for the
    # writer), cheaper than the thread-pool hop: it runs on the loop.
    with ctx.engine.connect() as conn:
        row = presence.heartbeat_row(conn, p.user_id)
        if body.lead_id is not None and not presence.claim_checked(row, body.state, body.call_id, body.lead_id):
            _refuse_unless_owner(p, conn.execute(_LEAD_OWNER, {"id": body.lead_id}).first())
        return _decide(row, body, now)


def _touch_sqlite(ctx: ServerContext, p: Principal, body: PresenceIn, now: dt.datetime) -> bool:
    lock = ctx.write_lock or contextlib.nullcontext()
    with lock, ctx.writer() as s:
        done = s.connection().execute(presence.TOUCH, presence.touch_params(
            p.user_id, p.team_id, body.state, body.reason, body.call_id, body.lead_id, now)).rowcount == 1
        s.commit()
    return done


async def _heartbeat(ctx: ServerContext, p: Principal, body: PresenceIn) -> bytes:
    now = utcnow()
    if ctx.aio is not None:
        await _heartbeat_pg(ctx, p, body, now)
    else:
        write = _heartbeat_sqlite(ctx, p, body, now)
        if write == "touch" and not await run_in_threadpool(_touch_sqlite, ctx, p, body, now):
            write = "record"
        if write == "record":
            await run_in_threadpool(_record, ctx, p, body)
    # The answer as bytes at once (PresenceAck documents it): no response-model pass.
    return b'{"state":"%s","server_time":"%s"}' % (body.state.encode(), iso(now).encode())


@router.post("", response_model=PresenceAck)
async def post_presence(body: PresenceIn, p: Caller, ctx: Ctx) -> Response:
    return Response(await _heartbeat(ctx, p, body), media_type="application/json")


PATH = router.prefix


class HeartbeatFastPath:
    """Pure ASGI middleware for the floor's most frequent request, ``POST /api/v1/presence``
    (four in five requests of a floor): a well-formed, authenticated heartbeat is answered
    here, by the same code as the route (``_heartbeat``), without FastAPI's routing,
    dependency solving and response machinery (~30 % of a heartbeat's CPU). Anything else —
    a body that does not parse or validate, a missing/invalid/revoked token, another
    content type — goes on to the route with its body replayed, so every error answer is
    the route's own. Errors raised by the heartbeat itself are answered like the app's
    ApiError handler does."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        messages = []
        chunks = []
        try:
            for _ in range(100_000):  # bounded (BodyLimit caps the bytes anyway)
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except ApiError as exc:  # BodyLimit's 413 for a chunked body, answered as the route would
            await _answer(send, exc.status, orjson.dumps({"detail": exc.detail, "code": exc.code}), exc.headers)
            return
        ctx: ServerContext = scope["app"].state.ctx if "app" in scope else None
        p = body = None
        if ctx is not None and messages[-1]["type"] == "http.request" and not messages[-1].get("more_body"):
            headers = dict(reversed(scope["headers"]))  # a repeated header: the first, as Starlette reads it
            if headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json":
                try:
                    body = PresenceIn.model_validate(orjson.loads(b"".join(chunks)))
                except (orjson.JSONDecodeError, ValidationError):
                    body = None
                if body is not None:
                    p = bearer_caller(ctx, headers.get(b"authorization", b"").decode("latin-1"))
        if p is None or body is None:
            replay = iter(messages)

            async def again() -> dict:
                return next(replay, None) or await receive()

            await self.app(scope, again, send)
            return
        try:
            out = await _heartbeat(ctx, p, body)
        except ApiError as exc:
            await _answer(send, exc.status, orjson.dumps({"detail": exc.detail, "code": exc.code}), exc.headers)
            return
        await _answer(send, 200, out)


async def _answer(send, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items())]})
    await send({"type": "http.response.body", "body": body})


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
