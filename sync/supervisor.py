"""Supervisor mode's client (班组监控), docs/supervisor.md.

Two halves, both blocking httpx like :mod:`sync.client`:

- :class:`SupervisorClient` — request/response calls through an
  :class:`~sync.client.ApiClient` (its tokens, refresh and error mapping): the
  board snapshot, floor control, messages, monitor grants and sessions, the audit
  list; and, for an agent's app, acknowledging a TL's command.
- :class:`EventStream` — one Server-Sent Events stream held open on a thread of
  its own, reconnecting with backoff; every event goes to a callback (called on
  that thread: the app queues it to wherever it wants it). :func:`board_stream`
  and :func:`agent_feed` preset it for the TL's board and an agent's orders.

The board's state (snapshot + patches, staleness) is :class:`core.supervisor.BoardState`.

    api = ApiClient(url, vault); api.login("zhangwei", pw)
    sup = SupervisorClient(api)
    board = BoardState()
    stream = board_stream(api, lambda ev: board.apply(ev.name, ev.data, utcnow()) if ev.data is not None
                          else board.disconnected())
    stream.start()
    sup.force_state(agent_id, "paused", "会议")
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import random
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

try:  # the stream class httpcore wraps a connected socket in (private: without it connects are not cut short)
    from httpcore._backends.sync import SyncStream as _SyncStream
except ImportError:  # pragma: no cover - a future httpcore
    _SyncStream = None

from core.supervisor import AgentCommand, AuditAction, BoardState, TeamMessage
from core.timeutil import format_iso, parse_iso, utcnow
from sync.client import API, ApiClient, AuthError, NetworkError, RequestRejected, SyncError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorGrant:
    """A signed, single-use, 30-second grant to monitor one agent's call."""

    token: str
    expires_at: str
    agent_sip_user: str
    jti: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MonitorGrant:
        return cls(str(d["token"]), str(d["expires_at"]), str(d["agent_sip_user"]), str(d["jti"]))


@dataclass(frozen=True)
class MonitorSession:
    session_id: str
    agent_id: str
    call_id: str | None
    mode: str
    started_at: str
    ended_at: str | None
    end_reason: str | None
    duration_s: int
    grant: MonitorGrant | None = None  # after a mode change: the grant for the new mode

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MonitorSession:
        g = d.get("grant")
        return cls(str(d["session_id"]), str(d["agent_id"]), d.get("call_id"), str(d["mode"]), str(d["started_at"]),
                   d.get("ended_at"), d.get("end_reason"), int(d.get("duration_s") or 0),
                   MonitorGrant.from_json(g) if isinstance(g, dict) else None)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    action: str  # core.supervisor.AuditAction
    actor_id: str
    actor_name: str
    agent_id: str | None
    agent_name: str | None
    call_id: str | None
    session_id: str | None
    mode: str | None
    duration_s: int | None
    detail: dict[str, Any]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AuditEntry:
        return cls(int(d["id"]), str(d["at"]), str(d["action"]), str(d["actor_id"]),
                   str(d.get("actor_name") or d.get("actor_username") or ""), d.get("agent_id"),
                   d.get("agent_name") or d.get("agent_username"), d.get("call_id"), d.get("session_id"),
                   d.get("mode"), d.get("duration_s"), dict(d.get("detail") or {}))


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_before: int | None  # pass as ``before`` for the next (older) page


class SupervisorClient:
    """The supervisor API on top of an ApiClient. Same threading rule: one owner thread."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def _call(self, method: str, path: str, what: str, *, body: Any = None,
              params: dict[str, Any] | None = None) -> Any:
        return self.api.call_json(method, path, what, body=body, params=params)

    @staticmethod
    def _parse(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkError(f"{what}: unexpected answer ({type(exc).__name__}: {exc})") from exc

    # -- the board --------------------------------------------------------------------

    def board(self, team_id: str | None = None) -> BoardState:
        """The team's board now (the stream's first event has the same shape)."""
        data = self._call("GET", "/supervisor/board", "board", params={"team_id": team_id})
        state = BoardState()
        self._parse("board", lambda: state.apply("snapshot", data, utcnow()))
        state.connected = False  # a one-off read, not a live stream
        return state

    # -- floor control -----------------------------------------------------------------

    def force_state(self, agent_id: str, state: str, reason: str | None = None) -> AgentCommand:
        """Order an agent to ``paused`` (小休; a reason is required) or back to ``ready``."""
        body: dict[str, Any] = {"state": state}
        if reason is not None:
            body["reason"] = reason
        data = self._call("POST", f"/supervisor/agents/{agent_id}/state", "force state", body=body)
        return self._parse("force state", lambda: AgentCommand.from_json(data))

    def force_pause(self, agent_id: str, reason: str) -> AgentCommand:
        return self.force_state(agent_id, "paused", reason)

    def force_ready(self, agent_id: str) -> AgentCommand:
        return self.force_state(agent_id, "ready")

    def send_message(self, text: str, agent_id: str | None = None) -> TeamMessage:
        """A short message (≤ 500 characters) to one agent, or the whole team when agent_id is None."""
        body: dict[str, Any] = {"text": text}
        if agent_id is not None:
            body["agent_id"] = agent_id
        data = self._call("POST", "/supervisor/messages", "message", body=body)
        return self._parse("message", lambda: TeamMessage.from_json(data))

    # -- monitoring ----------------------------------------------------------------------

    def request_grant(self, agent_id: str, mode: str) -> MonitorGrant:
        data = self._call("POST", "/monitor/grants", "grant", body={"agent_id": agent_id, "mode": mode})
        return self._parse("grant", lambda: MonitorGrant.from_json(data))

    def start_monitor(self, jti: str) -> MonitorSession:
        """Report that the grant ``jti`` opened a session (the bridge answered)."""
        data = self._call("POST", "/monitor/sessions", "monitor start", body={"jti": jti})
        return self._parse("monitor start", lambda: MonitorSession.from_json(data))

    def change_monitor_mode(self, session_id: str, mode: str) -> MonitorSession:
        """Report a mode change; the answer carries a fresh grant for the new mode."""
        data = self._call("POST", f"/monitor/sessions/{session_id}/mode", "monitor mode", body={"mode": mode})
        return self._parse("monitor mode", lambda: MonitorSession.from_json(data))

    def end_monitor(self, session_id: str, reason: str | None = None) -> MonitorSession:
        body = {"reason": reason} if reason else {}
        data = self._call("POST", f"/monitor/sessions/{session_id}/end", "monitor end", body=body)
        return self._parse("monitor end", lambda: MonitorSession.from_json(data))

    # -- audit -----------------------------------------------------------------------------

    def audit(self, *, team_id: str | None = None, agent_id: str | None = None, action: str | None = None,
              since: Any = None, until: Any = None, before: int | None = None, limit: int = 100) -> AuditPage:
        """Newest first; follow ``next_before`` for older pages. since/until: datetimes (naive = UTC) or ISO."""
        if action is not None:
            action = AuditAction(action).value
        params = {"team_id": team_id, "agent_id": agent_id, "action": action, "before": before, "limit": limit,
                  "since": format_iso(parse_iso(since)) if since else None,
                  "until": format_iso(parse_iso(until)) if until else None}
        data = self._call("GET", "/supervisor/audit", "audit", params=params)
        return self._parse("audit", lambda: AuditPage([AuditEntry.from_json(x) for x in data["items"]],
                                                      data.get("next_before")))

    # -- the agent's side ---------------------------------------------------------------------

    def ack_command(self, command_id: str, result: str, detail: str | None = None) -> AgentCommand:
        """An agent's app reports what it did with a TL's order: applied | deferred | refused."""
        body: dict[str, Any] = {"result": result}
        if detail:
            body["detail"] = detail
        data = self._call("POST", f"/agent/commands/{command_id}/ack", "ack", body=body)
        return self._parse("ack", lambda: AgentCommand.from_json(data))


# -- streams ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamEvent:
    """One event. ``name`` is the SSE event (``snapshot``, ``agent``, ``message``, ``hello``,
    ``command``) with its JSON ``data``; or a status change: ``connected`` / ``disconnected``
    (``data`` None, ``error`` says why for the latter)."""

    name: str
    data: dict[str, Any] | None = None
    error: str | None = None


TokenProvider = Callable[[bool], str]  # force_refresh -> access token


def api_token_provider(api: ApiClient) -> TokenProvider:
    """Access tokens from an ApiClient for a stream's thread. The ApiClient's refresh is
    serialised by its own lock; a forced refresh rotates the session once."""
    lock = threading.Lock()

    def token(force: bool) -> str:
        with lock:
            if force:
                api.refresh()
            return api._ensure_access()

    return token


class StreamClosed(SyncError):
    """The server refused the stream for good (not a TL: 403), or the login is gone."""


class _HangUp:
    """The sockets a stream's connections use, so ``stop()`` can cut them from another thread:
    a blocked read (waiting for the response headers or the next event) only wakes when its
    socket is shut down, and the stop flag alone is checked between reads."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks = {s for s in self._socks if s.fileno() != -1}  # closed ones (bounded by the pool)
            self._socks.add(sock)
            if self._stop.is_set():  # stop() already went through the set: cut this one here
                _shut(sock)

    def cut(self) -> None:
        with self._lock:
            for sock in self._socks:
                _shut(sock)

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` request extension: every new connection's socket, proxied or not."""
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self.add(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown even for a TLS one: ssl.SSLSocket.shutdown would also drop its
    # SSL object under the reading thread's feet; this just wakes that read with an EOF.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _StoppableBackend(httpcore.NetworkBackend):
    """httpcore's blocking backend, but a TCP connect gives up as soon as the stream is stopped
    (a plain connect to a host that drops SYNs would block for the whole connect timeout)."""

    _SLICE_S = 0.05  # how often a pending connect looks at the stop flag

    def __init__(self, inner: httpcore.NetworkBackend, stop: threading.Event, hang_up: _HangUp) -> None:
        self._inner = inner
        self._stop = stop
        self._hang_up = hang_up

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        if _SyncStream is None:  # pragma: no cover
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        sock = self._connect(host, port, timeout, local_address)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        self._hang_up.add(sock)
        return _SyncStream(sock)

    def _connect(self, host: str, port: int, timeout: float | None, local_address: str | None) -> socket.socket:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception = httpcore.ConnectError(f"no address for {host}")
        for family, kind, proto, _name, addr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if local_address is not None:
                    sock.bind((local_address, 0))
                sock.setblocking(False)
                err = sock.connect_ex(addr)
                if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, 10035):  # 10035: Windows
                    raise OSError(err, errno.errorcode.get(err, str(err)))
                while err != 0:
                    if self._stop.is_set():
                        raise httpcore.ConnectError("stream stopped")
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise httpcore.ConnectTimeout("timed out")
                    step = self._SLICE_S if left is None else min(self._SLICE_S, left)
                    _r, w, x = select.select([], [sock], [sock], step)
                    if w or x:
                        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err != 0:
                            raise OSError(err, errno.errorcode.get(err, str(err)))
                sock.setblocking(True)
                return sock
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                sock.close()
                if isinstance(exc, httpcore.ConnectTimeout) or self._stop.is_set():
                    raise
                last = exc
            except OSError as exc:
                sock.close()
                last = httpcore.ConnectError(str(exc))
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:  # pragma: no cover
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore's retries only
        self._inner.sleep(seconds)


def _cut_short_connects(http: httpx.Client, stop: threading.Event, hang_up: _HangUp) -> None:
    """Give the client's connection pools (the direct one and any proxy's) the stoppable backend.
    Private attributes of httpx/httpcore: when they move, connects just keep their plain timeout."""
    for transport in [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if _SyncStream is not None and isinstance(backend, httpcore.NetworkBackend):
            pool._network_backend = _StoppableBackend(backend, stop, hang_up)  # type: ignore[union-attr]


@dataclass
class EventStream:
    """An SSE stream that stays open: reconnects after any failure with backoff
    (0.5 s doubling to ``max_backoff_s``, jittered), refreshes the access token on
    401, stops for good on 403 or when the login is gone. The server starts every
    connection with a fresh snapshot (or ``hello``), so nothing is missed."""

    base_url: str
    path: str
    token: TokenProvider
    params: dict[str, Any] = field(default_factory=dict)
    on_event: Callable[[StreamEvent], None] | None = None
    max_backoff_s: float = 15.0
    connect_timeout_s: float = 5.0
    # The server sends a keep-alive every 15 s: silence for this long means a dead link.
    read_timeout_s: float = 40.0
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hang_up_socks = _HangUp(self._stop)
        self.connects = 0
        self.closed_reason: str | None = None

    # -- thread wrapper --------------------------------------------------------------------

    def start(self) -> EventStream:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sse{self.path}", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for ev in self.events():
                if self.on_event is not None:
                    try:
                        self.on_event(ev)
                    except Exception:
                        log.exception("stream %s: event handler failed", self.path)
        except StreamClosed as exc:
            self.closed_reason = str(exc)
            if self.on_event is not None:
                with contextlib.suppress(Exception):
                    self.on_event(StreamEvent("closed", None, str(exc)))

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up now (from any thread) and wait for the thread: whatever it is doing (connecting,
        waiting for the answer, reading events, backing off), it ends within a fraction of a second."""
        self._stop.set()
        self._hang_up_socks.cut()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the generator ------------------------------------------------------------------------

    def events(self) -> Iterator[StreamEvent]:
        """Blocking: yields events until stop(); reconnects by itself. Raises StreamClosed
        when the server refuses for good."""
        failures = 0
        rng = random.Random()
        force_refresh = False
        with httpx.Client(base_url=self.base_url, transport=self.transport,
                          timeout=httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s),
                          headers={"Accept": "text/event-stream", "User-Agent": "seatmate-sync/1"}) as http:
            if self.transport is None:
                _cut_short_connects(http, self._stop, self._hang_up_socks)
            while not self._stop.is_set():
                error: str | None = None
                try:
                    try:
                        token = self.token(force_refresh)
                    except AuthError as exc:
                        raise StreamClosed(f"login needed: {exc}") from exc
                    force_refresh = False
                    with http.stream("GET", API + self.path, params=self.params,
                                     headers={"Authorization": f"Bearer {token}"},
                                     extensions={"trace": self._hang_up_socks.trace}) as r:
                        if r.status_code == 401:
                            force_refresh = True
                            error = "401 unauthorized"
                        elif r.status_code in (403, 404):
                            r.read()
                            raise StreamClosed(f"{r.status_code}: {self._detail(r)}")
                        elif r.status_code != 200:
                            error = f"server answered {r.status_code}"
                        else:
                            failures = 0
                            self.connects += 1
                            yield StreamEvent("connected")
                            yield from self._parse(r)
                            error = "stream ended"
                except StreamClosed:
                    raise
                except (httpx.HTTPError, SyncError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if self._stop.is_set():
                    return
                yield StreamEvent("disconnected", None, error)
                failures += 1
                ceiling = min(self.max_backoff_s, 0.5 * 2 ** min(failures - 1, 10))
                if force_refresh and failures == 1:
                    ceiling = 0.0  # a stale token: retry at once with a fresh one
                self._stop.wait(rng.uniform(ceiling / 2, ceiling))

    @staticmethod
    def _detail(r: httpx.Response) -> str:
        try:
            body = r.json()
            return str(body.get("code") or body.get("detail") or "refused")
        except ValueError:
            return r.reason_phrase or "refused"

    def _parse(self, r: httpx.Response) -> Iterator[StreamEvent]:
        name, data = "message", []
        for line in r.iter_lines():
            if self._stop.is_set():
                return
            if not line:
                if data:
                    try:
                        payload = json.loads("\n".join(data))
                    except ValueError:
                        log.warning("stream %s: unreadable event %r dropped", self.path, name)
                    else:
                        if isinstance(payload, dict):
                            yield StreamEvent(name, payload)
                name, data = "message", []
            elif line.startswith(":"):
                continue  # keep-alive
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))


def board_stream(api: ApiClient, on_event: Callable[[StreamEvent], None] | None = None, *,
                 team_id: str | None = None, token: TokenProvider | None = None, **kw: Any) -> EventStream:
    """The TL's live board: ``snapshot``, then ``agent`` patches and ``message``s. Not started."""
    params = {"team_id": team_id} if team_id else {}
    return EventStream(api.base_url, "/supervisor/board/stream", token or api_token_provider(api), params,
                       on_event, **kw)


def agent_feed(api: ApiClient, on_event: Callable[[StreamEvent], None] | None = None, *,
               token: TokenProvider | None = None, **kw: Any) -> EventStream:
    """An agent's orders and messages, as they are sent: ``hello`` then ``command`` /
    ``message`` (the pull brings the same entities durably). Not started."""
    return EventStream(api.base_url, "/agent/stream", token or api_token_provider(api), {}, on_event, **kw)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (for tools and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


__all__ = [
    "AuditEntry",
    "AuditPage",
    "EventStream",
    "MonitorGrant",
    "MonitorSession",
    "RequestRejected",
    "StreamClosed",
    "StreamEvent",
    "SupervisorClient",
    "agent_feed",
    "api_token_provider",
    "board_stream",
]
