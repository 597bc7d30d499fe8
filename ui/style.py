"""Application look: a CJK-capable font, a palette, and the stylesheet from
resources/styles applied to the panels only.

The lead table is deliberately left out of the stylesheet: with a style sheet
on it (or on the application) Qt paints every cell through QStyleSheetStyle,
which doubled the table's repaint time in the keystroke benchmark. Its colours
come from the palette instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.resource_files import resource

log = logging.getLogger(__name__)

_REGULAR_NAMES = ("Regular", "Normal", "Book")
_CJK_FAMILIES = ("Noto Sans CJK SC", "Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC", "Source Han Sans SC")


def apply_style(app: QApplication) -> None:
    families = set(QFontDatabase.families())
    for family in _CJK_FAMILIES:
        if family in families:
            font = QFont(family)
            font.setPointSizeF(10)
            regular = _regular_style(family)
            if regular:
                # Every bold text (QSS font-weight, QFont.setBold) then matches the regular
                # face and FreeType emboldens it, instead of mapping the family's separate
                # bold file: NotoSansCJK-Bold.ttc cost ~4.5 MB RSS for five short texts.
                font.setStyleName(regular)
            app.setFont(font)
            break
    pal = app.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#f5f6f8"))
    pal.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#f3f6fb"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#cfe0fc"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#111111"))
    app.setPalette(pal)


def _regular_style(family: str) -> str:
    """The family's upright normal-weight style name ("Regular"), or "" when it has none."""
    for style in QFontDatabase.styles(family):
        if style in _REGULAR_NAMES and QFontDatabase.weight(family, style) == QFont.Weight.Normal.value:
            return style
    return ""


def stylesheet(name: str = "seatmate") -> str:
    qss = resource("styles", f"{name}.qss")
    try:
        return qss.read_text(encoding="utf-8")
    except OSError:
        log.warning("stylesheet %s not found; using the platform look", qss)
        return ""


def style_panels(widgets: Iterable[QWidget], name: str = "seatmate") -> None:
    sheet = stylesheet(name)
    for widget in widgets:
        widget.setStyleSheet(sheet)
