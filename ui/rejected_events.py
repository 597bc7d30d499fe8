"""Events the server refused, with its reasons: a status-bar indicator and a small list.

Rejected events never block the queue (the rest is sent); they stay here so the
agent can see what did not count and tell the team leader. The items are the
session service's frozen ``RejectedItem`` rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


def _local_time(value: dt.datetime) -> str:
    utc = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
    return f"{utc.astimezone():%m-%d %H:%M}"


class RejectedIndicator(QToolButton):
    """「N 条被拒」 in the status bar; hidden while there is none; a click opens the list."""

    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rejectedIndicator")
        self.setAutoRaise(True)
        self.setStyleSheet("QToolButton { color: #c0392b; font-weight: bold; }")
        self.clicked.connect(self.open_requested.emit)
        self._count = 0
        self.set_count(0)

    def set_count(self, count: int) -> None:
        self._count = count
        self.setText(self.tr("%1 rejected").replace("%1", str(count)))
        self.setToolTip(self.tr("Records the server refused; click to see why"))
        self.setVisible(count > 0)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.set_count(self._count)
        super().changeEvent(event)


class RejectedEventsDialog(QDialog):
    """A list: when, what, which customer, the server's reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rejectedEventsDialog")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("rejectedTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(720, 360)
        self._items: list[Any] = []
        self._retranslate()

    def set_items(self, items: list[Any]) -> None:
        self._items = list(items)
        self.table.setRowCount(len(self._items))
        for row, item in enumerate(self._items):
            cells = (_local_time(item.occurred_at), item.type_label, item.lead_name or "—", item.reason)
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if col == 3:
                    cell.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(row, col, cell)
        self._retranslate()

    def reasons(self) -> list[str]:
        """What the agent reads in the reason column (tests)."""
        return [self.table.item(r, 3).text() for r in range(self.table.rowCount())]

    def _retranslate(self) -> None:
        self.setWindowTitle(self.tr("Rejected records"))
        self.table.setHorizontalHeaderLabels([self.tr("Time"), self.tr("Record"), self.tr("Customer"),
                                              self.tr("Reason")])
        if self._items:
            self.summary.setText(self.tr("The server did not accept these %1 records. The rest of your work "
                                         "was sent; tell your team leader if a record is needed.")
                                 .replace("%1", str(len(self._items))))
        else:
            self.summary.setText(self.tr("Every record was accepted by the server."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)
