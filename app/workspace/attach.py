"""Attach the workspace to a started Application.

Kept apart from app/application.py so the composition root needs one line, and
tools (benchmark, screenshots) can attach the same way. The cache opens in the
background; once it is open the composition root calls
:func:`attach_after_first_screen`. What this module needs of the application and
its window is written as Protocols (``app.workspace.seams``); what it builds goes
back through the application's setters (``set_workspace``, ``set_sync``,
``set_account``): the composition root owns that state.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.background import on_gui, run_in_background
from app.workspace.seams import WorkspaceHost
from core.agent_state import AgentState

log = logging.getLogger(__name__)


def attach_workspace(app: WorkspaceHost) -> Any:
    """Build the workspace services and put their widgets in ``app.window``, now.

    Returns the WorkspaceUi, or None while the cache is still opening or the attach is
    under way (the application attaches it itself then: ``app.workspaceReady`` follows).
    """
    if app.workspace is not None:
        return app.workspace
    if app.cache is None or app.repository is None or app.workspace_attaching:
        return None
    return _attach_now(app)


# Longest the attach waits for the first lead page to be painted (an empty or failed
# search still paints; this only bounds a window that is never shown).
FIRST_SCREEN_WAIT_MS = 1500


def attach_after_first_screen(app: WorkspaceHost) -> None:
    """Attach once the first lead page is on screen and the lead index is built (see
    :func:`_after_index`), not before, and without blocking the window.

    Building the workspace costs 0.3–0.5 s (imports of the runtime and its widgets, the
    first reads, the widgets themselves). Run on ``opened`` it delayed the first page by
    that much; run in one go after the first paint it froze the painted window for as long.
    Now the imports run on a thread while the list is shown, and the rest is cut into
    steps of a few tens of milliseconds, one per turn of the event loop, so paints and
    keystrokes get through in between (see :func:`_attach_in_steps`).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    window = app.window
    table = getattr(window, "table", None)
    if window is None or table is None or not window.isVisible():
        QTimer.singleShot(0, lambda: _attach_in_steps(app))
        return
    state = {"done": False, "shown": False}

    def go() -> None:
        if state["done"]:
            return
        state["done"] = True
        try:
            viewport.removeEventFilter(watcher)
            window.leadsShown.disconnect(on_shown)
        except (RuntimeError, TypeError):
            pass  # the window is already gone (shutdown before the first paint)
        # After the paint event has returned: the frame is flushed before we go on; and after
        # the search index is built (see _after_index).
        QTimer.singleShot(0, lambda: _after_index(app, lambda: _attach_in_steps(app)))

    class _FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:
            if state["shown"] and event.type() == QEvent.Type.Paint:
                go()
            return False

    def on_shown(_count: int) -> None:
        state["shown"] = True
        viewport.update()  # make sure a paint follows, even if nothing changed

    viewport = table.viewport()
    watcher = _FirstPaint(viewport)
    viewport.installEventFilter(watcher)
    window.leadsShown.connect(on_shown)
    model = getattr(window, "model", None)
    if model is not None and model.rowCount():
        on_shown(0)  # the first page came before the cache opened (read from the file): go at its next paint
    # Tied to the watcher: if the window is destroyed first, the timer goes with it.
    QTimer.singleShot(FIRST_SCREEN_WAIT_MS, watcher, go)


# Longest the attach waits for the search index to be built (see _after_index): a guard for
# a build that fails or hangs, not a budget (a shorter bound gave the memory back only on
# a fast machine: at load 11 the build outlasted 3 s and overlapped again). 0: no wait.
INDEX_WAIT_MS = 10_000


def _after_index(app: WorkspaceHost, then: Callable[[], None]) -> None:
    """Run ``then`` once the lead index is built (at once if it is; at the latest INDEX_WAIT_MS).

    Memory: the index build's temporaries (~10 MB on 100,000 leads) are freed when it ends.
    Attached meanwhile, the workspace's long-lived objects (its modules, widgets, the phone)
    landed between them: the build's peak came on top of everything, and the space it freed
    stayed scattered. With the workspace after it, in the same minutes (bench_memory and
    a start-up probe): peak 191 → 178 MB, after start 179 → 174 MB. The price, with 100,000
    leads: the call loop is ready when the index is, first paint → workspace ready 1.1 →
    1.9 s (bench_workspace, load 4; later still on a slower or busier machine, as the index
    is). The list, the cards and typing are on screen long before that, and a small
    cache builds its index in milliseconds. The index itself is ready sooner, because
    nothing competes with it for the GIL. Waiting was tried before for GUI stalls alone:
    none smaller, the call loop 0.4 s later.
    """
    from PySide6.QtCore import QTimer

    leads = getattr(app, "leads", None)
    if INDEX_WAIT_MS <= 0 or leads is None or getattr(leads, "index_ready", True):
        then()
        return
    state = {"done": False}
    start = time.perf_counter()

    def go() -> None:
        if state["done"]:
            return
        state["done"] = True
        try:
            leads.indexReady.disconnect(go)
        except (RuntimeError, TypeError):
            pass  # already disconnected (the timer came first) or the service is gone
        log.info("start-up: the workspace waited %.0f ms for the lead index%s", (time.perf_counter() - start) * 1000,
                 "" if getattr(leads, "index_ready", False) else " (not built yet: attaching anyway)")
        if not app.closing:
            then()

    leads.indexReady.connect(go)
    QTimer.singleShot(INDEX_WAIT_MS, go)


# Pause between two attach steps (see _attach_in_steps).
STEP_GAP_MS = 8

# What the workspace imports: ~0.1 s of module loading, done in the background (see below).
_PRELOAD = ("app.workspace.runtime", "ui.workspace.wiring", "app.session_service", "ui.login_dialog",
            "softphone.engine")
_preload: cf.Future[None] | None = None
# Longest the attach waits for those imports; then it goes on (and imports what is left itself).
PRELOAD_WAIT_MS = 10_000


def _import_workspace_modules() -> None:
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # reported where the module is really used
            log.debug("preloading %s failed", name, exc_info=True)


def _preload_in_background() -> cf.Future[None]:
    """Import the workspace's modules in the background (once per process).

    Module code runs in Python and holds the GIL, but the interpreter hands it to the GUI
    thread every few milliseconds; done on the GUI thread it was one 0.1 s freeze. The
    modules only define classes (no widget is made at import time).
    """
    global _preload
    if _preload is None:
        _preload = run_in_background(_import_workspace_modules, name="workspace-preload")
    return _preload


def _attach_in_steps(app: WorkspaceHost) -> None:
    """The attach as a chain of short GUI-thread steps (each ≲ 40 ms on 100k leads).

    Starts when the preload is done (its completion comes back through ``on_gui``; at
    the latest after PRELOAD_WAIT_MS), then runs one step per event-loop turn: services,
    widgets, start (first reads, the phone's start-up), then the login/sync wiring and
    ``app.set_workspace``. A shutdown in between stops the chain.
    """
    from PySide6.QtCore import QTimer

    if app.workspace is not None:
        return
    preload = _preload_in_background()
    steps = _attach_steps(app)
    begun = [False]

    def begin() -> None:
        if not begun[0]:
            begun[0] = True
            run_next()

    def run_next() -> None:
        if app.closing:
            return
        try:
            step = next(steps)
        except StopIteration:
            return
        t0 = time.perf_counter()
        try:
            step()
        except Exception:
            log.exception("attaching the workspace failed at %s", getattr(step, "__name__", step))
            raise
        log.debug("workspace attach: %s in %.0f ms", getattr(step, "__name__", step),
                  (time.perf_counter() - t0) * 1000)
        # Not 0: a step's widgets are laid out and painted on the next turn, and timers
        # that fell due meanwhile (the call bar clock, the UI's own) run before the next step.
        QTimer.singleShot(STEP_GAP_MS, run_next)

    if preload.done():
        begin()
    else:
        preload.add_done_callback(lambda _done: on_gui(begin))
        QTimer.singleShot(PRELOAD_WAIT_MS, begin)


def _attach_now(app: WorkspaceHost) -> Any:
    """The whole attach at once (tools and tests that attach to a ready cache)."""
    for step in _attach_steps(app):
        if app.closing:
            return None
        step()
    return app.workspace


def _attach_steps(app: WorkspaceHost) -> Iterator[Callable[[], None]]:
    """The attach, step by step: each yielded function is one bounded piece of GUI-thread work."""
    if app.workspace is not None or app.closing:
        return  # the cache finished opening after the app began shutting down
    assert app.paths is not None and app.window is not None
    paths, window = app.paths, app.window
    made: dict[str, Any] = {}
    demo = not getattr(app.settings, "server_url", None)

    def build_services() -> None:
        from app.workspace.runtime import WorkspaceRuntime

        made["runtime"] = WorkspaceRuntime(app.cache, app.settings, paths.data_dir, demo=demo,
                                           repository=app.repository, parent=app)

    def build_widgets() -> None:
        from ui.workspace.wiring import WorkspaceUi

        made["ui"] = WorkspaceUi(window, made["runtime"], getattr(app.settings, "shortcuts", None))

    def start_services() -> None:
        runtime = made["runtime"]
        app.on_shutdown("workspace", runtime.stop)  # cleanups run in reverse: before the cache closes
        runtime.start()

    def connect_and_finish() -> None:
        runtime, ui = made["runtime"], made["ui"]
        # tel:/sip: links and a second `seatmate dial …` go through the same gate as every dial.
        window.dialRequested.connect(runtime.controller.dial_number)
        _attach_settings_dialog(app, runtime)
        if runtime.options.get("start_minimised"):
            # The tray icon stays; an incoming call or a callback reminder brings the window back.
            window.showMinimized()
        if not demo:
            _attach_sync(app, runtime, ui)
        else:
            window.status.set_sync_state("local", 0)
            _offer_login(app, None)  # the 账号 menu explains how to connect to a server
        log.info("workspace attached (%s)", "embedded demo" if demo else "server mode")
        app.set_workspace(ui)  # → workspaceReady

    yield build_services
    yield build_widgets
    yield start_services
    yield connect_and_finish


def _attach_settings_dialog(app: WorkspaceHost, runtime: Any) -> None:
    """设置 in the View menu and Ctrl+, (ui.settings_dialog over app.workspace.settings_service)."""
    from app.sip_account import SipAccountService
    from app.workspace.settings_service import SettingsService
    from ui.settings_dialog import install_settings_entry

    # One SIP account service per app: the dialog's SIP page and the server's provisioning.
    sip = SipAccountService(app.settings, runtime, parent=runtime)
    app.sip_account = sip  # type: ignore[attr-defined]

    def server_settings() -> dict:
        from cache.sync_state import SyncState

        return SyncState(app.cache).settings()

    def make_service() -> SettingsService:
        return SettingsService(app.settings, runtime, apply_language=getattr(app, "set_language", None),
                               server_settings=server_settings, sip=sip, parent=runtime)

    install_settings_entry(app.window, make_service)


def _attach_sync(app: WorkspaceHost, runtime: Any, ui: Any) -> None:
    """Server mode: the sync client pushes the outbox, pulls changes and reports presence."""
    service = app.sync
    if service is None:
        from sync.service import SyncService

        service = SyncService(app.cache, interval_s=float(getattr(app.settings, "sync_interval_s", 30)))
        app.set_sync(service)  # the application stops it at shutdown
        service.start()
    assert app.window is not None
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

    changes = sync_changes_handler(app, runtime)

    _offer_login(app, service)
    service.online_changed.connect(online)
    service.pending_count_changed.connect(pending)
    service.sync_failed.connect(status.set_sync_problem)  # a message code; the status bar words it
    service.changes_applied.connect(changes)
    # The SIP account the server provisions for this user: saved and registered at once.
    from app.sip_account import apply_provisioned

    service.sip_account_changed.connect(lambda notice: apply_provisioned(app.sip_account, notice))
    # Every pull carries the server's monitor key: the softphone's grant check follows it.
    service.round_finished.connect(lambda _result: runtime.refresh_monitor_key())
    runtime.wrapup.saved.connect(lambda _saved: service.sync_now())  # at once after a disposition

    def report_presence(*_: object) -> None:
        # The call is named by the softphone's own id: the server binds a TL's monitor grant to
        # it and the agent's engine refuses a grant issued for another call.
        st = runtime.agent.status
        active = runtime.controller.active
        on_call = active is not None and st.state is AgentState.ON_CALL
        service.set_presence(st.state.value, st.reason, active.engine_id if on_call else None,
                             active.lead_id if on_call else None)

    runtime.agent.changed.connect(report_presence)
    runtime.controller.engine_bound.connect(report_presence)
    show()
    # Supervisor mode follows the login: a TL's board, everyone's side of floor control.
    from app.supervisor.attach import attach_supervisor

    mode = attach_supervisor(app, runtime, ui, service)
    # The board's 监听/耳语/强插 through the TL's own softphone, and the banner above the board.
    from app.supervisor.monitor_attach import attach_monitoring

    attach_monitoring(app, runtime, service, mode)


# Next lead and KPIs after background changes: once the pages stop landing for this long …
SYNC_QUIET_MS = 400
# … or at the latest this long after the first page of a burst.
SYNC_MAX_DELAY_MS = 2000


def sync_changes_handler(app: WorkspaceHost, runtime: Any) -> Callable[[Any], None]:
    """What runs on the GUI thread when a sync page has been applied (``changes_applied``).

    The server's changes refresh what the agent sees — the list, the next lead, the
    KPIs — but not once per page: a sync of 10,000 changes lands as 10 pages, and each
    next-lead/KPI pass re-reads the search index on the workspace's worker, holding
    the GIL the GUI needs. The list refreshes at most every 250 ms (and keeps its
    model when the rows are unchanged); the next lead and KPIs once the burst is
    over (bounded by SYNC_MAX_DELAY_MS, so a long sync still moves them).
    """
    from PySide6.QtCore import QTimer

    timer = QTimer(runtime, singleShot=True, interval=SYNC_QUIET_MS)
    first = [0.0]

    def flush() -> None:
        first[0] = 0.0
        runtime.controller.refresh_preview()
        runtime.controller.refresh_kpis()
        runtime.controller.refresh_first_contact()

    timer.timeout.connect(flush)

    window = app.window

    def changes(_summary: Any) -> None:
        if window is not None:
            window.refresh_soon()
        now = time.monotonic()
        if not first[0]:
            first[0] = now
        if (now - first[0]) * 1000 >= SYNC_MAX_DELAY_MS:
            timer.stop()
            flush()
        else:
            timer.start()  # (re)start: trailing edge of the burst

    return changes


def _offer_login(app: WorkspaceHost, service: Any) -> None:
    """The 账号 menu, the login dialog and the rejected-records indicator (app.session_service).

    No saved session (first start, or the server revoked it): the dialog asks for the
    password. Work goes on meanwhile: everything the agent does is queued locally.
    """
    from app.session_service import SessionService
    from ui.login_dialog import AccountUi

    assert app.paths is not None
    session = SessionService(app.cache, app.settings, app.paths.settings_file, app.paths.data_dir,
                             sync=service, parent=app)
    account = AccountUi(app.window, session)
    app.set_account(session, account)
    if service is not None and not session.has_cached_identity():
        account.dialog.ask()
