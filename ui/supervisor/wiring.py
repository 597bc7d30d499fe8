"""Puts supervisor mode into the main window.

- :class:`FloorUi` (a TL only): the team board in a dock (班组监控) beside the agent's own
  workspace, a View-menu toggle (Ctrl+Shift+B), alerts raised into the tray.
- :class:`AgentMessagesUi` (everyone logged in to a server): the TL's messages pop up
  as a non-modal notice and stay in a list (the status bar's 消息 button); an order
  carried out (forced 小休 / 就绪) is said in the status bar and the notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QLabel,
    QListWidget,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
)

from app.supervisor.agent_orders import AgentOrders
from app.supervisor.floor_service import FloorService
from core.floor_alerts import Alert
from core.messages import Message
from core.supervisor import TeamMessage
from ui import messages
from ui.supervisor.board_view import TeamBoard, board_shortcuts

TOGGLE_KEYS = "Ctrl+Shift+B"


class FloorUi(QObject):
    def __init__(self, window: Any, service: FloorService, tray: QSystemTrayIcon | None = None,
                 help_overlay: Any = None) -> None:
        super().__init__(window)
        self.window = window
        self.help_overlay = help_overlay
        self.service = service
        self.tray = tray
        self.board = TeamBoard(service)
        self.dock = QDockWidget(window)
        self.dock.setObjectName("teamBoardDock")
        self.dock.setWidget(self.board)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.resizeDocks([self.dock], [max(640, int(window.width() * 0.55))], Qt.Orientation.Horizontal)
        self.dock.show()  # added to a window that is already on screen
        self.toggle = self.dock.toggleViewAction()
        self.toggle.setObjectName("toggleTeamBoard")
        self.toggle.setShortcut(QKeySequence(TOGGLE_KEYS))
        menu = getattr(window, "view_menu", None)
        if menu is not None:
            menu.addAction(self.toggle)
        else:
            window.addAction(self.toggle)
        self.board.alert_shown.connect(self._tray_alert)
        window.installEventFilter(self)
        if help_overlay is not None:
            help_overlay.installEventFilter(self)  # the board's keys join the F1 overlay when it opens
        self.retranslate()

    def retranslate(self) -> None:
        self.dock.setWindowTitle(self.tr("Team floor"))
        self.toggle.setText(self.tr("Team floor"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif watched is self.help_overlay and event.type() == QEvent.Type.Show:
            self._add_help()
        return False

    def _add_help(self) -> None:
        """Append the board's shortcuts to the workspace's F1 overlay (it rebuilds its grid on a
        language change, so this runs each time it opens)."""
        grid = getattr(self.help_overlay, "grid", None)
        if grid is None or self.help_overlay.findChild(QLabel, "boardHelpTitle") is not None:
            return
        row = grid.rowCount()
        title = QLabel(self.tr("Team floor"), objectName="boardHelpTitle")
        title.setStyleSheet("color: #ffd166; font-size: 12pt; font-weight: bold; margin-top: 8px;")
        grid.addWidget(title, row, 0, 1, 2)
        for i, (keys, text) in enumerate([(TOGGLE_KEYS, self.tr("Show / hide the team floor")),
                                          *board_shortcuts()], start=row + 1):
            key = QLabel(keys)
            key.setStyleSheet("color: #ffd166; font-family: monospace; font-size: 12pt;")
            label = QLabel(text)
            label.setStyleSheet("color: white; font-size: 12pt;")
            grid.addWidget(key, i, 0)
            grid.addWidget(label, i, 1)

    def _tray_alert(self, alert: Alert) -> None:
        if self.tray is not None and self.tray.isVisible():
            self.tray.showMessage(self.tr("Team floor"), self.board.alert_message(alert),
                                  QSystemTrayIcon.MessageIcon.Warning, 8000)

    def remove(self) -> None:
        menu = getattr(self.window, "view_menu", None)
        if menu is not None:
            menu.removeAction(self.toggle)
        self.window.removeDockWidget(self.dock)
        self.dock.deleteLater()
        self.deleteLater()


def _when(message: TeamMessage) -> str:
    if message.sent_at is None:
        return ""
    local = message.sent_at.replace(tzinfo=dt.timezone.utc).astimezone()
    return f"{local:%H:%M}"


class AgentMessagesUi(QObject):
    def __init__(self, window: Any, orders: AgentOrders, tray: QSystemTrayIcon | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.orders = orders
        self.tray = tray
        self.button = QToolButton(objectName="teamMessagesButton")
        self.button.setAutoRaise(True)
        self.button.clicked.connect(self.show_list)
        window.status.addPermanentWidget(self.button)
        # The notice: non-modal, stays until closed, shows the latest message or order.
        self.notice = QDialog(window)
        self.notice.setObjectName("teamMessageNotice")
        self.notice.setModal(False)
        lay = QVBoxLayout(self.notice)
        self.notice_text = QLabel(objectName="teamMessageText")
        self.notice_text.setWordWrap(True)
        self.notice_text.setMinimumWidth(320)
        self.notice_text.setStyleSheet("font-size: 13pt;")
        lay.addWidget(self.notice_text)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.notice.hide)
        lay.addWidget(close)
        self.list_dialog = QDialog(window)
        self.list_dialog.setObjectName("teamMessageList")
        self.list_widget = QListWidget(objectName="teamMessageItems")
        QVBoxLayout(self.list_dialog).addWidget(self.list_widget)
        self.list_dialog.resize(460, 320)
        orders.message_received.connect(self._on_message)
        orders.message_listed.connect(self._on_listed)
        orders.order_applied.connect(self._on_order)
        window.installEventFilter(self)
        self.retranslate()

    def retranslate(self) -> None:
        self.notice.setWindowTitle(self.tr("From your team leader"))
        self.list_dialog.setWindowTitle(self.tr("Team leader's messages"))
        self._refresh_button()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def _refresh_button(self) -> None:
        n, unread = len(self.orders.messages), self.orders.unread
        self.button.setVisible(n > 0)
        self.button.setText(self.tr("Messages %1 new").replace("%1", str(unread)) if unread
                            else self.tr("Messages"))
        self.button.setStyleSheet("QToolButton { color: #c0392b; font-weight: bold; }" if unread else "")

    @staticmethod
    def line(message: TeamMessage) -> str:
        return f"{_when(message)}  {message.sender_name}: {message.text}"

    def _on_message(self, message: TeamMessage) -> None:
        self.list_widget.insertItem(0, self.line(message))
        self._pop(self.line(message))
        if self.tray is not None and self.tray.isVisible():
            self.tray.showMessage(self.tr("From your team leader"), f"{message.sender_name}: {message.text}",
                                  QSystemTrayIcon.MessageIcon.Information, 10000)
        self._refresh_button()

    def _on_listed(self, message: TeamMessage) -> None:
        self.list_widget.clear()
        for m in reversed(self.orders.messages):
            self.list_widget.addItem(self.line(m))
        self._refresh_button()

    def _on_order(self, message: Message) -> None:
        text = messages.text(message)
        self.window.status.showMessage(text, 15000)
        self._pop(text)

    def _pop(self, text: str) -> None:
        self.notice_text.setText(text)
        self.notice.show()  # non-modal: the agent's work goes on behind it

    def show_list(self) -> None:
        self.orders.mark_read()
        self._refresh_button()
        self.list_dialog.show()
        self.list_dialog.raise_()


__all__ = ["AgentMessagesUi", "FloorUi"]
