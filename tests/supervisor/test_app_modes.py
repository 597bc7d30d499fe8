"""One app, two modes: the real Application offscreen, logged in through its dialog against
the real server. The TL gets the 班组监控 dock with the team on it; a TSR never does
(and the server refuses them the board: tests/supervisor/test_board.py)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest

from tests.faults.harness import secret_service
from tests.supervisor.conftest import PASSWORD

# Server mode without a SIP account: the softphone logs (ERROR) that it did not start.
pytestmark = pytest.mark.allow_log_warnings


@pytest.fixture(scope="module")
def keyring_up(tmp_path_factory):
    with secret_service(tmp_path_factory.mktemp("floor-keyring")):
        yield


def _start(qtbot, data: Path, server_url: str):
    from app.application import Application

    (data / "config").mkdir(parents=True, exist_ok=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"}}), encoding="utf-8")
    app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None,
                                         server=server_url))
    assert app.start() is None
    qtbot.addWidget(app.window)
    qtbot.waitUntil(lambda: getattr(app, "session", None) is not None, timeout=20_000)
    return app


def _login(qtbot, app, user: str) -> None:
    dialog = app.login_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    dialog.user.setText(user)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(app.session.login_result, timeout=20_000) as got:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert got.args[0].ok, got.args[0]


def _stop(app, data: Path) -> None:
    app._shutdown()
    for handler in list(logging.getLogger().handlers):
        if str(data) in str(getattr(handler, "baseFilename", "")):
            logging.getLogger().removeHandler(handler)
            handler.close()


def test_tl_sees_the_floor_tsr_does_not(qtbot, qapp, tmp_path, server, keyring_up) -> None:
    from PySide6.QtWidgets import QDockWidget

    data = tmp_path / "tl"
    app = _start(qtbot, data, server.url)
    try:
        _login(qtbot, app, "zhangwei")
        qtbot.waitUntil(lambda: getattr(getattr(app, "supervisor_mode", None), "floor_ui", None) is not None,
                        timeout=10_000)
        floor_ui = app.supervisor_mode.floor_ui
        dock = app.window.findChild(QDockWidget, "teamBoardDock")
        assert dock is floor_ui.dock and dock.isVisible()
        assert dock.windowTitle() == "班组监控"
        board = floor_ui.board
        qtbot.waitUntil(lambda: board.proxy.rowCount() == 8, timeout=10_000)
        assert board.stale.text() == "实时"
        assert board.buttons["listen"].text() == "监听" and "Alt+1" in board.actions["listen"].toolTip()
        names = {board.proxy.index(i, 0).data() for i in range(board.proxy.rowCount())}
        assert {"李娜", "王芳", "刘洋"} <= names and "张伟" not in names
        # Thresholds are stored in settings.json.
        from core.floor_alerts import Thresholds

        app.supervisor_mode.floor.set_thresholds(Thresholds(long_call_s=420))
        saved = json.loads((data / "config" / "settings.json").read_text(encoding="utf-8"))
        assert saved["supervisor"]["thresholds"]["long_call_s"] == 420
        assert app.supervisor_mode.orders is not None  # a TL is an agent too
        # F1 lists the board's keys after the workspace's.
        from PySide6.QtWidgets import QLabel

        app.workspace.help.toggle()
        title = app.workspace.help.findChild(QLabel, "boardHelpTitle")
        assert title is not None and title.text() == "班组监控"
        app.workspace.help.toggle()
        # The 班组 menu: the daily report window and lead distribution (campaigns from the TL's cache).
        desk = app.supervisor_mode.desk_ui
        assert desk.menu.title() == "班组(&T)" and desk.report_action.shortcut().toString() == "Ctrl+Shift+R"
        with qtbot.waitSignal(desk.service.report_loaded, timeout=20_000):
            desk.report_action.trigger()
        assert desk.report_window.isVisible() and desk.report_window.windowTitle() == "日报表"
        model = desk.report_window.view.agents_model
        assert model.rowCount() >= 9 and model.index(model.rowCount() - 1, 0).data() == "合计"
        with qtbot.waitSignal(desk.service.distribution_loaded, timeout=20_000):
            desk.distribute_action.trigger()
        assert desk.distribution.campaign.count() >= 1 and len(desk.distribution.model.agents) == 8
        with qtbot.waitSignal(desk.coaching.recordings_loaded, timeout=20_000):
            desk.coaching_action.trigger()  # 录音辅导: the team's recordings (none in the demo)
        assert desk.coaching_dialog.isVisible() and desk.coaching_dialog.recordings.rowCount() == 0
        desk.coaching_dialog.close()
    finally:
        _stop(app, data)

    data = tmp_path / "tsr"
    app = _start(qtbot, data, server.url)
    try:
        _login(qtbot, app, "wangfang")
        qtbot.waitUntil(lambda: getattr(getattr(app, "supervisor_mode", None), "orders", None) is not None,
                        timeout=10_000)
        qtbot.wait(500)
        assert app.supervisor_mode.floor is None and app.supervisor_mode.floor_ui is None
        assert app.window.findChild(QDockWidget, "teamBoardDock") is None
        assert "班组监控" not in [a.text() for a in app.window.view_menu.actions()]
        assert app.supervisor_mode.desk_ui is None
        mine = app.supervisor_mode.my_coaching_ui  # an agent sees their own evaluations (View menu)
        assert mine.action in app.window.view_menu.actions() and mine.action.text() == "我的辅导…"
        with qtbot.waitSignal(mine.service.my_evaluations_loaded, timeout=20_000):
            mine.action.trigger()
        assert mine.dialog.isVisible() and mine.dialog.model.rowCount() == 0
        mine.dialog.close()
        assert "班组(&T)" not in [a.text() for a in app.window.menuBar().actions()]
    finally:
        _stop(app, data)
