"""Painting for the team board: a progress bar in the calls / talk-time cells, and the
compact agent card of the card view (one delegate paints every card: no widget per agent)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ui.supervisor.board_model import (
    ALERT_BACKGROUND,
    ALERT_ROLE,
    COL_CALL,
    COL_CALLS,
    COL_NAME,
    COL_PACE,
    COL_STATE,
    COL_TALK,
    COL_TIME,
    PROGRESS_ROLE,
    ROW_ROLE,
    STATE_COLOURS,
    BoardTableModel,
)

TRACK = QColor("#e6e6e6")
FILL = QColor("#4a90d9")
DONE = QColor("#2e7d32")


def _paint_bar(painter: QPainter, rect: QRect, done: float, target: float) -> None:
    painter.fillRect(rect, TRACK)
    if target > 0 and done > 0:
        frac = min(1.0, done / target)
        filled = QRect(rect.x(), rect.y(), max(1, int(rect.width() * frac)), rect.height())
        painter.fillRect(filled, DONE if done >= target else FILL)


class ProgressDelegate(QStyledItemDelegate):
    """The cell's text over a thin progress bar (done / target)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        progress = index.data(PROGRESS_ROLE)
        if not progress:
            super().paint(painter, option, index)
            return
        # Painted directly (no initStyleOption / style pass): this column is on every row.
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        else:
            background = index.data(Qt.ItemDataRole.BackgroundRole)
            if background is not None:
                painter.fillRect(option.rect, background)
        r = option.rect.adjusted(4, 2, -4, -2)
        painter.save()
        _paint_bar(painter, QRect(r.x(), r.bottom() - 3, r.width(), 4), *progress)
        painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        painter.drawText(QRect(r.x(), r.y(), r.width(), r.height() - 5),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.restore()


CARD_SIZE = QSize(212, 98)


class AgentCardDelegate(QStyledItemDelegate):
    """A compact card: name and state (in its colour), time in state, the call, 通次 / 通时
    with bars, and the pace hint."""

    def __init__(self, model: BoardTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return CARD_SIZE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if row is None:
            return
        m = self._model
        state = row.presence.state
        colour = STATE_COLOURS.get(state, QColor("#333333"))
        r = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        background = ALERT_BACKGROUND if index.data(ALERT_ROLE) else option.palette.base().color()
        painter.fillRect(r, background)
        painter.fillRect(QRect(r.x(), r.y(), 4, r.height()), colour)
        pen = QPen(option.palette.highlight().color() if selected else QColor("#d0d0d0"))
        pen.setWidth(2 if selected else 1)
        painter.setPen(pen)
        painter.drawRect(r)
        x, w = r.x() + 10, r.width() - 16
        line = 17
        top = r.y() + 4
        bold = QFont(option.font)
        bold.setBold(True)
        text_colour = option.palette.text().color()
        # line 1: name · state
        painter.setFont(bold)
        painter.setPen(text_colour)
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRect(x, top, w, line), int(left), m.cell_text(row, COL_NAME))
        painter.setPen(colour)
        painter.drawText(QRect(x, top, w, line), int(right), m.cell_text(row, COL_STATE))
        painter.setFont(option.font)
        painter.setPen(text_colour)
        # line 2: time in state · call
        top += line
        painter.drawText(QRect(x, top, w, line), int(left), m.cell_text(row, COL_TIME))
        painter.drawText(QRect(x, top, w, line), int(right), m.cell_text(row, COL_CALL))
        # line 3 and 4: calls and talk time with bars
        for col in (COL_CALLS, COL_TALK):
            top += line
            done, target = index.siblingAtColumn(col).data(PROGRESS_ROLE) or (0, 0)
            painter.drawText(QRect(x, top, 74, line), int(left), m.cell_text(row, col))
            _paint_bar(painter, QRect(x + 78, top + line // 2 - 2, w - 78, 5), done, target)
        # line 5: pace
        top += line
        painter.setPen(QColor("#666666"))
        painter.drawText(QRect(x, top, w, line), int(left), m.cell_text(row, COL_PACE))
        painter.restore()
