"""What the TL screenshot scripts share: where they save, the zh_CN offscreen Qt application,
and a spin of its event loop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_app: Any = None  # held here so the application lives as long as the script


def out_dir(argv: list[str]) -> Path:
    """The folder named on the command line, else docs/screenshots."""
    return Path(argv[0]) if argv else ROOT / "docs" / "screenshots"


def zh_cn_app() -> Any:
    """The QApplication (offscreen unless QT_QPA_PLATFORM says otherwise), speaking zh_CN."""
    global _app
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.i18n import Translations

    _app = QApplication.instance() or QApplication([])
    Translations.of(_app).apply("zh_CN")
    return _app


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
