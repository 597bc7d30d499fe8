"""The agent-state control: current state with its duration, a menu for ready / pause(reason) / offline."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from app.workspace.agent_state import STATE_NAMES, AgentStateMachine
from core.agent_state import AgentState, AgentStatus, TransitionError
from core.kpi import format_duration

_COLOURS = {
    AgentState.READY: "#27ae60",
    AgentState.ON_CALL: "#2e86de",
    AgentState.WRAP_UP: "#e67e22",
    AgentState.PAUSED: "#8e44ad",
    AgentState.OFFLINE: "#7f8c8d",
}


def state_text(status: AgentStatus) -> str:
    """"就绪" / "小休（用餐）" in the UI language (pause reasons come from the campaign as they are)."""
    text = QCoreApplication.translate("AgentState", STATE_NAMES[status.state])
    if status.state is AgentState.PAUSED and status.reason:
        text = QCoreApplication.translate("AgentState", "%1 (%2)", "a state and its reason").replace(
            "%1", text).replace("%2", status.reason)
    return text


class AgentStateWidget(QWidget):
    def __init__(self, machine: AgentStateMachine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentState")
        self._machine = machine
        self.button = QToolButton()
        self.button.setObjectName("agentStateButton")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.duration = QLabel()
        self.menu = QMenu(self)
        self.ready_action = QAction(self)
        self.ready_action.triggered.connect(self._ready)
        self.menu.addAction(self.ready_action)
        pause_menu = self.menu.addMenu("")
        self.pause_menu = pause_menu
        self.pause_actions: dict[str, QAction] = {}
        for reason in machine.pause_reasons:
            action = QAction(reason, self)
            action.triggered.connect(lambda _=False, r=reason: self._pause(r))
            pause_menu.addAction(action)
            self.pause_actions[reason] = action
        self.offline_action = QAction(self)
        self.offline_action.triggered.connect(self._offline)
        self.menu.addAction(self.offline_action)
        self.button.setMenu(self.menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.duration)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        machine.changed.connect(self.show_status)
        self.retranslate()

    def retranslate(self) -> None:
        self.ready_action.setText(self.tr("Ready"))
        self.pause_menu.setTitle(self.tr("Pause"))
        self.offline_action.setText(self.tr("Offline"))
        self.show_status(self._machine.status)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_status(self, status: AgentStatus) -> None:
        text = state_text(status)
        if status.pending_pause:
            text += self.tr(" → pause after this call")
        self.button.setText(text)
        self.button.setStyleSheet(f"QToolButton {{ color: white; background: {_COLOURS[status.state]};"
                                  " border-radius: 4px; padding: 2px 8px; font-weight: bold; }")
        self._tick()

    def _tick(self) -> None:
        since = self._machine.status.since
        if since is None:
            self.duration.clear()
            return
        seconds = (dt.datetime.now(dt.timezone.utc) - since).total_seconds()
        self.duration.setText(format_duration(max(0.0, seconds)))

    def _ready(self) -> None:
        try:
            if self._machine.state is AgentState.PAUSED or self._machine.status.pending_pause:
                self._machine.resume()
            else:
                self._machine.go_ready()
        except TransitionError:
            pass

    def _pause(self, reason: str) -> None:
        try:
            self._machine.pause(reason)
        except TransitionError:
            pass

    def _offline(self) -> None:
        try:
            self._machine.go_offline()
        except TransitionError:
            pass
