"""The TL's thresholds (long call, long pause, long wrap-up, idle ready), in minutes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox

from core.floor_alerts import IDLE_READY, LONG_CALL, LONG_PAUSE, LONG_WRAPUP, Thresholds
from ui.supervisor.board_model import alert_text

_FIELDS = ((LONG_CALL, "long_call_s"), (LONG_PAUSE, "long_pause_s"), (LONG_WRAPUP, "long_wrapup_s"),
           (IDLE_READY, "idle_ready_s"))


class ThresholdsDialog(QDialog):
    chosen = Signal(object)  # Thresholds

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("thresholdsDialog")
        self.setWindowTitle(self.tr("Alert thresholds"))
        form = QFormLayout(self)
        form.addRow(QLabel(self.tr("Minutes in a state before the row turns red and an alert is raised "
                                   "(0 = off).")))
        self.spins: dict[str, QSpinBox] = {}
        for kind, attr in _FIELDS:
            spin = QSpinBox(objectName=f"threshold_{kind}")
            spin.setRange(0, 240)
            spin.setSuffix(self.tr(" min"))
            self.spins[attr] = spin
            form.addRow(alert_text(kind), spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

    def edit(self, thresholds: Thresholds) -> None:
        for attr, spin in self.spins.items():
            spin.setValue(round(getattr(thresholds, attr) / 60))
        self.open()

    def accept(self) -> None:
        self.chosen.emit(Thresholds(**{attr: spin.value() * 60 for attr, spin in self.spins.items()}))
        super().accept()
