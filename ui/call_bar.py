"""The call bar. Its buttons are placeholders until the softphone service
exists: they are shown so the layout is final, and disabled with a tooltip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from core.kpi import format_duration
from ui import messages

# What the timer is counting, per app.workspace.call_status.CallPhase value (words in retranslate).
_PHASE_WORDS = {
    "dialing": "Dialing",
    "ringing": "Ringing",
    "incoming": "Incoming",
    "talking": "",
    "hold": "On hold",
    "remote_hold": "Held by the customer",
}


class CallBar(QWidget):
    dialClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("callBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # so the QSS background applies
        self.number = QLabel(objectName="callNumber")  # always a masked number
        self.timer = QLabel("00:00", objectName="callTimer")
        self.warning = QLabel(objectName="callWarning")  # e.g. no audio from the other side
        self.warning.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self._view: Any = None
        self.dial = QPushButton(objectName="dialButton")
        self.hangup = QPushButton(objectName="hangupButton")
        self.hold = QPushButton()
        self.mute = QPushButton()
        self.transfer = QPushButton()
        self.agent_state = QComboBox(objectName="agentState")
        for b in (self.dial, self.hangup, self.hold, self.mute, self.transfer):
            b.setEnabled(False)  # wired when the softphone lands
        layout = QHBoxLayout(self)
        layout.addWidget(self.number, 1)
        layout.addWidget(self.timer)
        layout.addWidget(self.warning, 1)
        for w in (self.dial, self.hangup, self.hold, self.mute, self.transfer):
            layout.addWidget(w)
        layout.addSpacing(12)
        layout.addWidget(self.agent_state)
        self._masked = ""
        self.retranslate()

    def show_number(self, masked: str) -> None:
        self._masked = masked
        self.number.setText(QCoreApplication.translate("CallBar", "Number: %1").replace("%1", masked) if masked else QCoreApplication.translate("CallBar", "No number selected"))

    def show_call(self, view: Any) -> None:
        """The call as app.workspace.call_status.CallView says (None or idle: no call): what
        the timer counts (ringing, talking, held by the customer …) and any warning."""
        self._view = view
        phase = str(getattr(getattr(view, "phase", None), "value", "idle"))
        if view is None or phase == "idle":
            self.timer.setText("00:00")
            self.timer.setProperty("phase", "idle")
            self.warning.clear()
            self.warning.hide()
            return
        words = _PHASE_WORDS.get(phase, "")
        prefix = QCoreApplication.translate("CallBar", words) + " " if words else ""
        self.timer.setText(prefix + format_duration(view.seconds()))
        self.timer.setProperty("phase", phase)
        warning = getattr(view, "warning", None)
        self.warning.setText(messages.text(warning) if warning is not None else "")
        self.warning.setVisible(warning is not None)

    def phase(self) -> str:
        """What the bar shows now: idle, dialing, ringing, talking, hold, remote_hold (tests)."""
        return str(self.timer.property("phase") or "idle")

    def retranslate(self) -> None:
        # Marked for lupdate: the timer's words (see _PHASE_WORDS).
        _ = (QCoreApplication.translate("CallBar", "Dialing"), QCoreApplication.translate("CallBar", "Ringing"),
             QCoreApplication.translate("CallBar", "Incoming"), QCoreApplication.translate("CallBar", "On hold"),
             QCoreApplication.translate("CallBar", "Held by the customer"))
        self.dial.setText(QCoreApplication.translate("CallBar", "Dial"))
        self.hangup.setText(QCoreApplication.translate("CallBar", "Hang up"))
        self.hold.setText(QCoreApplication.translate("CallBar", "Hold"))
        self.mute.setText(QCoreApplication.translate("CallBar", "Mute"))
        self.transfer.setText(QCoreApplication.translate("CallBar", "Transfer"))
        tip = QCoreApplication.translate("CallBar", "The softphone is not connected yet")
        for b in (self.dial, self.hangup, self.hold, self.mute, self.transfer):
            b.setToolTip(tip)
        current = self.agent_state.currentIndex()
        self.agent_state.clear()
        self.agent_state.addItems([QCoreApplication.translate("CallBar", "Ready"), QCoreApplication.translate("CallBar", "Break"), QCoreApplication.translate("CallBar", "Meal"), QCoreApplication.translate("CallBar", "Meeting"), QCoreApplication.translate("CallBar", "Training")])
        self.agent_state.setCurrentIndex(max(current, 0))
        self.show_number(self._masked)
        if self._view is not None:
            self.show_call(self._view)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
