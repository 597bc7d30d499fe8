"""Supervisor mode in a started app (server mode): who sees what follows the login.

The role comes from the server identity (``SyncService.identity``): a TL (``tl``) gets
the team board (:class:`~app.supervisor.floor_service.FloorService` and its dock) next
to their own phone; everyone logged in gets the agent's side of floor control (the
TL's orders carried out on the agent's state machine, messages kept in a list). A
TSR never gets the board, and the server refuses them anyway (403). A logout or a
switch of user tears both down; the next identity builds them again.

Like app/workspace/attach.py this is a composition step, so it may name ui/ (the
import-linter contract lists it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.supervisor.agent_orders import AgentOrders
from app.supervisor.floor_service import FloorService
from core.floor_alerts import Thresholds

log = logging.getLogger(__name__)

TL_ROLE = "tl"


class SupervisorMode:
    """Builds and tears down the floor and the agent's orders as the identity changes."""

    def __init__(self, app: Any, runtime: Any, workspace_ui: Any, sync: Any) -> None:
        self.app = app
        self.runtime = runtime
        self.workspace_ui = workspace_ui
        self.sync = sync
        self.floor: FloorService | None = None
        self.floor_ui: Any = None
        self.orders: AgentOrders | None = None
        self.orders_ui: Any = None
        self.desk_ui: Any = None  # the TL's 班组 menu: daily report, lead distribution (ui/supervisor/desk.py)
        self.my_coaching_ui: Any = None  # View → 我的辅导 (ui/supervisor/my_coaching.py)
        self._user: str | None = None
        self._floor_listeners: list[Callable[[FloorService, Any], None]] = []
        sync.identity_changed.connect(self._on_identity)
        app.on_shutdown("supervisor mode", self.stop)
        if getattr(sync, "identity", None) is not None:
            self._on_identity(sync.identity)

    def _save_thresholds(self, thresholds: Thresholds) -> None:
        settings = self.app.settings
        settings.supervisor = {**(settings.supervisor or {}), "thresholds": thresholds.to_settings()}
        try:
            settings.save()
        except OSError as exc:
            log.warning("the thresholds could not be saved: %s", exc)

    def _on_identity(self, identity: Any) -> None:
        user = getattr(identity, "user_id", None)
        if user == self._user and user is not None and self._streams_up():
            return  # the same login again (a refresh); a stream the server closed is rebuilt
        self.stop()
        self._user = user
        if identity is None:
            return
        from ui.supervisor.wiring import AgentMessagesUi, FloorUi

        window = self.app.window
        tray = getattr(self.workspace_ui, "tray", None)
        self.orders = AgentOrders(self.sync.api_client, self.runtime.agent, parent=self.app)
        self.orders_ui = AgentMessagesUi(window, self.orders, tray)
        self.orders.start()
        self.sync.floor_changes.connect(self.orders.take_pulled)
        self.my_coaching_ui = self._build_my_coaching(window)
        if identity.role == TL_ROLE:
            thresholds = Thresholds.from_settings((self.app.settings.supervisor or {}).get("thresholds"))
            self.floor = FloorService(self.sync.api_client, thresholds=thresholds,
                                      save_thresholds=self._save_thresholds, parent=self.app)
            self.floor_ui = FloorUi(window, self.floor, tray, getattr(self.workspace_ui, "help", None))
            self.floor.start()
            log.info("supervisor mode: team board shown")
            self.desk_ui = self._build_desk(window)
            for fn in list(self._floor_listeners):
                fn(self.floor, self.floor_ui)

    def _build_my_coaching(self, window: Any) -> Any:
        from app.supervisor.coaching_service import CoachingService
        from ui.supervisor.my_coaching import MyCoachingUi

        store = getattr(self.runtime, "store", None)  # acknowledge / dispute are outbox events
        if store is None:
            return None
        return MyCoachingUi(window, CoachingService(self.sync.api_client, store.record_event, parent=self.app))

    def _build_desk(self, window: Any) -> Any:
        from app.supervisor.coaching_service import CoachingService
        from app.supervisor.tl_service import TeamLeadService
        from ui.supervisor.desk import TeamLeadDesk

        def campaigns() -> list[tuple[str, str]]:  # on the desk's worker: the TL's cache
            repo = getattr(self.app, "repository", None)
            return [(c.id, c.name) for c in repo.campaigns()] if repo is not None else []

        store = getattr(self.runtime, "store", None)  # the outbox: evaluations are events
        coaching = (CoachingService(self.sync.api_client, store.record_event, parent=self.app)
                    if store is not None else None)
        return TeamLeadDesk(window, TeamLeadService(self.sync.api_client, parent=self.app), campaigns, coaching,
                            floor=self.floor, monitor_source=lambda: getattr(self.app, "monitoring", None))

    def _streams_up(self) -> bool:
        return all(svc is None or svc.running for svc in (self.floor, self.orders))

    def on_floor(self, fn: Callable[[FloorService, Any], None]) -> None:
        """Call ``fn(floor_service, floor_ui)`` for the TL's board, now if it is built and again
        whenever it is rebuilt (a new login). The monitoring service connects here:
        ``monitor.connect_floor(floor)`` (``FloorService.monitor_requested``), and its banner
        goes above the board with ``floor_ui.board.add_banner(widget)``."""
        self._floor_listeners.append(fn)
        if self.floor is not None:
            fn(self.floor, self.floor_ui)

    def stop(self) -> None:
        if self.desk_ui is not None:
            self.desk_ui.remove()
            self.desk_ui = None
        if self.my_coaching_ui is not None:
            self.my_coaching_ui.remove()
            self.my_coaching_ui = None
        if self.floor is not None:
            self.floor.stop()
            self.floor = None
        if self.floor_ui is not None:
            self.floor_ui.remove()
            self.floor_ui = None
        if self.orders is not None:
            try:
                self.sync.floor_changes.disconnect(self.orders.take_pulled)
            except (RuntimeError, TypeError):
                pass
            self.orders.stop()
            self.orders = None
        if self.orders_ui is not None:
            self.orders_ui.button.deleteLater()
            self.orders_ui.deleteLater()
            self.orders_ui = None


def attach_supervisor(app: Any, runtime: Any, workspace_ui: Any, sync: Any) -> SupervisorMode:
    mode = SupervisorMode(app, runtime, workspace_ui, sync)
    app.supervisor_mode = mode
    return mode
