"""The application icon (resources/icons): a headset on the app's blue with a green "ready" light.

Set once on the QApplication, it is every window's icon and the tray's (the tray takes the
main window's). Loaded from PNG sizes rendered from seatmate.svg by scripts/make-icons.py,
so no SVG image plugin is needed (a frozen build ships resources/icons as files)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from app.resource_files import resource

SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    icon = QIcon()
    for size in SIZES:
        path = resource("icons", f"seatmate-{size}.png")
        if path.exists():
            icon.addFile(str(path), QSize(size, size))
    return icon
