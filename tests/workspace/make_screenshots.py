"""Screenshots (zh_CN) of the workspace's main states into docs/screenshots/:

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.workspace.make_screenshots

workspace-idle.png (ready, leads, next lead), workspace-in-call.png,
workspace-wrapup.png (callback picker and note), workspace-kpi.png (the KPI bar
after a few calls). Real demo data, the real softphone and the demo customer.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QEventLoop, QTimer

    from app.application import Application

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def until(cond, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the workspace")
            wait(50)

    with tempfile.TemporaryDirectory(prefix="seatmate-ws-shot-") as tmp:
        settings_dir = Path(tmp) / "config"
        settings_dir.mkdir(parents=True)
        (settings_dir / "settings.json").write_text(
            '{"workspace": {"demo_behaviour": "answer", "demo_answer_delay_s": 0.5, "agent_name": "王芳", "audio_backend": "tone",'
            ' "power_countdown_s": 5}}', encoding="utf-8")
        app = Application(argparse.Namespace(data_dir=tmp, number=None, lang="zh_CN", command=None))
        assert app.start() is None
        from app.workspace.attach import attach_workspace

        attach_workspace(app)
        window = app.window
        until(lambda: getattr(app, "workspace", None) is not None)
        ws = app.workspace
        window.resize(1440, 900)
        until(lambda: window.model.rowCount() > 0 and ws.runtime.controller.phone is not None)
        ctl = ws.runtime.controller

        def call(code: str, talk_ms: int, note: str = "") -> None:
            assert ctl.dial_next(), ctl.last_gate
            until(lambda: ctl.active is not None and ctl.active.answered_at is not None)
            wait(talk_ms)
            ctl.hangup()
            until(lambda: ws.wrapup.isVisible())
            ws.wrapup.choose(code)
            if note:
                ws.wrapup.note_edit.setPlainText(note)
            ws.wrapup.save()
            until(lambda: not ws.wrapup.isVisible())

        call("SALE", 1500)
        call("REFUSED", 600)
        wait(800)
        window.grab().save(str(out / "workspace-idle.png"))
        assert ctl.dial_next()
        until(lambda: ctl.active is not None and ctl.active.answered_at is not None)
        wait(2200)
        window.grab().save(str(out / "workspace-in-call.png"))
        ctl.hangup()
        until(lambda: ws.wrapup.isVisible())
        ws.wrapup.choose("CALLBACK")
        ws.wrapup.note_edit.setPlainText("客户在开会，约明天上午再联系，重点讲驾乘意外险")
        wait(1200)
        window.grab().save(str(out / "workspace-wrapup.png"))
        ws.wrapup.save()
        until(lambda: not ws.wrapup.isVisible())
        wait(500)
        ws.strip.grab().save(str(out / "workspace-kpi.png"))
        app._shutdown()
    for name in ("idle", "in-call", "wrapup", "kpi"):
        print(f"saved {out / f'workspace-{name}.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
