"""Server mode: the real server over HTTP on loopback, the sync client, a real keyring.

A call made in the workspace is pushed right after the wrap-up is saved; the status bar
shows the sync state; the leads come from the server.
"""

from __future__ import annotations

import argparse
import json

import httpx
import pytest
from sqlalchemy import func, select

from app.demo.line import DemoCustomerProcess
from cache import models as m
from tests.faults.harness import secret_service
from tests.server_mode import PASSWORD, demo_server


@pytest.fixture
def server(tmp_path):
    with demo_server(tmp_path / "server") as srv:
        yield srv


def test_server_mode_pulls_leads_and_pushes_the_wrapup(qtbot, qapp, tmp_path, server) -> None:
    from app.application import Application

    customer = DemoCustomerProcess(behaviour="answer", answer_delay=0.3)
    line = customer.start()  # stands in for the PBX
    data = tmp_path / "agent"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "server_url": server.url,
        "sip": {"user": "agent", "domain": line.domain, "registrar": line.registrar},
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
    }), encoding="utf-8")
    with secret_service(tmp_path / "keyring"):
        app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None))
        assert app.start() is None
        qtbot.addWidget(app.window)
        try:
            qtbot.waitUntil(lambda: getattr(app, "workspace", None) is not None and getattr(app, "sync", None) is not None,
                            timeout=20_000)
            ws, ctl = app.workspace, app.workspace.runtime.controller
            # No saved session: the login dialog is up; a wrong password is explained, then the right one.
            qtbot.waitUntil(lambda: getattr(app, "login_dialog", None) is not None
                            and app.login_dialog.isVisible(), timeout=10_000)
            dialog = app.login_dialog
            dialog.user.setText("lina")
            dialog.password.setText("wrong")
            with qtbot.waitSignal(app.sync.login_finished, timeout=20_000):
                dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
            assert dialog.isVisible() and dialog.error.text()
            dialog.password.setText(PASSWORD)
            with qtbot.waitSignal(app.sync.login_finished, timeout=20_000) as login:
                dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
            assert login.args[0], login.args
            qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
            qtbot.waitUntil(lambda: app.window.model.rowCount() > 0, timeout=20_000)
            qtbot.waitUntil(lambda: ctl.phone is not None, timeout=20_000)
            assert "在线" in app.window.status.sync.text() or "online" in app.window.status.sync.text().lower()
            assert ctl.dial_next(), ctl.last_gate
            qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.answered_at is not None, timeout=15_000)
            # The TL's board names her call by the softphone's own call id and her lead: the server
            # binds a monitor grant to that call, and her engine refuses a grant for any other.
            engine_id, lead_id = ctl.active.engine_id, ctl.active.lead_id
            assert engine_id and lead_id
            with httpx.Client(base_url=server.url, timeout=10) as c:
                r = c.post("/api/v1/auth/login", json={"username": "zhangwei", "password": PASSWORD,
                                                       "device_id": "test"})
                tl = {"Authorization": "Bearer " + r.json()["access_token"]}

                def lina_on_board() -> dict:
                    rows = c.get("/api/v1/presence", headers=tl).json()
                    return next((x for x in rows if x["username"] == "lina"), {})

                qtbot.waitUntil(lambda: lina_on_board().get("call_id") == engine_id, timeout=10_000)
                row = lina_on_board()
                assert (row["state"], row["lead_id"]) == ("on_call", lead_id), row
            ctl.hangup()
            qtbot.waitUntil(lambda: ws.wrapup.isVisible(), timeout=10_000)
            code = next(r.code for r in ws.runtime.wrapup.rules if r.is_conversion)
            ws.wrapup.choose(code)
            assert ws.wrapup.save() is not None

            def pending() -> int:
                with app.cache.session() as s:
                    return s.scalar(select(func.count()).select_from(m.OutboxEvent)
                                    .where(m.OutboxEvent.status != "accepted")) or 0

            qtbot.waitUntil(lambda: pending() == 0, timeout=20_000)  # pushed at once, all accepted
            with app.cache.session() as s:
                types = set(s.scalars(select(m.OutboxEvent.type)))
            assert {"call_attempted", "call_ended", "disposition_recorded", "agent_state_changed"} <= types
        finally:
            app._shutdown()
            customer.stop()
