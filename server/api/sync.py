"""Pull (changes since a cursor) and push (a batch of events)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from server import events, pull
from server.api.common import ERRORS, ApiError, Caller, Ctx, run_write
from server.models import utcnow
from server.serialize import iso

router = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=ERRORS)

MAX_LIMIT = 5000
MAX_BATCH = 1000


class Change(BaseModel):
    entity: str
    id: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None = None


class PullOut(BaseModel):
    changes: list[Change]
    next_cursor: str
    has_more: bool
    server_time: str
    monitor_public_key: str


class PushIn(BaseModel):
    # Items are validated one by one (server/events.py): one bad event is rejected
    # with a reason, it never fails the batch or blocks the client's queue.
    events: list[Any] = Field(max_length=MAX_BATCH)


class PushResult(BaseModel):
    id: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    code: str | None = None


class PushOut(BaseModel):
    results: list[PushResult]
    server_time: str


@router.get("/pull", response_model=PullOut, response_model_exclude_none=True)
def pull_changes(p: Caller, ctx: Ctx,
                 cursor: str | None = Query(default=None, max_length=20, pattern=r"^\d{0,19}$"),
                 limit: int = Query(default=1000, ge=1, le=MAX_LIMIT)) -> JSONResponse:
    try:
        start = int(cursor) if cursor else 0
    except ValueError as exc:  # pattern makes this unreachable; kept for clarity
        raise ApiError(400, "bad_cursor", "cursor is not valid") from exc
    if start > 2**62:
        raise ApiError(400, "bad_cursor", "cursor is not valid")
    with ctx.reader() as s:
        out, next_cursor, has_more = pull.pull(s, p, start, limit)
    # Returned as a response, not re-validated against PullOut (documented shape only):
    # validating thousands of leads per page would double the cost of a pull.
    return JSONResponse({"changes": out, "next_cursor": str(next_cursor), "has_more": has_more,
                         "server_time": iso(utcnow()), "monitor_public_key": ctx.keys.grant_public_b64})


@router.post("/push", response_model=PushOut, response_model_exclude_none=True)
def push_events(body: PushIn, p: Caller, ctx: Ctx) -> JSONResponse:
    results = run_write(ctx, lambda s: events.push(s, p, body.events))
    return JSONResponse({"results": results, "server_time": iso(utcnow())})
