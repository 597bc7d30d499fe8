"""A dialpad: DTMF during a call, or a manual number to dial (which still passes the gate)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

KEYS = "123456789*0#"


class Dialpad(QWidget):
    digit_pressed = Signal(str)  # one DTMF digit (sent at once when in a call)
    dial_requested = Signal(str)  # the typed number (manual dial)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dialpad")
        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("dialpadNumber")
        self.number_edit.returnPressed.connect(self._dial)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, key in enumerate(KEYS):
            button = QPushButton(key)
            button.setMinimumSize(48, 40)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(button, i // 3, i % 3)
            self.buttons[key] = button
        self.dial_button = QPushButton()
        self.dial_button.setObjectName("dialpadDial")
        self.dial_button.clicked.connect(self._dial)
        self.clear_button = QPushButton()
        self.clear_button.clicked.connect(self.number_edit.clear)
        row = QHBoxLayout()
        row.addWidget(self.clear_button)
        row.addWidget(self.dial_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.number_edit)
        layout.addLayout(grid)
        layout.addLayout(row)
        self.in_call = False
        self.retranslate()

    def retranslate(self) -> None:
        self.number_edit.setPlaceholderText(self.tr("Number or DTMF digits"))
        self.dial_button.setText(self.tr("Dial"))
        self.clear_button.setText(self.tr("Clear"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def set_in_call(self, in_call: bool) -> None:
        self.in_call = in_call
        self.dial_button.setEnabled(not in_call)

    def press(self, key: str) -> None:
        self.number_edit.insert(key)
        if self.in_call:
            self.digit_pressed.emit(key)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.text() and event.text() in KEYS and not self.number_edit.hasFocus():
            self.press(event.text())
            return
        super().keyPressEvent(event)

    def _dial(self) -> None:
        if self.in_call:
            return
        number = self.number_edit.text().strip()
        if number:
            self.dial_requested.emit(number)
