"""The strip above the lead list: agent state, dial mode, next lead, power countdown, KPIs, messages."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.workspace.agent_state import AgentStateMachine
from core.messages import Message
from ui import messages
from ui.workspace.agent_state_widget import AgentStateWidget
from ui.workspace.kpi_bar import KpiBar


class WorkspaceStrip(QWidget):
    dial_next_clicked = Signal()
    power_toggled = Signal(bool)
    cancel_countdown_clicked = Signal()

    def __init__(self, agent: AgentStateMachine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspaceStrip")
        self.state = AgentStateWidget(agent)
        self.next_button = QPushButton()
        self.next_button.setObjectName("dialNext")
        self.next_button.clicked.connect(self.dial_next_clicked)
        self.power_button = QPushButton()
        self.power_button.setObjectName("powerMode")
        self.power_button.setCheckable(True)
        self.power_button.toggled.connect(self.power_toggled)
        self.next_label = QLabel()
        self.next_label.setObjectName("nextLead")
        self.countdown = QLabel()
        self.countdown.setObjectName("powerCountdown")
        self.countdown.setStyleSheet("color: #2e86de; font-weight: bold;")
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("cancelCountdown")
        self.cancel_button.clicked.connect(self.cancel_countdown_clicked)
        self.cancel_button.hide()
        self.notice = QLabel()
        self.notice.setObjectName("workspaceNotice")
        self.notice.setWordWrap(True)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self._clear_notice)
        self._notice_message: Message | str | None = None
        self.kpi = KpiBar()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.state)
        top.addWidget(self.next_button)
        top.addWidget(self.power_button)
        top.addWidget(self.next_label, 1)
        top.addWidget(self.countdown)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.kpi)
        layout.addWidget(self.notice)
        self._seconds = 0
        self.retranslate()

    def retranslate(self) -> None:
        self.next_button.setText(self.tr("Dial next (F5)"))
        self.power_button.setText(self.tr("Power dialing"))
        self.cancel_button.setText(self.tr("Cancel (Esc)"))
        if self._seconds > 0:
            self.show_countdown(self._seconds)
        if self._notice_message is not None:
            self.notice.setText(messages.text(self._notice_message))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_countdown(self, seconds: int) -> None:
        self._seconds = seconds
        if seconds > 0:
            self.countdown.setText(self.tr("Next call in %1 s").replace("%1", str(seconds)))
            self.cancel_button.show()
        else:
            self.hide_countdown()

    def hide_countdown(self) -> None:
        self._seconds = 0
        self.countdown.clear()
        self.cancel_button.hide()

    def show_next(self, text: str) -> None:
        self.next_label.setText(text)

    def show_notice(self, message: Message | str, error: bool = False, ms: int = 8000) -> None:
        """A message (worded now, and again on a language change while it is shown) or text."""
        colour = "#c0392b" if error else "#1e8449"
        self.notice.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self._notice_message = message
        self.notice.setText(messages.text(message))
        self.notice.setAlignment(Qt.AlignmentFlag.AlignLeft)
        self._notice_timer.start(ms)

    def _clear_notice(self) -> None:
        self._notice_message = None
        self.notice.clear()
