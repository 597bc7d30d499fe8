"""The agent's status-bar indicator that a team leader is on the call (监听 / 耳语 / 强插).

Follows :class:`app.workspace.monitoring.AgentMonitorNotice`: visible only when the
campaign's ``monitor_indicator`` policy says so (default ``auto``: shown in whisper and
barge, where the agent hears the TL; hidden in listen).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QLabel, QWidget


def indicator_text(mode: str) -> str:
    return {
        "listen": QCoreApplication.translate("MonitorIndicator", "Team leader listening"),
        "whisper": QCoreApplication.translate("MonitorIndicator",
                                              "Team leader whispering (the customer cannot hear)"),
        "barge": QCoreApplication.translate("MonitorIndicator", "Team leader in the call"),
    }.get(mode, QCoreApplication.translate("MonitorIndicator", "Team leader listening"))


class MonitorIndicator(QLabel):
    def __init__(self, notice: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monitorIndicator")
        self.setStyleSheet("#monitorIndicator { color: #ffffff; background: #8e44ad; padding: 0 6px;"
                           " border-radius: 3px; font-weight: bold; }")
        self.notice = notice
        self._state: Any = None
        notice.changed.connect(self.show_state)
        self.show_state(notice.state)

    def show_state(self, state: Any) -> None:
        self._state = state
        if state is None or not state.active or not state.visible:
            self.hide()
            return
        self.setText(indicator_text(state.mode))
        self.show()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.show_state(self._state)
        super().changeEvent(event)
