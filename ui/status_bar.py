"""Status bar with fixed places for SIP registration, sync state and today's KPIs."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from core.messages import Message
from ui import formatting, messages


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.sip = QLabel(objectName="sipState")
        self.sync = QLabel(objectName="syncState")
        self.kpi = QLabel(objectName="kpis")
        self.leads = QLabel(objectName="leadCount")
        for w in (self.leads, self.sip, self.sync, self.kpi):
            self.addPermanentWidget(w)
        # The count changes on every search keystroke; a label whose size hint changed with
        # it ("240 条" → "36,377 条") made the whole status bar lay out and repaint each time.
        self.leads.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._sip_state = "offline"
        self._sync_state = "local"
        self._pending = 0
        self._sync_problem: Message | None = None
        self._calls, self._calls_target = 0, 30
        self._talk_s, self._talk_target_min = 0, 50
        self._lead_count = 0
        self._count_font = None
        self.retranslate()

    def set_sip_state(self, state: str) -> None:
        self._sip_state = state
        self.retranslate()

    def set_sync_state(self, state: str, pending: int) -> None:
        self._sync_state, self._pending = state, pending
        if state == "online":
            self._sync_problem = None
        self.retranslate()

    def set_sync_problem(self, problem: Message | None) -> None:
        """Why the last sync round failed (shown next to the state until a round succeeds)."""
        self._sync_problem = problem
        self.retranslate()

    def set_kpis(self, calls: int, calls_target: int, talk_seconds: int, talk_target_min: int) -> None:
        self._calls, self._calls_target = calls, calls_target
        self._talk_s, self._talk_target_min = talk_seconds, talk_target_min
        self.retranslate()

    def set_lead_count(self, count: int) -> None:
        self._lead_count = count
        font = self.leads.font()
        if font != self._count_font:  # a style sheet or language change: measure again
            self._count_font = font
            self._fix_count_width()
        self.leads.setText(self._count_text(count))

    def _count_text(self, count: int) -> str:
        return QCoreApplication.translate("StatusBar", "%1 leads").replace("%1", formatting.integer(count))

    def _fix_count_width(self) -> None:
        """A fixed size, wide enough for any count up to 9,999,999 in the current language and
        font: Qt skips the layout pass for a widget whose minimum and maximum size are equal."""
        metrics = self.leads.fontMetrics()
        margins = self.leads.contentsMargins()
        self.leads.setFixedSize(metrics.horizontalAdvance(self._count_text(8_888_888)) + 8
                                + margins.left() + margins.right(),
                                metrics.height() + margins.top() + margins.bottom())

    def retranslate(self) -> None:
        sip = {"offline": QCoreApplication.translate("StatusBar", "SIP: not connected"), "registered": QCoreApplication.translate("StatusBar", "SIP: registered")}
        sync = {"local": QCoreApplication.translate("StatusBar", "Sync: local demo (no server)"), "online": QCoreApplication.translate("StatusBar", "Sync: online"),
                "offline": QCoreApplication.translate("StatusBar", "Sync: offline")}
        self.sip.setText(sip.get(self._sip_state, self._sip_state))
        text = sync.get(self._sync_state, self._sync_state)
        if self._pending:
            text += " · " + QCoreApplication.translate("StatusBar", "%1 pending").replace("%1", formatting.integer(self._pending))
        if self._sync_problem is not None and self._sync_state != "online":
            text += " · " + messages.text(self._sync_problem)
        self.sync.setText(text)
        self.kpi.setText(
            QCoreApplication.translate("StatusBar", "Calls %1/%2 · Talk time %3/%4 min")
            .replace("%1", formatting.integer(self._calls))
            .replace("%2", formatting.integer(self._calls_target))
            .replace("%3", formatting.integer(self._talk_s // 60))
            .replace("%4", formatting.integer(self._talk_target_min))
        )
        self._count_font = None  # the width depends on the language's text too
        self.set_lead_count(self._lead_count)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
