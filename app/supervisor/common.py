"""What the TL's floor service and the agent's order service share: borrowed tokens, error codes.

Both hold a stream on a thread of their own and make requests on an ``app.background``
worker; neither owns a session. They borrow the access token of the sync thread's
:class:`~sync.client.ApiClient` (``SyncService.api_client()``; in tests any logged-in
client) through one locked provider, so there is one session and one refresh chain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from core import messages as msg
from core.messages import Message
from sync.client import ApiClient, AuthError, MemoryVault, NetworkError, RequestRejected

if TYPE_CHECKING:
    from app.background import Worker
    from sync.supervisor import EventStream

#: Where the session comes from (called on stream and worker threads; None = not logged in).
ApiSource = Callable[[], ApiClient | None]


class TokenBorrower:
    """``(force_refresh) -> access token`` from whatever client ``source`` returns now (the sync
    service makes a new one on each login). Thread-safe: the refresh is serialised here and
    in the client."""

    def __init__(self, source: ApiSource) -> None:
        self._source = source
        self._lock = threading.Lock()

    def api(self) -> ApiClient:
        api = self._source()
        if api is None:
            raise AuthError("not logged in")
        return api

    def __call__(self, force: bool) -> str:
        with self._lock:
            api = self.api()
            if force:
                api.refresh()
            return api._ensure_access()


class BorrowedClient(ApiClient):
    """An ApiClient of its own (own connection, one owner thread) whose access token is
    borrowed: it never logs in, refreshes or stores a session itself."""

    def __init__(self, base_url: str, tokens: TokenBorrower, *, timeout: float = 10.0) -> None:
        super().__init__(base_url, MemoryVault(), timeout=timeout, connect_timeout=min(5.0, timeout))
        self._tokens = tokens

    def _ensure_access(self) -> str:
        return self._tokens(False)

    def _refresh(self):  # type: ignore[override]
        self._tokens(True)


class StreamOwner:
    """The stream, the worker and the worker's borrowed client that both services own (a mixin
    next to QObject); the owner sets the four attributes in its ``__init__``."""

    _stream: EventStream | None
    _worker: Worker
    _client: BorrowedClient | None
    _stopped: bool

    @property
    def running(self) -> bool:
        """The stream's thread is alive (False once the server closed it for good: 403, login gone)."""
        return self._stream is not None and self._stream.running

    def _shut_down(self) -> None:
        """Stopped for good: the stream, then the worker, then the client it used."""
        self._stopped = True
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        self._worker.stop()
        client, self._client = self._client, None
        if client is not None:
            client.close()


def failure_message(exc: BaseException) -> Message:
    """A failed floor-control request as a message code (the UI words it)."""
    if isinstance(exc, RequestRejected):
        return Message.of(msg.FLOOR_REFUSED, detail=exc.code or exc.detail)
    if isinstance(exc, AuthError):
        return Message.of(msg.SYNC_AUTH)
    if isinstance(exc, NetworkError):
        return Message.of(msg.FLOOR_UNREACHABLE)
    return Message.of(msg.SYNC_INTERNAL, error=type(exc).__name__)
