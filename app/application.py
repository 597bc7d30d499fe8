"""Composition root: one ordered, logged start-up and one ordered shutdown.

Start-up: paths → logging → settings → Qt → single instance → translations →
cache (opened, checked, repaired, migrated, demo-loaded and indexed on the
lead worker thread while the window is being built; a repair notice is shown
to the user) → services → window. Every step is logged with its duration.

Shutdown: ``shuttingDown`` is emitted for anyone who wants to know, then the
clean-ups registered during start-up run in reverse order (window services
before the cache they use).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app import allocator

allocator.tune()  # before Qt and the workers start their threads: see app/allocator.py

from app import deferred_import  # noqa: E402

deferred_import.defer()  # before SQLAlchemy imports asyncio and importlib.metadata: ~5 MB it never uses

from PySide6.QtCore import QObject, QTimer, Signal  # noqa: E402

from app import pyside_hook  # noqa: E402

pyside_hook.install()  # before the app's other imports: see app/pyside_hook.py

from app.paths import AppPaths  # noqa: E402

# httpx (the sync client) imports its command-line tool when click, rich and pygments are
# installed, as they are in a developer's venv: ~90 modules, ~4.5 MB the app never runs.
# Marked absent, httpx falls back to a stub, as it does in the frozen bundle that excludes them.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from app.lead_service import LeadService
    from app.session_service import SessionService
    from app.settings import Settings
    from cache.db import CacheHandle
    from cache.repository import Repository
    from sync.service import SyncService
    from ui.login_dialog import AccountUi, LoginDialog
    from ui.main_window import MainWindow
    from ui.workspace.wiring import WorkspaceUi

log = logging.getLogger(__name__)

#: Environment switch for tests and the benchmark: print "SEATMATE_READY <ms> <rows>" once leads are shown.
ENV_REPORT_READY = "SEATMATE_REPORT_READY"
_T0 = time.perf_counter()
#: After the start-up objects are frozen, the C heaps are trimmed again this much later, and then
#: every TRIM_INTERVAL_MS (app/allocator.py).
TRIM_AFTER_START_MS = 2000
TRIM_INTERVAL_MS = 60_000


def _timed(name: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    log.info("start-up: %s done in %.0f ms", name, (time.perf_counter() - start) * 1000)
    return result


class Application(QObject):
    shuttingDown = Signal()
    #: The workspace (call loop, status bar, login menu) is attached: ``self.workspace`` is set.
    workspaceReady = Signal()

    def __init__(self, args: argparse.Namespace):
        super().__init__()
        self.args = args
        self.paths: AppPaths | None = None
        self.settings: Settings | Any = None
        self.qt_app: Any = None
        self.translations: Any = None
        self.single: Any = None
        self.cache: CacheHandle | None = None  # set on the lead worker by _open_cache
        self.repository: Repository | None = None
        self.leads: LeadService | None = None
        self.window: MainWindow | None = None
        # Attached once the cache is open (app.workspace.attach hands them back through the setters).
        self.workspace: WorkspaceUi | None = None
        self.workspace_attaching = False
        self.sync: SyncService | None = None
        self.session: SessionService | None = None
        self.account: AccountUi | None = None
        self._pending_dial: str | None = None
        self._cleanups: list[tuple[str, Callable[[], Any]]] = []
        self._closing = False
        self._gc_frozen = False
        self._first_page: Any = None  # Future of cache.first_page.peek(), started first thing

    def on_shutdown(self, name: str, fn: Callable[[], Any]) -> None:
        """Run ``fn`` at shutdown; clean-ups run in reverse order of registration."""
        self._cleanups.append((name, fn))

    @property
    def closing(self) -> bool:
        return self._closing

    # -- what attaching the workspace hands back --------------------------------
    def set_workspace(self, workspace: WorkspaceUi) -> None:
        self.workspace = workspace
        self.workspace_attaching = False
        self.workspaceReady.emit()

    def set_sync(self, sync: SyncService) -> None:
        self.sync = sync
        self.on_shutdown("sync", sync.stop)

    def set_account(self, session: SessionService, account: AccountUi) -> None:
        self.session = session
        self.account = account

    @property
    def login_dialog(self) -> LoginDialog | None:
        return self.account.dialog if self.account is not None else None

    # -- start-up ------------------------------------------------------------
    def start(self) -> int | None:
        """Returns an exit code when the process should end right away (hand-off done)."""
        self.paths = AppPaths.resolve(getattr(self.args, "data_dir", None)).ensure()
        # The integrity check runs beside start-up; open_cache uses it only if the file is unchanged.
        from app.background import run_in_background
        from cache.precheck import start_check

        start_check(self.paths.cache_db, lambda check: run_in_background(check, name="cache-check"))
        # The first page straight from the file, read while Qt and the window are set up.
        self._first_page = run_in_background(self._peek_first_page, name="lead-peek")
        self._init_logging()
        log.info("Seatmate starting (pid %d)", os.getpid())
        self.settings = _timed("settings", self._load_settings)
        _timed("qt", self._init_qt)
        handed_off = _timed("single instance", self._init_single_instance)
        if handed_off is not None:
            return handed_off
        _timed("translations", self._init_translations)
        _timed("services (cache opening in the background)", self._init_services)
        _timed("window", self._init_window)
        _timed("workspace", self._init_workspace)
        return None

    def _init_logging(self) -> None:
        from app import logging_setup

        logging_setup.setup_logging(self.paths.log_dir)

    def _load_settings(self) -> Any:
        from app.settings import Settings

        settings = Settings.load(self.paths.settings_file)
        server = getattr(self.args, "server", None)
        if server:
            # `seatmate --server URL`: server mode for this run; saved when the login says "remember".
            from app.session_service import normalise_url

            url = normalise_url(server)
            if url is None:
                log.error("ignoring --server %r: not a server address", server)
            else:
                settings.server_url = url
        return settings

    def _init_qt(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.qt_app = QApplication.instance() or QApplication(sys.argv[:1])
        self.qt_app.setApplicationName("Seatmate")
        self.qt_app.setOrganizationName("Seatmate")
        from app.icon import app_icon

        self.qt_app.setWindowIcon(app_icon())  # every window's and the tray's (resources/icons)
        self.qt_app.setQuitOnLastWindowClosed(True)
        self.qt_app.aboutToQuit.connect(self._shutdown)

    def _init_single_instance(self) -> int | None:
        from app.single_instance import SingleInstance, number_from_argument, send_to_running, server_name
        from core.phone import PhoneError, mask

        name = server_name(self.paths.data_dir)
        number = None
        raw = getattr(self.args, "number", None)
        if raw:
            try:
                number = number_from_argument(raw)
            except PhoneError as exc:
                # One clear sentence; the number itself is not echoed (it may be a real one).
                print(f"seatmate: cannot dial that: {exc}", file=sys.stderr)
                log.info("dial argument refused: %s", exc)
                return 2
        message = {"cmd": "dial", "number": number} if number else {"cmd": "activate"}
        answer = send_to_running(name, message)
        if answer is not None:
            log.info("handed %s to the running instance: %s", mask(number) if number else "activation", answer)
            return 0 if answer else 1
        self.single = SingleInstance(name, self)
        self.single.listen()
        self._pending_dial = number
        self.on_shutdown("single instance", self.single.close)
        return None

    def _init_translations(self) -> None:
        from app.i18n import Translations, resolve_language

        self.translations = Translations.of(self.qt_app)
        lang = getattr(self.args, "lang", None) or getattr(self.settings, "language", None)
        self.translations.apply(resolve_language(lang))

    def _open_cache(self) -> Any:
        """Runs on the lead worker thread: check/repair/migrate, demo data, search index."""
        from cache.db import open_cache
        from cache.repository import Repository

        self.cache = _timed("cache open", lambda: open_cache(self.paths.cache_db,
                                                             language=self.translations.language))
        repository = Repository(self.cache)
        if not getattr(self.settings, "server_url", None):
            # A cached identity means server mode even without the setting (logged in
            # with `--server` and "remember" unticked): start at once, offline if need be.
            from app.session_service import cached_server_url

            cached = cached_server_url(self.cache)
            if cached:
                self.settings.server_url = cached
        # The embedded default: no server configured → the bundled demo (idempotent).
        if not getattr(self.settings, "server_url", None):
            from app.demo.campaign import load_demo

            _timed("demo data", lambda: load_demo(repository))
        # Inside LeadService's defer_warm_up() this only records the request: the first page
        # comes from SQL, the index is built right after it and indexReady follows.
        _timed("search index", repository.warm_up)
        return repository

    def _peek_first_page(self) -> Any:
        """On a thread of its own: the default tab's first page straight from the file, before
        SQLAlchemy is even imported (cache.first_page; None when that is not safe)."""
        from app.lead_service import FIRST_PAGE
        from cache.first_page import peek
        from cache.lead_order import TABS

        # The window opens on its first tab, "todo" (ui.main_window.TABS follows lead_order's order).
        return peek(self.paths.cache_db, TABS[0], 2 * FIRST_PAGE, FIRST_PAGE)

    def _init_services(self) -> None:
        from app.lead_service import LeadService

        self.leads = LeadService(parent=self)
        self.leads.opened.connect(self._on_cache_ready)
        self.leads.openFailed.connect(self._on_cache_failed)
        self.on_shutdown("cache", self._close_cache)  # runs after the worker has stopped
        self.on_shutdown("lead service", self.leads.shutdown)
        self.leads.open_in_background(self._open_cache, peek=lambda: self._first_page.result(10))

    def _init_window(self) -> None:
        from ui.main_window import MainWindow
        from ui.style import apply_style

        apply_style(self.qt_app)
        self.window = MainWindow(self.leads, language=self.translations.language)
        self.window.languageRequested.connect(self.set_language)
        self.single.dialRequested.connect(self.window.handle_dial_request)
        self.single.activateRequested.connect(self.window.show_and_raise)
        self.window.leadsShown.connect(self._on_first_leads)
        self._init_lead_import()
        self.window.refresh()  # queued behind the cache opening on the worker
        self.window.show()
        if self._pending_dial:
            number, self._pending_dial = self._pending_dial, None
            QTimer.singleShot(0, lambda: self.window.handle_dial_request(number))

    def _init_lead_import(self) -> None:
        """导入名单… without a server: the leads then live in this computer's cache (with a server
        they come from it, and leads it does not know would be refused by its sync)."""
        if getattr(self.settings, "server_url", None):
            return
        from app.lead_import_service import LOCAL_IMPORT_CAMPAIGN, LeadImportService

        self.lead_import = LeadImportService(lambda: self.repository, LOCAL_IMPORT_CAMPAIGN, parent=self)
        self.window.importRequested.connect(self.lead_import.import_path)
        self.lead_import.finished.connect(self.window.show_import_outcome)
        self.window.import_action.setVisible(True)

    def _init_workspace(self) -> None:
        """The call loop (softphone, wrap-up, compliance, KPIs): attaches once the cache is
        open and the first lead page is on screen (see ``_on_cache_ready``)."""
        self.workspaceReady.connect(self._freeze_start_up_objects)
        self.leads.indexReady.connect(self._freeze_start_up_objects)

    def _freeze_start_up_objects(self) -> None:
        """Once the index and the workspace exist: ``gc.freeze()``.

        Everything built at start-up (modules, Qt wrappers, SQLAlchemy metadata, the search
        index, the pinyin table once loaded) lives as long as the process. A full
        collection walked all of it — 60–100 ms with the GIL held, landing at random: on a
        search keystroke, or in the middle of a sync, freezing the window. Frozen, those
        objects are left out of every collection (merging the generations costs nothing).
        """
        if self.workspace is None or not getattr(self.leads, "index_ready", False) or self._gc_frozen:
            return
        self._gc_frozen = True
        import gc

        gc.freeze()
        log.info("start-up: %d long-lived objects left out of garbage collection", gc.get_freeze_count())
        # Start-up's temporaries (the index build's lists, SQLite's read caches) are freed by
        # now: give the heaps' free pages back (~0.5 ms; app/allocator.py). Once more when the
        # first card, next lead and KPIs have been read, then now and then (syncs, searches).
        allocator.trim()
        QTimer.singleShot(TRIM_AFTER_START_MS, allocator.trim)
        self._trim_timer = QTimer(self, interval=TRIM_INTERVAL_MS)
        self._trim_timer.timeout.connect(allocator.trim)
        self._trim_timer.start()

    def _on_cache_ready(self, repository: Repository) -> None:
        self.repository = repository
        notice = getattr(self.cache, "repair_notice", None)
        if notice:
            log.warning("cache repaired at start-up; telling the user")
            QTimer.singleShot(0, lambda: self.window.show_notice(notice))
        if self.workspace is None and not self.workspace_attaching and not self._closing:
            from app.workspace.attach import attach_after_first_screen

            self.workspace_attaching = True
            attach_after_first_screen(self)

    def _on_cache_failed(self, exc: Exception) -> None:
        # The environment's fault (e.g. a cache from a newer version): say so; quitting
        # happens when the user closes the message (nothing has been written).
        box = self.window.show_error(str(exc))
        box.finished.connect(lambda _r: self.qt_app.exit(3))

    def _on_first_leads(self, count: int) -> None:
        self.window.leadsShown.disconnect(self._on_first_leads)
        ms = (time.perf_counter() - _T0) * 1000
        log.info("start-up: first %d leads on screen %.0f ms after interpreter start", count, ms)
        if os.environ.get(ENV_REPORT_READY):
            print(f"SEATMATE_READY {ms:.1f} {count}", flush=True)

    # -- run-time ------------------------------------------------------------
    def set_language(self, language: str) -> None:
        applied = self.translations.apply(language)
        self.window.set_language(applied)
        try:
            self.settings.language = applied
            self.settings.save(self.paths.settings_file)
        except Exception:
            log.exception("saving the language setting failed")

    def run(self) -> int:
        code = self.start()
        if code is not None:
            return code
        self._quit_on_signals()
        return self.qt_app.exec()

    def _quit_on_signals(self) -> None:
        """Ctrl+C / SIGTERM (logout, service stop) go through the same ordered shutdown."""
        import signal

        def request_quit(signum, _frame) -> None:
            log.info("signal %d received; quitting", signum)
            QTimer.singleShot(0, self.qt_app.quit)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_quit)
        # Python runs signal handlers only between bytecodes: wake the interpreter now and then.
        self._signal_wakeup = QTimer(self, interval=250)
        self._signal_wakeup.timeout.connect(lambda: None)
        self._signal_wakeup.start()

    # -- shutdown ------------------------------------------------------------
    def _shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        log.info("shutting down")
        self.shuttingDown.emit()
        for name, fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:
                log.exception("shutdown step %s failed", name)
        log.info("shutdown complete")

    def _close_cache(self) -> None:
        if self.cache is not None:
            self.cache.close()


def launch_gui(args: argparse.Namespace) -> int:
    return Application(args).run()
