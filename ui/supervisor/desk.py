"""The TL's desk in the main window: a 班组 (Team) menu with the daily report (日报表,
Ctrl+Shift+R, a window of its own that a second screen can hold) and lead distribution
(分配名单, Ctrl+Shift+L, non-modal) the question inbox (问题收集箱, Ctrl+Shift+Q) and coaching on recordings (录音辅导, Ctrl+Shift+K). Built next to the team board for a TL only
(app/supervisor/attach.py) and removed with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence

from app.supervisor.coaching_service import CoachingService
from app.supervisor.tl_service import TeamLeadService
from ui.supervisor.coaching_view import CoachingDialog
from ui.supervisor.distribution_dialog import DistributionDialog
from ui.supervisor.inbox_view import QuestionInbox
from ui.supervisor.report_view import ReportWindow

REPORT_KEYS = "Ctrl+Shift+R"
DISTRIBUTE_KEYS = "Ctrl+Shift+L"
INBOX_KEYS = "Ctrl+Shift+Q"
COACHING_KEYS = "Ctrl+Shift+K"
LIVE_KEYS = "Ctrl+Shift+G"


class TeamLeadDesk(QObject):
    def __init__(self, window: Any, service: TeamLeadService,
                 campaigns_source: Callable[[], list[tuple[str, str]]] | None = None,
                 coaching: CoachingService | None = None, *, floor: Any = None,
                 monitor_source: Callable[[], Any] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        self.campaigns_source = campaigns_source
        self.report_window: ReportWindow | None = None
        self.distribution: DistributionDialog | None = None
        self.inbox: QuestionInbox | None = None
        self.coaching = coaching
        self.coaching_dialog: CoachingDialog | None = None
        self.floor = floor  # the board's state: the monitored agent's current call
        self.monitor_source = monitor_source  # () -> the monitoring service (its ``session``)
        self.menu = window.menuBar().addMenu("")
        self.menu.setObjectName("teamMenu")
        self.report_action = QAction(self, objectName="openDailyReport")
        self.report_action.setShortcut(QKeySequence(REPORT_KEYS))
        self.report_action.triggered.connect(self.open_report)
        self.distribute_action = QAction(self, objectName="openDistribution")
        self.distribute_action.setShortcut(QKeySequence(DISTRIBUTE_KEYS))
        self.distribute_action.triggered.connect(self.open_distribution)
        self.inbox_action = QAction(self, objectName="openQuestionInbox")
        self.inbox_action.setShortcut(QKeySequence(INBOX_KEYS))
        self.inbox_action.triggered.connect(self.open_inbox)
        self.menu.addAction(self.report_action)
        self.menu.addAction(self.distribute_action)
        self.menu.addAction(self.inbox_action)
        self.coaching_action = QAction(self, objectName="openCoaching")
        self.coaching_action.setShortcut(QKeySequence(COACHING_KEYS))
        self.coaching_action.triggered.connect(self.open_coaching)
        self.coaching_action.setVisible(coaching is not None)
        self.menu.addAction(self.coaching_action)
        self.live_action = QAction(self, objectName="coachLive")
        self.live_action.setShortcut(QKeySequence(LIVE_KEYS))
        self.live_action.triggered.connect(self.coach_live)
        self.live_action.setVisible(coaching is not None and floor is not None)
        self.menu.addAction(self.live_action)
        self.live_button: Any = None
        QTimer.singleShot(0, self, self._add_to_banner)  # the monitoring banner is built right after the desk
        window.installEventFilter(self)
        self.retranslate()

    def retranslate(self) -> None:
        self.menu.setTitle(QCoreApplication.translate("TeamLeadDesk", "&Team"))
        self.report_action.setText(QCoreApplication.translate("TeamLeadDesk", "Daily report"))
        self.distribute_action.setText(QCoreApplication.translate("TeamLeadDesk", "Distribute leads…"))
        self.inbox_action.setText(QCoreApplication.translate("TeamLeadDesk", "Question inbox"))
        self.coaching_action.setText(QCoreApplication.translate("TeamLeadDesk", "Coaching on recordings…"))
        self.live_action.setText(QCoreApplication.translate("TeamLeadDesk", "Coaching form for this call"))
        self.live_action.setToolTip(QCoreApplication.translate(
            "TeamLeadDesk", "While listening: fill in the 辅导表 for the agent's call") + f" ({LIVE_KEYS})")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def open_report(self) -> ReportWindow:
        if self.report_window is None:
            self.report_window = ReportWindow(self.service, self.window)
            self.report_window.view.refresh()
        self.report_window.show()
        self.report_window.raise_()
        self.report_window.activateWindow()
        return self.report_window

    def open_distribution(self) -> DistributionDialog:
        if self.distribution is None:
            self.distribution = DistributionDialog(self.service, self.window, campaigns_source=self.campaigns_source)
            self.distribution.load()
        self.distribution.show()
        self.distribution.raise_()
        return self.distribution

    def open_inbox(self) -> QuestionInbox:
        if self.inbox is None:
            self.inbox = QuestionInbox(self.service, self.window)
            self.inbox.refresh()
        self.inbox.show()
        self.inbox.raise_()
        return self.inbox

    def open_coaching(self) -> CoachingDialog | None:
        if self.coaching is None:
            return None
        if self.coaching_dialog is None:
            self.coaching_dialog = CoachingDialog(self.coaching, self.window)
            dialog = self.coaching_dialog

            def campaigns(pairs: list[tuple[str, str]]) -> None:
                if pairs and dialog.default_campaign is None:
                    dialog.set_default_campaign(pairs[0][0])  # the list does not name a call's campaign

            self.service.campaigns_loaded.connect(campaigns)
            if self.campaigns_source is not None:
                self.service.load_campaigns(self.campaigns_source)
            dialog.search()
        self.coaching_dialog.show()
        self.coaching_dialog.raise_()
        return self.coaching_dialog

    def _add_to_banner(self) -> None:
        """A 辅导表 button on the monitoring banner (when there is one), next to 结束."""
        if self.monitor_source is None or not self.live_action.isVisible():
            return
        banner = getattr(self.monitor_source(), "banner", None)
        layout = banner.layout() if banner is not None else None
        if layout is not None:
            from PySide6.QtWidgets import QToolButton

            self.live_button = QToolButton(objectName="monitorButton_coach")
            self.live_button.setDefaultAction(self.live_action)
            layout.addWidget(self.live_button)

    def coach_live(self) -> CoachingDialog | None:
        """The form for the call of the agent being monitored now (None when there is none)."""
        attachment = self.monitor_source() if self.monitor_source is not None else None
        session = getattr(getattr(attachment, "service", None), "session", None)
        if session is None or self.floor is None or self.coaching is None:
            return None
        row = self.floor.row(session.agent_id)
        call = row.presence.call if row is not None else None
        if call is None or not call.call_id:
            return None
        dialog = self.open_coaching()
        if dialog is not None:
            dialog.start_live(session.agent_id, row.display_name or row.username, call.call_id, call.started_at,
                              self.floor.now)
        return dialog

    def remove(self) -> None:
        self.window.removeEventFilter(self)
        self.window.menuBar().removeAction(self.menu.menuAction())
        for w in (self.report_window, self.distribution, self.inbox, self.coaching_dialog):
            if w is not None:
                w.close()
                w.deleteLater()
        self.report_window = self.distribution = self.inbox = self.coaching_dialog = None
        if self.live_button is not None:
            self.live_button.deleteLater()
        self.service.stop()
        if self.coaching is not None:
            self.coaching.stop()
        self.menu.deleteLater()
        self.deleteLater()
