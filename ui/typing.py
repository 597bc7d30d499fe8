"""Simulated typing for tests, the benchmark and the screenshot tool.

QTest.keyClicks only knows ASCII; Chinese text reaches a QLineEdit the way an
input method delivers it: a QInputMethodEvent with a commit string.
"""

from __future__ import annotations

from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget


def type_char(widget: QWidget, ch: str) -> None:
    if ch.isascii():
        QTest.keyClicks(widget, ch)
    else:
        event = QInputMethodEvent("", [])
        event.setCommitString(ch)
        QApplication.sendEvent(widget, event)
