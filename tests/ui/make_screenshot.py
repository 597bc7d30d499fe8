"""Save docs/screenshots/main-window.png: the main window on demo data, zh_CN, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.ui.make_screenshot [OUT.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots" / "main-window.png"
    from PySide6.QtCore import QEventLoop, QTimer

    from app.application import Application

    with tempfile.TemporaryDirectory(prefix="seatmate-shot-") as tmp:
        app = Application(argparse.Namespace(data_dir=tmp, number=None, lang="zh_CN", command=None))
        assert app.start() is None
        window = app.window
        window.resize(1366, 820)
        loop = QEventLoop()
        if window.model.rowCount() == 0:
            window.leadsShown.connect(loop.quit)
            QTimer.singleShot(10_000, loop.quit)
            loop.exec()
        window.leadDetailShown.connect(loop.quit)
        QTimer.singleShot(10_000, loop.quit)
        window.table.selectRow(2)
        loop.exec()  # the customer card and script follow the selection asynchronously
        QTimer.singleShot(100, loop.quit)
        loop.exec()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        app._shutdown()
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
