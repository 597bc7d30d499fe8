"""A server answer the app cannot read, in the real window: the real server behind the fault
proxy, which breaks the pull's JSON once the agent is logged in. The status bar says so in
Chinese (not "cannot reach the server"), and the leads in the cache stay exactly as they were."""

from __future__ import annotations

import argparse
import json
import sqlite3

import pytest

from tests.faults.harness import secret_service
from tests.faults.proxy import Fault, FaultProxy, Plan
from tests.server_mode import PASSWORD, demo_server


class CorruptPulls(Plan):
    def __init__(self) -> None:
        self.on = False
        self.broken = 0

    def choose(self, method: str, path: str) -> Fault | None:
        if "/stream" in path:
            # The proxy forwards whole responses, so an SSE stream (agent orders) would hang
            # without headers and the app's shutdown would wait 5 s for its thread; refused
            # streams just back off. Not this test's subject.
            return Fault("error_5xx")
        if self.on and method == "GET" and "/sync/pull" in path:
            self.broken += 1
            return Fault("corrupt")
        return None


@pytest.fixture
def server(tmp_path):
    with demo_server(tmp_path / "server") as srv:
        yield srv


def _leads(db) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute("SELECT * FROM leads").fetchall(), key=repr) + sorted(
            con.execute("SELECT * FROM lead_phones").fetchall(), key=repr)
    finally:
        con.close()


def test_an_unreadable_pull_is_named_and_changes_nothing(qtbot, qapp, tmp_path, server) -> None:
    from app.application import Application

    plan = CorruptPulls()
    proxy = FaultProxy(server.port, plan).start()
    data = tmp_path / "agent"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "server_url": proxy.url, "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
    }), encoding="utf-8")
    try:
        with secret_service(tmp_path / "keyring"):
            app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None))
            assert app.start() is None
            qtbot.addWidget(app.window)
            try:
                qtbot.waitUntil(lambda: getattr(app, "sync", None) is not None
                                and getattr(app, "login_dialog", None) is not None
                                and app.login_dialog.isVisible(), timeout=30_000)
                assert not app.window.import_action.isVisible()  # leads come from the server here
                dialog = app.login_dialog
                dialog.user.setText("lina")
                dialog.password.setText(PASSWORD)
                with qtbot.waitSignal(app.sync.round_finished, timeout=30_000):
                    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
                db = app.paths.cache_db
                before = _leads(db)
                assert before, "the first pull brought no leads"
                plan.on = True
                with qtbot.waitSignal(app.sync.sync_failed, timeout=30_000) as failed:
                    app.sync.sync_now()
                assert failed.args[0].code == "sync.bad_answer" and plan.broken >= 1
                shown = app.window.status.sync.text()
                assert "无法识别服务器的回复" in shown and "本机数据未做任何更改" in shown, shown
                assert "无法连接服务器" not in shown
                assert _leads(db) == before
                # The server answers properly again: the next round succeeds and the problem goes.
                plan.on = False
                with qtbot.waitSignal(app.sync.round_finished, timeout=30_000):
                    app.sync.sync_now()
                qtbot.waitUntil(lambda: "无法识别" not in app.window.status.sync.text(), timeout=10_000)
            finally:
                app._shutdown()
    finally:
        proxy.stop()
