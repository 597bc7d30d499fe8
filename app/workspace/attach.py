"""Attach the workspace to a started Application (the composition root calls this once).

Kept apart from app/application.py so the composition root needs one line,
and tools (benchmark, screenshots) can attach the same way. The cache opens
in the background; the workspace attaches when it is ready.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def attach_workspace(app: Any) -> Any:
    """Build the workspace services and put their widgets in ``app.window``.

    Returns the WorkspaceUi, or None when the cache is still opening (then it
    attaches itself once ``app.leads.opened`` fires; ``app.workspace`` is set then).
    """
    existing = getattr(app, "workspace", None)
    if existing is not None:
        return existing
    if getattr(app, "cache", None) is None or getattr(app, "repository", None) is None:
        leads = getattr(app, "leads", None)
        if leads is not None and hasattr(leads, "opened") and not getattr(app, "_workspace_pending", False):
            app._workspace_pending = True
            leads.opened.connect(lambda _repo: _attach_now(app))
        return None
    return _attach_now(app)


def _attach_now(app: Any) -> Any:
    if getattr(app, "workspace", None) is not None:
        return app.workspace
    if getattr(app, "_closing", False):
        return None  # the cache finished opening after the app began shutting down
    from app.workspace.runtime import WorkspaceRuntime
    from ui.workspace.wiring import WorkspaceUi

    demo = not getattr(app.settings, "server_url", None)
    runtime = WorkspaceRuntime(app.cache, app.settings, app.paths.data_dir, demo=demo,
                               repository=getattr(app, "repository", None), parent=app)
    ui = WorkspaceUi(app.window, runtime, getattr(app.settings, "shortcuts", None))
    runtime.start()
    register = getattr(app, "_on_shutdown", None)
    if callable(register):
        register("workspace", runtime.stop)  # cleanups run in reverse: before the cache closes
    else:
        app.shuttingDown.connect(runtime.stop)
    app.workspace = ui
    # tel:/sip: links and a second `seatmate dial …` go through the same gate as every dial.
    app.window.dialRequested.connect(runtime.controller.dial_number)
    if runtime.options.get("start_minimised"):
        # The tray icon stays; an incoming call or a callback reminder brings the window back.
        app.window.showMinimized()
    if not demo:
        _attach_sync(app, runtime, ui)
    else:
        app.window.status.set_sync_state("local", 0)
        _offer_login(app, None)  # the 账号 menu explains how to connect to a server
    log.info("workspace attached (%s)", "embedded demo" if demo else "server mode")
    return ui


def _attach_sync(app: Any, runtime: Any, ui: Any) -> None:
    """Server mode: the sync client pushes the outbox, pulls changes and reports presence."""
    existing = getattr(app, "sync", None)
    if existing is None:
        from sync.service import SyncService

        existing = SyncService(app.cache, interval_s=float(getattr(app.settings, "sync_interval_s", 30)))
        app.sync = existing
        existing.start()
        register = getattr(app, "_on_shutdown", None)
        if callable(register):
            register("sync", existing.stop)
        else:
            app.shuttingDown.connect(existing.stop)
    service = existing
    status = app.window.status
    state = {"online": False, "pending": runtime.store_pending()}

    def show() -> None:
        status.set_sync_state("online" if state["online"] else "offline", state["pending"])

    def online(flag: bool) -> None:
        state["online"] = bool(flag)
        show()

    def pending(count: int) -> None:
        state["pending"] = int(count)
        show()

    def changes(summary: Any) -> None:
        # The server's changes landed: refresh what the agent sees (list, next lead, KPIs).
        app.window.refresh()
        runtime.controller.refresh_preview()
        runtime.controller.refresh_kpis()

    _offer_login(app, service)
    service.online_changed.connect(online)
    service.pending_count_changed.connect(pending)
    service.changes_applied.connect(changes)
    runtime.wrapup.saved.connect(lambda _saved: service.sync_now())  # at once after a disposition
    runtime.agent.changed.connect(lambda st: service.set_presence(st.state.value, st.reason))
    show()


def _offer_login(app: Any, service: Any) -> None:
    """The 账号 menu, the login dialog and the rejected-records indicator (app.session_service).

    No saved session (first start, or the server revoked it): the dialog asks for the
    password. Work goes on meanwhile: everything the agent does is queued locally.
    """
    from app.session_service import SessionService
    from ui.login_dialog import AccountUi

    session = SessionService(app.cache, app.settings, getattr(app.paths, "settings_file", None),
                             app.paths.data_dir, sync=service, parent=app)
    app.session = session
    app.account = AccountUi(app.window, session)
    app.login_dialog = app.account.dialog
    if service is not None and not session.has_cached_identity():
        app.login_dialog.ask()
