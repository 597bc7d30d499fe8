"""A translucent overlay over the main window listing every shortcut (F1 / Esc to close)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from app.workspace.shortcuts import WRAPUP_KEYS, ShortcutDef


class HelpOverlay(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("helpOverlay")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel()
        self.title.setStyleSheet("color: white; font-size: 18pt; font-weight: bold;")
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(24)
        self.footer = QLabel()
        self.footer.setStyleSheet("color: #ddd;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 40, 60, 40)
        layout.addWidget(self.title)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        layout.addWidget(self.footer)
        parent.installEventFilter(self)
        self._table: Mapping[str, ShortcutDef] = {}
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Keyboard shortcuts"))
        self.footer.setText(self.tr("Press F1 or Esc to close"))
        if self._table:
            self.set_shortcuts(self._table)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def set_shortcuts(self, table: Mapping[str, ShortcutDef]) -> None:
        self._table = dict(table)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        rows = list(table.values())
        for i, definition in enumerate(rows):
            key = QLabel(definition.keys)
            key.setStyleSheet("color: #ffd166; font-family: monospace; font-size: 12pt;")
            text = QLabel(QCoreApplication.translate("Shortcuts", definition.description))
            text.setStyleSheet("color: white; font-size: 12pt;")
            self.grid.addWidget(key, i, 0)
            self.grid.addWidget(text, i, 1)
        extra = QLabel(QCoreApplication.translate("Shortcuts", WRAPUP_KEYS))
        extra.setStyleSheet("color: white; font-size: 12pt;")
        self.grid.addWidget(extra, len(rows), 0, 1, 2)

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.setGeometry(self.parentWidget().rect())
            self.show()
            self.raise_()
            self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F1):
            self.hide()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 24, 32, 215))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False
