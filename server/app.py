"""The FastAPI application: ``create_app(config)``; ``from_env()`` is the uvicorn factory."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import event
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import board, keys, sip_accounts
from server.aiodb import AsyncPg
from server.api import (
    agent,
    auth,
    coaching,
    distribution,
    monitor,
    playback,
    presence,
    recordings,
    reports,
    supervisor,
    sync,
)
from server.api.common import ApiError, ServerContext, require
from server.config import ServerConfig
from server.db import is_sqlite, make_engine, make_sessionmakers, start_checkpointer
from server.floor import FloorHub
from server.security import RevocationCache

log = logging.getLogger("seatmate.server")
API_VERSION = "1"
THREADS = 12


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)[:500] or "invalid request"


class ServerTiming:
    """Pure ASGI middleware: ``Server-Timing: app;dur=<ms>`` on every response, so
    load tests can tell server time from client and network time."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed_send(message) -> None:
            if message["type"] == "http.response.start":
                dur = (time.perf_counter() - t0) * 1000
                message = dict(message, headers=[*message.get("headers", []),
                                                 (b"server-timing", f"app;dur={dur:.2f}".encode())])
            await send(message)

        await self.app(scope, receive, timed_send)


MAX_BODY = 20 * 1024 * 1024  # a push of 1000 events fits many times; recording chunks are ≤ 16 MiB


class BodyLimit:
    """Pure ASGI middleware: bodies over MAX_BODY get 413 before they are buffered."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit() or int(value) > MAX_BODY:
                    await _send_error(send, 413, "too_large", f"request body over {MAX_BODY} bytes")
                    return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise ApiError(413, "too_large", f"request body over {MAX_BODY} bytes")
            return message

        await self.app(scope, counted, send)


async def _send_error(send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _no_telemetry() -> dict:
    """FastAPI's built-in OpenTelemetry bridge (newer FastAPI) asks on every request whether
    a tracer, meter or logger provider is configured: three ``os.environ`` lookups and
    provider calls, ~8 % of the server's CPU under the floor load (py-spy). We configure no
    exporter, so it is switched off; older FastAPI has no such option."""
    import inspect

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}


_NO_TELEMETRY = _no_telemetry()


def create_app(config: ServerConfig) -> FastAPI:
    engine = make_engine(config.db_url, background_checkpoint=True)
    writer, reader = make_sessionmakers(engine)
    with writer() as s:
        server_keys = keys.load_or_create(s)
    config.recordings_dir.mkdir(parents=True, exist_ok=True)
    sip_accounts.configure(config.data_dir)  # the key of the SIP passwords at rest
    ctx = ServerContext(config=config, engine=engine, writer=writer, reader=reader, keys=server_keys,
                        revocations=RevocationCache(config.access_ttl_s),
                        write_lock=threading.Lock() if is_sqlite(config.db_url) else None,
                        aio=None if is_sqlite(config.db_url) else AsyncPg(config.db_url))
    # The live floor: one broadcaster per process (server/floor.py), and the once-a-second
    # check that turns agents whose heartbeats stopped offline on the open boards.
    ctx.floor = FloorHub(config.db_url, reader, writer, ctx.write_lock, workers=config.workers)
    ctx.floor.every(board.SWEEP_S, board.OfflineSweeper(ctx.floor, reader))
    # Every statement this process sends to the database, for diagnostics and benchmarks
    # (an integer increment per query).
    queries = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count_query(*_args) -> None:
        queries["n"] += 1

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Fewer threads than anyio's default 40: past a handful they only fight
        # over the GIL; DB waits are short and the pool has 30 connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        stop_checkpoints = start_checkpointer(config.db_url)
        await ctx.floor.start()
        yield
        await ctx.floor.stop()
        if ctx.aio is not None:
            await ctx.aio.close()
        if stop_checkpoints is not None:
            stop_checkpoints.set()
        engine.dispose()

    app = FastAPI(title="Seatmate server", version=API_VERSION, lifespan=lifespan,
                  description="Sync API v1 for the Seatmate desktop app (docs/sync-api.md).", **_NO_TELEMETRY)
    app.state.ctx = ctx
    app.add_middleware(presence.HeartbeatFastPath)  # innermost of ours: inside the body limit and timing
    app.add_middleware(BodyLimit)
    app.add_middleware(ServerTiming)

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, "internal", "internal server error")

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "api": API_VERSION}

    @app.get("/api/v1/admin/diagnostics", tags=["meta"], dependencies=[Depends(require("admin"))])
    async def diagnostics() -> dict:
        """This worker process: database statements sent so far, the live floor's counters."""
        hub = ctx.floor
        aio = ctx.aio.stats["statements"] if ctx.aio is not None else 0  # the event loop's own (aiodb)
        return {"pid": os.getpid(), "db_queries": queries["n"] + aio,
                "floor": {"kind": hub.kind, "subscribers": hub.subscribers, **hub.stats}}

    for r in (auth.router, sync.router, presence.router, monitor.router, recordings.router, reports.router,
              supervisor.router, agent.router, playback.router, distribution.router, coaching.router):
        app.include_router(r)
    return app


def from_env() -> FastAPI:
    """uvicorn factory (``--factory``): config comes from SEATMATE_SERVER_* variables."""
    from server import logs

    logs.install()  # each worker process configured logging anew: redact its handlers
    return create_app(ServerConfig.from_env())
