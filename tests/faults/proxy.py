"""A fault-injecting HTTP/1.1 proxy on loopback, between the sync client and the server.

It understands just enough HTTP to know where a request and its response end
(Content-Length or chunked), so it can break an exchange at a chosen point:

before the server sees the request
  ``drop`` (close), ``reset`` (TCP RST), ``error_5xx`` (answer 502/503 itself),
  ``stall`` (hold the connection past the client's timeout), ``delay``
  (slow, but within the timeout; the exchange then succeeds)
after the server handled (and committed) the request — the answer is lost
  ``reset_after`` (RST instead of the answer), ``drop_after`` (close),
  ``error_after`` (replace the answer with a 500), ``truncate`` (cut the body
  short), ``corrupt`` (break the JSON, length unchanged)
hooks (the campaign kills processes)
  ``kill_server`` (SIGKILL the server while it handles the request),
  ``kill_client`` (SIGKILL the client before / during / after its push)

Every byte between client and proxy is counted, which the benchmark uses to
measure an idle sync round on the wire. Runs an asyncio loop on its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

PRE_FAULTS = ("drop", "reset", "error_5xx", "stall", "delay")
POST_FAULTS = ("reset_after", "drop_after", "error_after", "truncate", "corrupt")
HOOK_FAULTS = ("kill_server", "kill_client")
ALL_FAULTS = PRE_FAULTS + POST_FAULTS + HOOK_FAULTS

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Fault:
    kind: str
    # kill_client: "before" (request not forwarded), "during" (server has it, answer
    # not yet sent), "after" (answer sent; the client is marking results)
    when: str = ""


class Plan:
    """Decides per request whether to inject a fault. Override ``choose``."""

    def choose(self, method: str, path: str) -> Fault | None:
        return None


@dataclass
class RandomPlan(Plan):
    """Inject a fault into a share of requests until ``budget`` faults are spent."""

    rate: float = 0.3
    budget: int = 100
    weights: dict[str, float] = field(default_factory=dict)
    seed: int = 1
    paths: tuple[str, ...] = ("/api/v1/sync/", "/api/v1/auth/refresh")
    enabled: bool = True
    #: Kinds injected first, one each, whatever the weights (a short run that must kill the
    #: server and a client at least once); a hook kind waits for a push.
    must: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.spent = 0
        self._must = list(self.must)
        if not self.weights:
            self.weights = {k: 1.0 for k in PRE_FAULTS + POST_FAULTS}

    def choose(self, method: str, path: str) -> Fault | None:
        with self._lock:
            if not self.enabled or self.spent >= self.budget:
                return None
            if not any(path.startswith(p) for p in self.paths):
                return None
            if self._rng.random() >= self.rate:
                return None
            kinds = [k for k, w in self.weights.items() if w > 0]
            kind = self._rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]
            is_push = method == "POST" and path.startswith("/api/v1/sync/push")
            if self._must and (is_push or self._must[0] not in HOOK_FAULTS):
                kind = self._must.pop(0)
            if kind in HOOK_FAULTS and not is_push:
                kind = "reset_after"  # process kills are aimed at pushes
            self.spent += 1
            when = self._rng.choice(("before", "during", "after")) if kind == "kill_client" else ""
            return Fault(kind, when)


@dataclass
class Stats:
    requests: int = 0
    bytes_from_client: int = 0
    bytes_to_client: int = 0
    faults: Counter = field(default_factory=Counter)
    upstream_down: int = 0


class _Closed(Exception):
    pass


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise _Closed from exc
    except asyncio.LimitOverrunError as exc:
        raise _Closed from exc


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    hdrs: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs


async def _read_body(reader: asyncio.StreamReader, hdrs: dict[str, str], *, until_close: bool) -> bytes:
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        return await reader.readexactly(n) if n else b""
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            out += size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            data = await reader.readexactly(size + 2)
            out += data
            if size == 0:
                return bytes(out)
    if until_close:
        return await reader.read()
    return b""


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _corrupt(body: bytes, rng: random.Random) -> bytes:
    """Break the JSON while keeping its length: structural bytes become garbage."""
    data = bytearray(body)
    spots = [i for i, b in enumerate(data) if b in b'{}[]":,']
    for i in rng.sample(spots, min(3, len(spots))) if spots else []:
        data[i] = ord("#")
    if not spots and data:
        data[len(data) // 2] = 0xFF
    return bytes(data)


class FaultProxy:
    def __init__(self, upstream_port: int, plan: Plan | None = None, *, stall_s: float = 3.0,
                 delay_s: float = 0.3, seed: int = 7) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.plan = plan or Plan()
        self.stall_s = stall_s
        self.delay_s = delay_s
        self.stats = Stats()
        self.hooks: dict[str, Callable[[Fault], None]] = {}
        self.port = 0
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_MAX_HEAD), self._loop
        )
        self._server = fut.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def _close() -> None:
            if self._server is not None:
                self._server.close()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                # Let them unwind (their finally blocks close sockets) while the loop still runs:
                # else they are collected later and raise "Event loop is closed" as unraisable errors.
                await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def set_upstream(self, port: int) -> None:
        self.upstream = ("127.0.0.1", port)

    def _count(self, kind: str) -> None:
        self.stats.faults[kind] += 1

    def _hook(self, fault: Fault) -> None:
        hook = self.hooks.get(fault.kind)
        if hook is not None:
            hook(fault)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await _read_head(reader)
                request_line, hdrs = _headers(head)
                body = await _read_body(reader, hdrs, until_close=False)
                self.stats.requests += 1
                self.stats.bytes_from_client += len(head) + len(body)
                method, path = request_line.split(" ")[:2]
                keep = await self._exchange(method, path.split("?")[0], head + body, writer)
                if not keep:
                    break
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        # Count first: once written, the client thread may read it and look at the stats
        # before this coroutine resumes.
        self.stats.bytes_to_client += len(data)
        writer.write(data)
        await writer.drain()

    async def _exchange(self, method: str, path: str, request: bytes, writer: asyncio.StreamWriter) -> bool:
        fault = self.plan.choose(method, path)
        fired: list[Fault] = []
        try:
            return await self._exchange_with(fault, method, request, writer, fired)
        finally:
            if fault is not None and fault.kind == "kill_client" and not fired:
                # The exchange ended before the planned moment (the server was down or died on
                # the way): a counted kill_client still kills the client.
                with contextlib.suppress(Exception):
                    self._hook(fault)

    async def _fire(self, fault: Fault, fired: list[Fault]) -> None:
        fired.append(fault)
        await asyncio.to_thread(self._hook, fault)

    async def _exchange_with(self, fault: Fault | None, method: str, request: bytes, writer: asyncio.StreamWriter,
                             fired: list[Fault]) -> bool:
        kind = fault.kind if fault else None
        if kind:
            self._count(kind if kind != "kill_client" else f"kill_client_{fault.when}")
        if kind == "drop":
            writer.close()
            return False
        if kind == "reset":
            _rst(writer)
            return False
        if kind == "error_5xx":
            status = self._rng.choice((502, 503))
            body = b'{"detail":"injected"}'
            await self._send(writer, f"HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\n"
                                     f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
            return False
        if kind == "stall":
            await asyncio.sleep(self.stall_s)
            _rst(writer)
            return False
        if kind == "delay":
            await asyncio.sleep(self._rng.uniform(self.delay_s / 3, self.delay_s))
        if kind == "kill_client" and fault.when == "before":
            await self._fire(fault, fired)
            await asyncio.sleep(0.05)
            _rst(writer)
            return False

        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            self.stats.upstream_down += 1
            body = b'{"detail":"upstream down"}'
            await self._send(writer, b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\n"
                                     b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
            return False
        try:
            up_writer.write(request)
            await up_writer.drain()
            if kind == "kill_server":
                # SIGKILL while the server works on it: before or after its commit, by chance.
                await asyncio.sleep(self._rng.uniform(0, 0.03))
                await self._fire(fault, fired)
            if kind == "kill_client" and fault.when == "during":
                await self._fire(fault, fired)
            try:
                resp_head = await asyncio.wait_for(_read_head(up_reader), 30)
                _, rh = _headers(resp_head)
                status_code = int(resp_head.split(b" ", 2)[1])
                no_body = method == "HEAD" or status_code in (204, 304) or 100 <= status_code < 200
                resp_body = b"" if no_body else await asyncio.wait_for(
                    _read_body(up_reader, rh, until_close=True), 30)
            except (_Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                self.stats.upstream_down += 1
                writer.close()
                return False
        finally:
            up_writer.close()

        if kind == "reset_after":
            _rst(writer)
            return False
        if kind == "drop_after":
            writer.close()
            return False
        if kind == "error_after":
            body = b'{"detail":"injected after commit"}'
            await self._send(writer, b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
                                     b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
            return False
        if kind == "truncate" and resp_body:
            await self._send(writer, resp_head + resp_body[: self._rng.randrange(0, len(resp_body))])
            writer.close()
            return False
        if kind == "corrupt" and resp_body:
            resp_body = _corrupt(resp_body, self._rng)
        await self._send(writer, resp_head + resp_body)
        if kind == "kill_client" and fault.when == "after":
            await asyncio.sleep(self._rng.uniform(0, 0.02))
            await self._fire(fault, fired)
        return rh.get("connection", "").lower() != "close"
