"""The call bar. Its buttons are placeholders until the softphone service
exists: they are shown so the layout is final, and disabled with a tooltip."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget


class CallBar(QWidget):
    dialClicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("callBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # so the QSS background applies
        self.number = QLabel(objectName="callNumber")  # always a masked number
        self.timer = QLabel("00:00", objectName="callTimer")
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
        for w in (self.dial, self.hangup, self.hold, self.mute, self.transfer):
            layout.addWidget(w)
        layout.addSpacing(12)
        layout.addWidget(self.agent_state)
        self._masked = ""
        self.retranslate()

    def show_number(self, masked: str) -> None:
        self._masked = masked
        self.number.setText(QCoreApplication.translate("CallBar", "Number: %1").replace("%1", masked) if masked else QCoreApplication.translate("CallBar", "No number selected"))

    def retranslate(self) -> None:
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

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
