"""HTTP client for the Sync API v1 (docs/sync-api.md), used on the sync thread only.

One ``httpx.Client`` with keep-alive, so an idle sync round is one request on an
open connection. The client is blocking on purpose: it runs on its own thread
(see ``sync.service``), never on the GUI thread.

Errors are sorted by what the caller should do about them:

- :class:`NetworkError` — transport failure, timeout, 5xx, 429, or a response we
  cannot parse: retry later with backoff; nothing was acknowledged.
- :class:`AuthError` — the server does not accept our credentials (login
  refused, refresh token revoked): the user must log in again.
- :class:`RequestRejected` — any other 4xx, with the server's reason and code.

The access token lives only in memory; the refresh token goes through a
:class:`TokenVault` (the OS keyring in the app, see ``sync.auth``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

try:  # a C JSON codec: pages of 5000 leads parse 3-4x faster than with json.loads
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; plain json still works
    orjson = None

from core import pull_lines
from core.contract import ACKNOWLEDGED, ChangeOp, PushStatus
from core.errors import EnvironmentFault
from core.wire import Change, Grant, Identity, PullPage, PushResult

log = logging.getLogger(__name__)

API = "/api/v1"
#: The server accepts at most this many events per push.
MAX_PUSH_BATCH = 1000
#: Refresh the access token this long before the server says it expires.
_EXPIRY_MARGIN_S = 30.0


class SyncError(EnvironmentFault):
    """Base of everything the sync client raises; ``str()`` is safe to show and log."""

    code = "sync.failed"


class NetworkError(SyncError):
    """The server could not be reached or gave no usable answer; retry later."""

    code = "sync.network"


class BadAnswer(NetworkError):
    """The server answered, but not in a form this client can read (malformed JSON, a field of
    the wrong type, data that cannot be stored). Retried like a network failure; nothing of the
    answer was applied (a pulled page is one transaction)."""

    code = "sync.bad_answer"


class AuthError(SyncError):
    """The server refused our credentials; the user has to log in again."""

    code = "sync.auth"


class RequestRejected(SyncError):
    """A 4xx answer other than 401: the request itself is wrong.

    ``code`` is the server's machine code (docs/sync-api.md), "" when the answer had none
    (e.g. a proxy's bare 400): callers tell the server's own refusals by it."""

    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(f"{status} {code or 'error'}: {detail}", code=code,
                         params={"status": status, "detail": detail})
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class TokenSet:
    """The session: the rotating refresh token and the short-lived access token.

    The access token is kept too, so a restart within its lifetime needs no
    refresh (each refresh is a chance to lose the rotated token to a dropped
    answer). ``access_expires`` is wall-clock epoch seconds; a skewed client
    clock only shifts it as much as it shifts "now".
    """

    refresh: str
    access: str | None = None
    access_expires: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"r": self.refresh, "a": self.access, "e": self.access_expires})

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        try:
            d = json.loads(text)
            return cls(str(d["r"]), d.get("a"), float(d.get("e") or 0))
        except (ValueError, KeyError, TypeError):
            return cls(text)  # a bare refresh token


class TokenVault(Protocol):
    """Where the session survives restarts (the OS keyring in the app: sync.auth)."""

    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None: ...

    def clear(self) -> None: ...


class MemoryVault:
    """A vault that forgets on exit: for one-shot tools (bench, admin scripts)."""

    def __init__(self, tokens: TokenSet | None = None) -> None:
        self._tokens = tokens

    def load(self) -> TokenSet | None:
        return self._tokens

    def save(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    def clear(self) -> None:
        self._tokens = None


@dataclass
class WireStats:
    """Requests and bytes as httpx saw them (headers + bodies, both directions)."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


_OPS: dict[Any, ChangeOp] = {ChangeOp.UPSERT.value: ChangeOp.UPSERT, ChangeOp.DELETE.value: ChangeOp.DELETE}
#: What a pull asks for: the page in lines, else JSON (an older server answers JSON).
_PULL_ACCEPT = {"Accept": f"{pull_lines.MEDIA_TYPE}, application/json;q=0.9"}


def _take_changes(items: Any, append: Callable[[Change], None]) -> None:
    """``Change`` objects from the wire's change dicts. The loop runs once per pulled lead
    (100,000 in a first pull): the op looked up in a dict instead of ChangeOp(op), strings
    not copied by str()."""
    upsert = ChangeOp.UPSERT
    for c in items:
        op = _OPS.get(c["op"])
        if op is None:
            raise ValueError(f"unknown op {c['op']!r}")
        data = c.get("data")
        if op is upsert and type(data) is not dict:
            raise ValueError("upsert without data")
        entity, cid = c["entity"], c["id"]
        append(Change(entity if type(entity) is str else str(entity), cid if type(cid) is str else str(cid),
                      op, data))


def _dumps(obj: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(obj)
        except TypeError:  # a type orjson does not know (e.g. a subclass of int): the slow way
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _head_size(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw)


class ApiClient:
    """Blocking Sync API client. Not thread-safe: one owner thread."""

    def __init__(
        self,
        base_url: str,
        vault: TokenVault,
        *,
        device_id: str = "",
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.vault = vault
        self.device_id = device_id
        self.stats = WireStats()
        self._monotonic = monotonic
        self._wallclock = wallclock
        self._access: str | None = None
        self._access_expires = 0.0
        self._lock = threading.Lock()  # guards the token pair between refreshes
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            # Keep the idle round small: no User-Agent essay, JSON only.
            headers={"User-Agent": "seatmate-sync/1", "Accept": "application/json"},
            event_hooks={"request": [self._count_request], "response": [self._count_response]},
        )

    # -- plumbing -----------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def abort(self) -> None:
        """From another thread: make a request that hangs on a dead network fail now.

        httpx has no cancel for a blocking request; shutting the sockets down makes
        the pending read return at once (best effort, reaching into httpcore's pool).
        """
        pool = getattr(getattr(self._http, "_transport", None), "_pool", None)
        for conn in list(getattr(pool, "connections", []) or []):
            stream = getattr(getattr(conn, "_connection", None), "_network_stream", None)
            sock = getattr(stream, "_sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _count_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1
        path = request.url.path
        self.stats.by_path[path] = self.stats.by_path.get(path, 0) + 1
        # Request line + headers + body, as h11 writes them (close enough: ±2 bytes).
        line = len(request.method) + len(request.url.raw_path) + 11
        self.stats.bytes_sent += line + _head_size(request.headers) + 2 + len(request.content or b"")

    def _count_response(self, response: httpx.Response) -> None:
        self.stats.bytes_received += 17 + len(response.reason_phrase) + _head_size(response.headers) + 2
        # Body bytes are added after read() in _send (the hook runs before the body arrives).

    @property
    def has_access_token(self) -> bool:
        return self._access is not None

    def _send(self, method: str, path: str, *, json_body: Any = None, content: bytes | None = None,
              headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
              auth: bool = True) -> httpx.Response:
        hdrs = dict(headers or {})
        if json_body is not None:
            content = _dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        if auth:
            hdrs["Authorization"] = f"Bearer {self._ensure_access()}"
        try:
            response = self._http.request(method, API + path, content=content, headers=hdrs, params=params)
            response.read()
        except httpx.TimeoutException as exc:
            raise NetworkError(f"{method} {path}: timed out ({type(exc).__name__})") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise NetworkError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        # What came over the wire (a compressed page counts compressed), not the decoded body.
        self.stats.bytes_received += response.num_bytes_downloaded
        return response

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send with auth; on 401 refresh once and retry; map status codes to errors."""
        response = self._send(method, path, **kw)
        if response.status_code == 401 and kw.get("auth", True):
            self._access = None
            self._refresh()
            response = self._send(method, path, **kw)
        self._raise_for_status(method, path, response)
        return response

    @staticmethod
    def _reason(response: httpx.Response) -> tuple[str, str]:
        try:
            body = response.json()
        except ValueError:
            return response.reason_phrase or "error", ""
        if isinstance(body, dict):
            detail = body.get("detail")
            if not isinstance(detail, str):
                detail = json.dumps(detail, ensure_ascii=False)[:500] if detail is not None else ""
            return detail or response.reason_phrase, str(body.get("code") or "")
        return response.reason_phrase, ""

    def _raise_for_status(self, method: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status >= 500 or status in (408, 429):
            raise NetworkError(f"{method} {path}: server answered {status}")
        detail, code = self._reason(response)
        if status == 401:
            raise AuthError(detail or "not logged in")
        raise RequestRejected(status, detail, code)

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return orjson.loads(response.content) if orjson is not None else response.json()
        except ValueError as exc:  # covers JSONDecodeError and UnicodeDecodeError
            raise BadAnswer(f"{what}: malformed JSON in the answer ({exc.__class__.__name__})") from exc

    # -- auth ---------------------------------------------------------------

    def _take_tokens(self, body: Any, what: str) -> Identity:
        try:
            access = body["access_token"]
            refresh = body["refresh_token"]
            expires_in = float(body.get("expires_in") or 300)
            identity = Identity.from_json(body["user"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{what}: unexpected answer ({type(exc).__name__})") from exc
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise BadAnswer(f"{what}: unexpected answer (tokens are not strings)")
        # Save the rotated refresh token before using the access token: if we die
        # now, the next start refreshes with the token the server expects.
        ttl = max(0.0, expires_in - _EXPIRY_MARGIN_S)
        self.vault.save(TokenSet(refresh, access, self._wallclock() + ttl))
        self._access = access
        # Monotonic in this process: a clock changed while running does not matter.
        self._access_expires = self._monotonic() + ttl
        return identity

    def login(self, username: str, password: str) -> Identity:
        response = self._send(
            "POST", "/auth/login", auth=False,
            json_body={"username": username, "password": password, "device_id": self.device_id},
        )
        if response.status_code in (400, 401, 403):
            detail, _ = self._reason(response)
            raise AuthError(detail or "wrong user name or password")
        self._raise_for_status("POST", "/auth/login", response)
        return self._take_tokens(self._json(response, "login"), "login")

    def _refresh(self) -> Identity:
        with self._lock:
            tokens = self.vault.load()
            if tokens is None or not tokens.refresh:
                raise AuthError("no saved session; please log in")
            response = self._send("POST", "/auth/refresh", auth=False, json_body={"refresh_token": tokens.refresh})
            if response.status_code in (400, 401, 403):
                detail, _ = self._reason(response)
                raise AuthError(detail or "session expired; please log in")
            self._raise_for_status("POST", "/auth/refresh", response)
            return self._take_tokens(self._json(response, "refresh"), "refresh")

    def refresh(self) -> Identity:
        """Rotate the refresh token and get a new access token (returns who we are)."""
        return self._refresh()

    def _ensure_access(self) -> str:
        if self._access is None:
            self._resume_saved_access()
        if self._access is None or self._monotonic() >= self._access_expires:
            self._access = None
            self._refresh()
        assert self._access is not None
        return self._access

    def _resume_saved_access(self) -> None:
        """Use the access token saved by an earlier run while it is still valid."""
        tokens = self.vault.load()
        if tokens is None or not tokens.access:
            return
        left = tokens.access_expires - self._wallclock()
        if left > 0:
            self._access = tokens.access
            self._access_expires = self._monotonic() + left

    def logout(self) -> None:
        """Revoke the session on the server (best effort) and forget the tokens locally."""
        try:
            if self._access is not None or self.vault.load() is not None:
                self._request("POST", "/auth/logout")
        except SyncError as exc:
            log.warning("logout on the server failed (%s); forgetting the session locally", exc)
        finally:
            self._access = None
            self.vault.clear()

    # -- sync ---------------------------------------------------------------

    def pull(self, cursor: str | None, limit: int = 1000) -> PullPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        # The page in lines when the server has them (core/pull_lines.py: parsed ~500 changes
        # at a time, so the window's thread gets the interpreter between them); an older
        # server ignores the header and answers the one JSON object.
        response = self._request("GET", "/sync/pull", params=params, headers=_PULL_ACCEPT)
        changes: list[Change] = []
        try:
            if response.headers.get("content-type", "").split(";")[0].strip().lower() == pull_lines.MEDIA_TYPE:
                body, lines = pull_lines.decode(response.content)
                for items in lines:
                    _take_changes(items, changes.append)
            else:
                body = self._json(response, "pull")
                _take_changes(body["changes"], changes.append)
            has_more = body["has_more"]
            if not isinstance(has_more, bool):
                raise ValueError("has_more is not a boolean")
            next_cursor = body.get("next_cursor")
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise ValueError("next_cursor is not a string")
            return PullPage(
                changes=changes,
                next_cursor=next_cursor,
                has_more=has_more,
                server_time=body.get("server_time"),
                monitor_public_key=body.get("monitor_public_key"),
                generation=None if body.get("generation") is None else str(body["generation"]),
                restored_from=None if body.get("restored_from") is None else str(body["restored_from"]),
            )
        except (KeyError, TypeError, ValueError) as exc:  # ValueError covers malformed JSON
            raise BadAnswer(f"pull: unexpected answer ({type(exc).__name__}: {exc})") from exc

    def push(self, events: Sequence[dict[str, Any]]) -> list[PushResult]:
        """Push up to MAX_PUSH_BATCH events; returns a result for each id the server answered."""
        if len(events) > MAX_PUSH_BATCH:
            raise ValueError(f"at most {MAX_PUSH_BATCH} events per push")
        body = self._json(self._request("POST", "/sync/push", json_body={"events": list(events)}), "push")
        sent = {e["id"] for e in events}
        results: list[PushResult] = []
        try:
            for r in body["results"]:
                rid, status = str(r["id"]), r["status"]
                # Only answers we can trust: a known id with a known status. Anything
                # else leaves the event pending; the retry is a no-op on the server.
                if rid in sent and status in (*ACKNOWLEDGED, PushStatus.REJECTED):
                    reason = r.get("reason")
                    results.append(PushResult(rid, PushStatus(status), None if reason is None else str(reason)))
        except (KeyError, TypeError) as exc:
            raise BadAnswer(f"push: unexpected answer ({type(exc).__name__})") from exc
        return results

    # -- presence, grants ---------------------------------------------------

    def presence(self, state: str, *, reason: str | None = None, call_id: str | None = None,
                 lead_id: str | None = None) -> None:
        body: dict[str, Any] = {"state": state}
        for key, value in (("reason", reason), ("call_id", call_id), ("lead_id", lead_id)):
            if value is not None:
                body[key] = value
        self._request("POST", "/presence", json_body=body)

    def request_grant(self, agent_id: str, mode: str) -> Grant:
        body = self._json(
            self._request("POST", "/monitor/grants", json_body={"agent_id": agent_id, "mode": mode}), "grant"
        )
        try:
            return Grant(str(body["token"]), str(body["expires_at"]), body.get("agent_sip_user"))
        except (KeyError, TypeError) as exc:
            raise BadAnswer(f"grant: unexpected answer ({type(exc).__name__})") from exc

    # -- recordings ---------------------------------------------------------

    def recording_status(self, call_id: str) -> tuple[int, bool]:
        """(bytes the server holds, upload complete?) — (0, False) when it has nothing."""
        response = self._send("HEAD", f"/recordings/{call_id}")
        if response.status_code == 401:
            self._access = None
            self._refresh()
            response = self._send("HEAD", f"/recordings/{call_id}")
        if response.status_code == 404:
            return 0, False
        self._raise_for_status("HEAD", f"/recordings/{call_id}", response)
        return self._offset_header(response), response.headers.get("Upload-Complete") == "1"

    @staticmethod
    def _offset_header(response: httpx.Response) -> int:
        try:
            return int(response.headers["Upload-Offset"])
        except (KeyError, ValueError) as exc:
            raise NetworkError("recording upload: no valid Upload-Offset in the answer") from exc

    def recording_patch(self, call_id: str, offset: int, chunk: bytes) -> int:
        response = self._request(
            "PATCH", f"/recordings/{call_id}", content=chunk,
            headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        )
        return self._offset_header(response)

    def recording_complete(self, call_id: str, sha256: str, size: int) -> None:
        self._request("POST", f"/recordings/{call_id}/complete", json_body={"sha256": sha256, "size": size})

    # -- misc ---------------------------------------------------------------

    def call_json(self, method: str, path: str, what: str, *, body: Any = None,
                  params: dict[str, Any] | None = None) -> Any:
        """One JSON call: ``body`` sent as JSON, ``params`` without the None ones and with booleans as true/false."""
        kw: dict[str, Any] = {}
        if body is not None:
            kw["json_body"] = body
        if params:
            kw["params"] = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()
                            if v is not None}
        return self._json(self._request(method, path, **kw), what)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET any JSON endpoint under /api/v1 (reports); for tools and tests."""
        return self._json(self._request("GET", path, params=params), path)


def chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
