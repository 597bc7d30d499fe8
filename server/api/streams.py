"""Server-Sent Events on top of the live floor (server/floor.py).

A stream subscribes to its topics *before* reading its snapshot (so nothing
committed in between is lost), sends the snapshot, then forwards the hub's
frames. The only database access is the snapshot: at connect, after a resync
(the stream fell behind, or the LISTEN connection was re-established) and when
a handler asks for one (the board at local midnight).
"""

from __future__ import annotations

import abc
import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from server.api.common import ApiError, ServerContext
from server.floor import RESYNC, Frame
from server.security import Principal

KEEPALIVE_S = 15.0
# An open stream re-checks its caller (revoked? role or team changed?) about once a second
# against the process's cache; the cache is reloaded by requests every second, and for
# streams alone at most every AUTHZ_RELOAD_S (an idle instance with boards open: one
# small query per 3 s, not per board).
AUTHZ_RELOAD_S = 3.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_DOC = {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events (docs/supervisor.md)"}}


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class Handler(abc.ABC):
    """What a stream does with its snapshot and the frames it is given."""

    @abc.abstractmethod
    async def snapshot(self) -> list[str]:
        """The SSE texts that open (and, on a resync, reopen) the stream."""

    def frame(self, frame: Frame) -> str | None:
        """The text to send for a frame, or None to skip it."""
        return frame.sse

    def needs_snapshot(self) -> bool:
        """Checked about once a second: True sends a fresh snapshot (e.g. a new day)."""
        return False


def respond(ctx: ServerContext, topics: list[str], handler: Handler, max_seconds: float,
            caller: Principal | None = None) -> StreamingResponse:
    """``caller``: the stream ends (the client reconnects, and is asked again) once the
    caller's session is revoked or an admin changed their role or team: a demoted TL's
    open board closes within a few seconds (AUTHZ_RELOAD_S + 1), on whichever instance."""
    hub = ctx.floor
    if hub is None:
        raise ApiError(503, "unavailable", "the live floor is not running")

    async def gen() -> AsyncIterator[str]:
        sub = hub.subscribe(topics)
        try:
            started = last_sent = last_check = time.monotonic()
            yield "retry: 2000\n\n"
            for chunk in await handler.snapshot():
                yield chunk
            while True:
                now = time.monotonic()
                timeout = KEEPALIVE_S - (now - last_sent)
                if max_seconds:
                    timeout = min(timeout, started + max_seconds - now)
                    if timeout <= 0:
                        return
                item = await sub.get(max(0.05, min(timeout, 1.0)))
                now = time.monotonic()
                out: list[str] = []
                if item is RESYNC or (now - last_check >= 1.0 and handler.needs_snapshot()):
                    out = await handler.snapshot()
                elif isinstance(item, Frame):
                    text = handler.frame(item)
                    if text:
                        out = [text]
                if now - last_check >= 1.0:
                    last_check = now
                    if caller is not None and await asyncio.to_thread(
                            ctx.revocations.current, ctx.reader, caller, AUTHZ_RELOAD_S) != caller:
                        return
                if not out and now - last_sent >= KEEPALIVE_S:
                    out = [": keepalive\n\n"]
                for chunk in out:
                    yield chunk
                if out:
                    last_sent = now
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(gen(), media_type="text/event-stream", headers=SSE_HEADERS)


SnapshotLoader = Callable[[], Awaitable[dict[str, Any]]]
