"""Pull (changes since a cursor) and push (a batch of events)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

try:  # a C JSON codec: 3-5x faster than json.dumps on a page of 5000 leads
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; plain json still works
    orjson = None
try:
    import zstandard
except ImportError:  # pragma: no cover - then gzip (or nothing) is negotiated
    zstandard = None

from core import pull_lines
from core.contract import ChangeOp, PushStatus
from core.timeutil import utcnow
from server import backup, board, changes, events, pull
from server.api.common import ERRORS, ApiError, Caller, Ctx, run_write
from server.serialize import iso

router = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=ERRORS)

MAX_LIMIT = 5000
MAX_BATCH = 1000
#: Smaller answers are sent as they are (an idle round stays one small packet).
COMPRESS_MIN_BYTES = 1400


def _accepted_codings(request: Request) -> set[str]:
    """Content codings the client accepts (``Accept-Encoding``; ``q=0`` means refused)."""
    out = set()
    for item in request.headers.get("accept-encoding", "").split(","):
        name, _, params = item.partition(";")
        q = params.strip().replace(" ", "")
        if q in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        if name.strip():
            out.add(name.strip().lower())
    return out


def json_answer(request: Request, content: Any) -> Response:
    """JSON (orjson when installed), compressed when the client asked for it and the body is
    big: zstd (fast at both ends) if negotiated, else gzip at level 1. A page of 5000 leads
    is ~3 MB of JSON and ~0.4 MB compressed."""
    body = orjson.dumps(content) if orjson is not None else \
        json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return encoded_answer(request, body, "application/json")


def encoded_answer(request: Request, body: bytes, media_type: str, vary: str = "Accept-Encoding") -> Response:
    """``body`` compressed as json_answer says (when the client accepts it and it is big)."""
    headers: dict[str, str] = {"Vary": vary} if vary != "Accept-Encoding" else {}
    if len(body) >= COMPRESS_MIN_BYTES:
        codings = _accepted_codings(request)
        if zstandard is not None and "zstd" in codings:
            # With its checksum: a body damaged on the way fails to decode instead of
            # decoding to other (valid-looking) JSON.
            body = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(body)
            headers = {"Content-Encoding": "zstd", "Vary": vary}
        elif "gzip" in codings:
            body = gzip.compress(body, compresslevel=1)
            headers = {"Content-Encoding": "gzip", "Vary": vary}
    return Response(body, media_type=media_type, headers=headers)


class Change(BaseModel):
    entity: str
    id: str
    op: ChangeOp
    data: dict[str, Any] | None = None


class PullOut(BaseModel):
    changes: list[Change]
    next_cursor: str
    has_more: bool
    server_time: str
    monitor_public_key: str
    # The database's generation: a new one after a restore (server/backup.py); a client that
    # sees it change pulls from the start and re-sends what it pushed since ``restored_from``.
    generation: str
    restored_from: str | None = None


class PushIn(BaseModel):
    # Items are validated one by one (server/events.py): one bad event is rejected
    # with a reason, it never fails the batch or blocks the client's queue.
    events: list[Any] = Field(max_length=MAX_BATCH)


class PushResult(BaseModel):
    id: str
    status: PushStatus
    reason: str | None = None
    code: str | None = None


class PushOut(BaseModel):
    results: list[PushResult]
    server_time: str


def read_page(s, p, start: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
    """The pull's read, every scope's statement from one snapshot (changes.one_snapshot)."""
    return pull.pull(changes.one_snapshot(s), p, start, limit)


@router.get("/pull", response_model=PullOut, response_model_exclude_none=True)
def pull_changes(request: Request, p: Caller, ctx: Ctx,
                 cursor: str | None = Query(default=None, max_length=20, pattern=r"^\d{0,19}$"),
                 limit: int = Query(default=1000, ge=1, le=MAX_LIMIT)) -> Response:
    try:
        start = int(cursor) if cursor else 0
    except ValueError as exc:  # pattern makes this unreachable; kept for clarity
        raise ApiError(400, "bad_cursor", "cursor is not valid") from exc
    if start > 2**62:
        raise ApiError(400, "bad_cursor", "cursor is not valid")
    with ctx.reader() as s:
        out, next_cursor, has_more = read_page(s, p, start, limit)
        note_sync = board.pull_sync_is_stale(s, p.role, p.user_id, p.team_id)
        gen = backup.read_generation(s)
    if note_sync:  # the TL's board shows when each agent last synced
        run_write(ctx, lambda s: board.emit_sync(s, p.user_id, p.team_id, ctx.config.tz, with_stats=False))
    # Returned as a response, not re-validated against PullOut (documented shape only):
    # validating thousands of leads per page would double the cost of a pull.
    answer = {"changes": out, "next_cursor": str(next_cursor), "has_more": has_more, "server_time": iso(utcnow()),
              "monitor_public_key": ctx.keys.grant_public_b64, "generation": str(gen.value)}
    if gen.restored_from is not None:
        answer["restored_from"] = iso(gen.restored_from)
    if pull_lines.accepts_lines(request.headers.get("accept", "")):
        # The same page in lines (core/pull_lines.py): the client parses it a line at a time.
        changes_out = answer.pop("changes")
        return encoded_answer(request, pull_lines.encode(answer, changes_out), pull_lines.MEDIA_TYPE,
                              vary="Accept, Accept-Encoding")
    return json_answer(request, answer)


@router.post("/push", response_model=PushOut, response_model_exclude_none=True)
def push_events(request: Request, body: PushIn, p: Caller, ctx: Ctx) -> Response:
    def work(s) -> list[dict[str, Any]]:
        results = events.push(s, p, body.events)
        board.after_push(s, p.role, p.user_id, p.team_id, body.events, results, ctx.config.tz)  # the TL's board
        return results

    results = run_write(ctx, work)
    return json_answer(request, {"results": results, "server_time": iso(utcnow())})
