"""Monitoring in a started TL app: the service behind the board's 监听 / 耳语 / 强插 / 结束
buttons, and the banner above the board.

A composition step (it names ui/, like app/supervisor/attach.py; the import-linter
contract lists it). Built for every team board (``SupervisorMode.on_floor``: a new
login builds a new one); the TL's own softphone (``runtime.phone``) places the
monitoring calls, and may come up after the board.
"""

from __future__ import annotations

import logging
from typing import Any

from app.supervisor.common import BorrowedClient, TokenBorrower
from app.supervisor.monitor_service import MonitorService
from sync.supervisor import SupervisorClient

log = logging.getLogger(__name__)


def supervisor_backend(api_source: Any) -> Any:
    """A factory the service calls on its worker: a SupervisorClient on an own connection that
    borrows the sync thread's session (one per worker thread, made on first use)."""
    made: dict[str, SupervisorClient] = {}

    def get() -> SupervisorClient:
        api = api_source()
        if api is None:
            from sync.client import AuthError

            raise AuthError("not logged in")
        client = made.get(api.base_url)
        if client is None:
            client = made[api.base_url] = SupervisorClient(BorrowedClient(api.base_url, TokenBorrower(api_source)))
        return client

    return get


class MonitorAttachment:
    def __init__(self, app: Any, runtime: Any, sync: Any) -> None:
        self.app = app
        self.runtime = runtime
        self.sync = sync
        self.service: MonitorService | None = None
        self.banner: Any = None
        self._user: str | None = None
        runtime.phone_ready.connect(self._phone_ready)
        identity_changed = getattr(sync, "identity_changed", None)
        if identity_changed is not None:
            identity_changed.connect(self._on_identity)
        app.on_shutdown("monitoring", self.stop)

    def on_floor(self, floor: Any, floor_ui: Any) -> None:
        from ui.supervisor.monitor_banner import MonitorBanner

        self.stop()
        self._user = getattr(getattr(self.sync, "identity", None), "user_id", None)
        self.service = MonitorService.from_settings(self.runtime.phone, supervisor_backend(self.sync.api_client),
                                                    self.app.settings, parent=self.app)
        self.service.connect_floor(floor)
        self.banner = MonitorBanner(self.service)
        floor_ui.board.add_banner(self.banner)
        log.info("monitoring from the board: %s", self.service.strategy)

    def _on_identity(self, identity: Any) -> None:
        """Logged out, or another user: a session still open ends (the new TL's board, if any,
        brings a new service through ``on_floor``)."""
        if identity is None or getattr(identity, "user_id", None) != self._user:
            self.stop()

    def _phone_ready(self, up: bool, _detail: str) -> None:
        if self.service is not None:
            self.service.set_phone(self.runtime.phone if up else None)

    def stop(self) -> None:
        if self.service is not None:
            self.service.shutdown()
            self.service = None
        self.banner = None  # it goes with the board's widgets


def attach_monitoring(app: Any, runtime: Any, sync: Any, mode: Any) -> MonitorAttachment:
    attachment = MonitorAttachment(app, runtime, sync)
    app.monitoring = attachment  # tools and tests reach the service and the banner here
    mode.on_floor(attachment.on_floor)
    return attachment
