"""Attach the workspace to a started Application (the composition root calls this once).

Kept apart from app/application.py so the composition root needs one line,
and tools (benchmark, screenshots) can attach the same way. The cache opens
in the background; the workspace attaches when it is ready.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
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
            leads.opened.connect(lambda _repo: _attach_after_first_screen(app))
        return None
    return _attach_now(app)


# Longest the attach waits for the first lead page to be painted (an empty or failed
# search still paints; this only bounds a window that is never shown).
FIRST_SCREEN_WAIT_MS = 1500


def _attach_after_first_screen(app: Any) -> None:
    """Attach once the first lead page is on screen, not before it, and without blocking it.

    Building the workspace costs 0.3–0.5 s (imports of the runtime and its widgets, the
    first reads, the widgets themselves). Run on ``opened`` it delayed the first page by
    that much; run in one go after the first paint it froze the painted window for as long.
    Now the imports run on a thread while the list is shown, and the rest is cut into
    steps of a few tens of milliseconds, one per turn of the event loop, so paints and
    keystrokes get through in between (see :func:`_attach_in_steps`).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    window = getattr(app, "window", None)
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
        # After the paint event has returned: the frame is flushed before we go on. (Waiting
        # for the search index too was tried: no smaller stalls, the call loop 0.4 s later.)
        QTimer.singleShot(0, lambda: _attach_in_steps(app))

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
    # Tied to the watcher: if the window is destroyed first, the timer goes with it.
    QTimer.singleShot(FIRST_SCREEN_WAIT_MS, watcher, go)


# Pause between two attach steps (see _attach_in_steps).
STEP_GAP_MS = 8

# What the workspace imports: ~0.1 s of module loading, done on a thread (see below).
_PRELOAD = ("app.workspace.runtime", "ui.workspace.wiring", "app.session_service", "ui.login_dialog",
            "softphone.engine")
_preload_thread: threading.Thread | None = None


def _preload_in_background() -> threading.Thread:
    """Import the workspace's modules on a thread (once per process).

    Module code runs in Python and holds the GIL, but the interpreter hands it to the GUI
    thread every few milliseconds; done on the GUI thread it was one 0.1 s freeze. The
    modules only define classes (no widget is made at import time).
    """
    global _preload_thread
    if _preload_thread is None:
        def work() -> None:
            import importlib

            for name in _PRELOAD:
                try:
                    importlib.import_module(name)
                except Exception:  # reported where the module is really used
                    log.debug("preloading %s failed", name, exc_info=True)

        _preload_thread = threading.Thread(target=work, name="workspace-preload", daemon=True)
        _preload_thread.start()
    return _preload_thread


def _attach_in_steps(app: Any) -> None:
    """The attach as a chain of short GUI-thread steps (each ≲ 40 ms on 100k leads).

    Waits for the preload thread without blocking (polling every 10 ms), then runs one
    step per event-loop turn: services, widgets, start (first reads, the phone thread),
    then the login/sync wiring and ``app.workspace``. A shutdown in between stops the chain.
    """
    from PySide6.QtCore import QTimer

    if getattr(app, "workspace", None) is not None or getattr(app, "_workspace_steps", None) is not None:
        return
    preload = _preload_in_background()
    steps = _attach_steps(app)
    app._workspace_steps = steps
    started = time.perf_counter()

    def run_next() -> None:
        if getattr(app, "_closing", False):
            app._workspace_steps = None
            return
        if preload.is_alive() and time.perf_counter() - started < 10:
            QTimer.singleShot(10, run_next)  # bounded: after 10 s the imports happen here
            return
        try:
            step = next(steps)
        except StopIteration:
            app._workspace_steps = None
            return
        t0 = time.perf_counter()
        try:
            step()
        except Exception:
            app._workspace_steps = None
            log.exception("attaching the workspace failed at %s", getattr(step, "__name__", step))
            raise
        log.debug("workspace attach: %s in %.0f ms", getattr(step, "__name__", step),
                  (time.perf_counter() - t0) * 1000)
        # Not 0: a step's widgets are laid out and painted on the next turn, and timers
        # that fell due meanwhile (the call bar clock, the UI's own) run before the next step.
        QTimer.singleShot(STEP_GAP_MS, run_next)

    run_next()


def _attach_now(app: Any) -> Any:
    """The whole attach at once (tools and tests that attach to a ready cache)."""
    for step in _attach_steps(app):
        if getattr(app, "_closing", False):
            return None
        step()
    return getattr(app, "workspace", None)


def _attach_steps(app: Any) -> Iterator[Callable[[], None]]:
    """The attach, step by step: each yielded function is one bounded piece of GUI-thread work."""
    if getattr(app, "workspace", None) is not None or getattr(app, "_closing", False):
        return  # the cache finished opening after the app began shutting down
    made: dict[str, Any] = {}
    demo = not getattr(app.settings, "server_url", None)

    def build_services() -> None:
        from app.workspace.runtime import WorkspaceRuntime

        made["runtime"] = WorkspaceRuntime(app.cache, app.settings, app.paths.data_dir, demo=demo,
                                           repository=getattr(app, "repository", None), parent=app)

    def build_widgets() -> None:
        from ui.workspace.wiring import WorkspaceUi

        made["ui"] = WorkspaceUi(app.window, made["runtime"], getattr(app.settings, "shortcuts", None))

    def start_services() -> None:
        runtime = made["runtime"]
        register = getattr(app, "_on_shutdown", None)
        if callable(register):
            register("workspace", runtime.stop)  # cleanups run in reverse: before the cache closes
        else:
            app.shuttingDown.connect(runtime.stop)
        runtime.start()

    def connect_and_finish() -> None:
        runtime, ui = made["runtime"], made["ui"]
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
        app.workspace = ui
        log.info("workspace attached (%s)", "embedded demo" if demo else "server mode")
        ready = getattr(app, "workspaceReady", None)
        if ready is not None:
            ready.emit()

    yield build_services
    yield build_widgets
    yield start_services
    yield connect_and_finish


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

    changes = sync_changes_handler(app, runtime)

    _offer_login(app, service)
    service.online_changed.connect(online)
    service.pending_count_changed.connect(pending)
    service.changes_applied.connect(changes)
    runtime.wrapup.saved.connect(lambda _saved: service.sync_now())  # at once after a disposition
    runtime.agent.changed.connect(lambda st: service.set_presence(st.state.value, st.reason))
    show()


# Next lead and KPIs after background changes: once the pages stop landing for this long …
SYNC_QUIET_MS = 400
# … or at the latest this long after the first page of a burst.
SYNC_MAX_DELAY_MS = 2000


def sync_changes_handler(app: Any, runtime: Any) -> Callable[[Any], None]:
    """What runs on the GUI thread when a sync page has been applied (``changes_applied``).

    The server's changes refresh what the agent sees — the list, the next lead, the
    KPIs — but not once per page: a sync of 10,000 changes lands as 10 pages, and each
    next-lead/KPI pass re-reads the search index on the workspace's worker, holding
    the GIL the GUI needs. The list refreshes at most every 250 ms (and keeps its
    model when the rows are unchanged); the next lead and KPIs once the burst is
    over (bounded by SYNC_MAX_DELAY_MS, so a long sync still moves them).
    """
    from PySide6.QtCore import QTimer

    timer = QTimer(app, singleShot=True, interval=SYNC_QUIET_MS)
    first = [0.0]

    def flush() -> None:
        first[0] = 0.0
        runtime.controller.refresh_preview()
        runtime.controller.refresh_kpis()
        runtime.controller.refresh_first_contact()

    timer.timeout.connect(flush)

    def changes(_summary: Any) -> None:
        app.window.refresh_soon()
        now = time.monotonic()
        if not first[0]:
            first[0] = now
        if (now - first[0]) * 1000 >= SYNC_MAX_DELAY_MS:
            timer.stop()
            flush()
        else:
            timer.start()  # (re)start: trailing edge of the burst

    return changes


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
