"""The agent's main window: lead list with search and tabs, customer card,
script, call bar and status bar. Talks only to app services and their signals."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.lead_service import DetailResult, LeadService, SearchResult
from core.phone import mask
from ui.call_bar import CallBar
from ui.customer_card import CustomerCard
from ui.lead_table_model import LeadTableModel
from ui.script_panel import ScriptPanel
from ui.status_bar import StatusBar
from ui.style import style_panels

log = logging.getLogger(__name__)

# (repository tab key, label)
TABS: tuple[tuple[str, str], ...] = (
    ("todo", QT_TRANSLATE_NOOP("MainWindow", "To call")),
    ("callbacks", QT_TRANSLATE_NOOP("MainWindow", "Callbacks")),
    ("done", QT_TRANSLATE_NOOP("MainWindow", "Completed")),
)
LANGUAGES = (("zh_CN", "中文"), ("en", "English"))
#: How long the selection must rest before the card and script follow it.
CARD_SETTLE_MS = 120  # each named in its own language, never translated
REFRESH_COALESCE_MS = 250  # at most one list refresh per this interval for background changes



class MainWindow(QMainWindow):
    languageRequested = Signal(str)
    #: The agent (or a tel:/sip: hand-off) asked to dial; E.164 number, never logged in full.
    dialRequested = Signal(str)
    #: A lead file the user chose (导入名单…): a path; the application imports it.
    importRequested = Signal(str)
    #: Emitted after a search result is on screen (tests and the benchmark wait on it).
    leadsShown = Signal(int)
    #: Emitted after the customer card and script show a lead ("" when none).
    leadDetailShown = Signal(str)

    def __init__(self, leads: LeadService, language: str = "zh_CN", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._leads = leads
        self._language = language
        self._current_lead: str | None = None
        # A number handed over from outside (tel: link, second instance) stays in the call bar
        # until the agent picks a lead; list refreshes and late customer cards don't replace it.
        self._handed_over_number: str | None = None
        self._selecting_programmatically = False
        self._script_campaign: str | None = None
        # Set by the workspace's "not contacted within 48 h" filter: only new leads, never
        # tried, received before this moment (naive UTC); None shows every lead.
        self._waiting_before: Any = None

        self._card_timer = QTimer(self, singleShot=True, interval=CARD_SETTLE_MS)
        self._card_timer.timeout.connect(self._request_detail)
        # Background changes (sync pages) refresh the list at most once per interval.
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_COALESCE_MS)
        self._refresh_timer.timeout.connect(self._refresh_if_due)
        self._refresh_due = False

        self.search = QLineEdit(objectName="searchBox")
        self.search.setClearButtonEnabled(True)
        self.tabs = QTabBar(objectName="leadTabs")
        for _key, _label in TABS:
            self.tabs.addTab("")
        self.model = LeadTableModel(leads.rows, self)
        self.table = QTableView(objectName="leadTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        # Fixed row heights and no content-based sizing: the view never reads all 100k rows.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.horizontalHeader().setStretchLastSection(True)
        # Status is wide enough for the first-contact marker ("超48小时未联系").
        for col, width in enumerate((64, 96, 48, 84, 110, 88, 48, 100, 100)):
            self.table.setColumnWidth(col, width)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.tabs)
        left_layout.addWidget(self.table, 1)

        self.card = CustomerCard()
        self.script = ScriptPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.card)
        right.addWidget(self.script)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        self.call_bar = CallBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.call_bar)
        self.setCentralWidget(central)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self._build_menus()
        style_panels((self.search, self.tabs, self.card, self.script, self.call_bar, self.status))

        self.search.textChanged.connect(self._on_search_changed)
        self.search.returnPressed.connect(self.table.setFocus)
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        leads.searchFinished.connect(self._on_search_finished)
        leads.detailReady.connect(self._on_detail_ready)
        self.resize(1280, 800)
        self.retranslate()

    # -- menus ---------------------------------------------------------------
    def _build_menus(self) -> None:
        self.view_menu = self.menuBar().addMenu("")
        self.language_menu = self.view_menu.addMenu("")
        group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for code, native in LANGUAGES:
            action = QAction(native, self, checkable=True)
            action.setChecked(code == self._language)
            action.triggered.connect(lambda _checked=False, c=code: self.languageRequested.emit(c))
            group.addAction(action)
            self.language_menu.addAction(action)
            self.language_actions[code] = action
        self.find_action = QAction(self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        self.view_menu.addAction(self.find_action)
        # 导入名单…: shown when there is no server (leads then live in this computer's cache).
        self.import_action = QAction(self)
        self.import_action.setVisible(False)
        self.import_action.triggered.connect(self._choose_import_file)
        self.view_menu.addAction(self.import_action)
        self.quit_action = QAction(self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.view_menu.addAction(self.quit_action)

    def _choose_import_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self, QCoreApplication.translate("MainWindow", "Import leads"), "",
            QCoreApplication.translate("MainWindow", "Lead lists (*.csv *.txt *.xlsx)"))
        if path:
            self.importRequested.emit(path)

    def show_import_outcome(self, message: Any) -> None:
        """The import's one message (core.messages.Message) in the status bar, worded now."""
        from ui import messages

        self.status.showMessage(messages.text(message), 15000)
        if message.code == "import.done":
            self.refresh()

    def set_language(self, language: str) -> None:
        self._language = language
        if language in self.language_actions:
            self.language_actions[language].setChecked(True)

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("MainWindow", "Seatmate"))
        self.search.setPlaceholderText(QCoreApplication.translate("MainWindow", "Search name, pinyin initials, plate or last digits of the number"))
        for i, (_key, label) in enumerate(TABS):
            self.tabs.setTabText(i, QCoreApplication.translate("MainWindow", label))
        self.view_menu.setTitle(QCoreApplication.translate("MainWindow", "&View"))
        self.language_menu.setTitle(QCoreApplication.translate("MainWindow", "Language"))
        self.find_action.setText(QCoreApplication.translate("MainWindow", "Find lead"))
        self.import_action.setText(QCoreApplication.translate("MainWindow", "Import leads…"))
        self.quit_action.setText(QCoreApplication.translate("MainWindow", "Quit"))
        self.model.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- leads ---------------------------------------------------------------
    def current_tab(self) -> str:
        return TABS[max(self.tabs.currentIndex(), 0)][0]

    def refresh(self) -> int:
        self._refresh_due = False
        if self._waiting_before is not None:
            return self._leads.search(self.search.text(), self.current_tab(),
                                      waiting_since_before=self._waiting_before, keep=self._current_lead)
        return self._leads.search(self.search.text(), self.current_tab(), keep=self._current_lead)

    def set_waiting_filter(self, before: Any) -> None:
        """Show only new leads never tried that arrived before ``before`` (None: all leads)."""
        if before == self._waiting_before:
            return
        self._waiting_before = before
        self.refresh()

    def waiting_filter(self) -> Any:
        return self._waiting_before

    def refresh_soon(self) -> None:
        """Refresh the list after background changes, coalesced: a sync applying pages of
        1,000 changes triggers one refresh per REFRESH_COALESCE_MS, not one per page.

        Skipped if the list is searched again meanwhile (the agent typing): every search
        catches up with the cache's changes, so that result is already fresh.
        """
        self._refresh_due = True
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_if_due(self) -> None:
        if self._refresh_due:
            self.refresh()

    def _on_search_changed(self, _text: str) -> None:
        self.refresh()

    def _on_search_finished(self, result: SearchResult) -> None:
        keep = self._current_lead
        self.model.set_result(result.ids, result.first_rows, result.keep_start, result.kept_rows)
        self.status.set_lead_count(result.total)
        if result.error:
            self.status.showMessage(QCoreApplication.translate("MainWindow", "The lead list could not be read: %1").replace("%1", result.error), 10000)
        # The worker found the kept lead's row when the same lead was current then (the
        # common case); otherwise (the agent picked another lead meanwhile) look it up here.
        known = result.keep_row is not None and result.request.keep == keep
        row = result.keep_row if known else self.model.row_of(keep) if keep else -1
        if row < 0 and result.ids:
            row = 0
        if row >= 0:
            self._selecting_programmatically = True
            try:
                self.table.selectRow(row)
            finally:
                self._selecting_programmatically = False
        else:
            self._show_lead(None)
        self.leadsShown.emit(len(result.ids))

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        lead_id = self.model.lead_id(indexes[0].row()) if indexes else None
        if not self._selecting_programmatically and lead_id != self._current_lead:
            self._handed_over_number = None
        self._show_lead(lead_id)

    def current_lead_id(self) -> str | None:
        """The lead whose card is shown (the workspace dials it on Ctrl+D)."""
        return self._current_lead

    def _show_lead(self, lead_id: str | None) -> None:
        if lead_id == self._current_lead and lead_id is not None:
            return
        self._current_lead = lead_id
        if lead_id is None:
            self._card_timer.stop()
            self._apply_detail(None, None)
        else:
            # The list answers every keystroke; the card and script (a re-layout of the
            # whole script) follow once the selection has settled for a moment.
            self._card_timer.start()

    def _request_detail(self) -> None:
        if self._current_lead is not None:
            self._leads.request_detail(self._current_lead)  # → detailReady, off the GUI thread

    def _on_detail_ready(self, result: DetailResult) -> None:
        if result.lead_id != self._current_lead:
            return
        if result.error:
            self.status.showMessage(
                QCoreApplication.translate("MainWindow", "The customer card could not be read: %1").replace(
                    "%1", result.error), 10000)
        self._apply_detail(result.detail, result.script)

    def _apply_detail(self, detail: Any, script: Any) -> None:
        self.card.show_lead(detail)
        phones = getattr(detail, "phones", None) or ()
        self.call_bar.show_number(self._handed_over_number or (phones[0].masked if phones else ""))
        campaign = getattr(detail, "campaign_id", None)
        if campaign and campaign != self._script_campaign:
            self._script_campaign = campaign
            if script is None:
                self.script.set_script("", "")
            else:
                self.script.set_script(getattr(script, "title", ""), getattr(script, "body_markdown", ""))
        self.script.set_lead(detail)
        self.leadDetailShown.emit(getattr(detail, "id", None) or "")

    # -- hand-off from a second instance / tel: link -------------------------
    def handle_dial_request(self, e164: str) -> None:
        """A number arrived from outside: show it masked, bring the window up, pass it on."""
        self._handed_over_number = mask(e164)
        self.call_bar.show_number(self._handed_over_number)
        self.status.showMessage(QCoreApplication.translate("MainWindow", "Number received: %1").replace("%1", mask(e164)), 10000)
        self.show_and_raise()
        self.dialRequested.emit(e164)

    def show_and_raise(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def show_notice(self, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Information) -> QMessageBox:
        """One clear sentence from the environment (e.g. the cache was repaired).

        Window-modal but not blocking (``open()``, not ``exec()``): start-up and
        the event loop carry on behind it.
        """
        box = QMessageBox(icon, QCoreApplication.translate("MainWindow", "Seatmate"), text,
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("noticeBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def show_error(self, text: str) -> QMessageBox:
        return self.show_notice(text, QMessageBox.Icon.Critical)

    def closeEvent(self, event: QCloseEvent) -> None:
        log.info("main window closed")
        super().closeEvent(event)
