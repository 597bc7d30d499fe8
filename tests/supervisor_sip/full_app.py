"""The real Seatmate app logged in as the demo TL (zhangwei, SIP 1001), and lina (SIP 1002) on a
call with a customer: shared by test_monitor_full_app.py and make_monitoring_screenshot.py.

``waiter`` is pytest-qt's ``qtbot`` or, outside pytest, a :class:`Waiter`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from cache.db import open_cache
from cache.sync_store import SyncStore
from sync.client import ApiClient, MemoryVault
from sync.engine import SyncEngine
from tests.sip.agent import CUSTOMER_HZ, USERS

PASSWORD = "demo-2026"


class Waiter:
    """The few qtbot calls the helpers use, for a plain script."""

    def addWidget(self, widget) -> None:
        pass

    def waitUntil(self, check, timeout: int = 5000) -> None:
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout / 1000
        while True:
            QCoreApplication.processEvents()
            try:
                if check() not in (None, False):
                    return
            except AssertionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"waitUntil timed out: {check}")
            time.sleep(0.02)

    @contextmanager
    def waitSignal(self, signal, timeout: int = 5000):
        got = SimpleNamespace(args=None)
        slot = lambda *args: setattr(got, "args", list(args))  # noqa: E731
        signal.connect(slot)
        try:
            yield got
            self.waitUntil(lambda: got.args is not None, timeout=timeout)
        finally:
            signal.disconnect(slot)


def lina_on_a_call(tmp: Path, server_url: str, domain: str, agent_child, peers):
    """lina's desktop: her cache pulls the monitor key, her softphone (the child engine) calls
    a customer (a pjsua2 peer), her presence says on_call. Returns (ident, api, cache handle, customer)."""
    from app.workspace.monitoring import read_monitor_key

    handle = open_cache(tmp / "lina.sqlite3")
    store = SyncStore(handle)
    lina = ApiClient(server_url, MemoryVault(), device_id=store.device_id(), timeout=10, connect_timeout=5)
    ident = lina.login("lina", PASSWORD)
    store.save_identity(ident.to_json(), server_url)
    SyncEngine(lina, store).run_round()
    agent_child.start_agent("1002", domain, USERS["1002"], read_monitor_key(handle))
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    # Presence names the call as her softphone knows it: the server binds the grants to it.
    lina.presence("on_call", call_id=agent_child.dial_answered("2001"))
    return ident, lina, handle, cust


def start_tl_app(waiter, data: Path, server_url: str, domain: str):
    from app.application import Application

    (data / "config").mkdir(parents=True, exist_ok=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
        "sip": {"user": "1001", "domain": domain}}), encoding="utf-8")
    app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None,
                                         server=server_url))
    assert app.start() is None
    waiter.addWidget(app.window)
    waiter.waitUntil(lambda: getattr(app, "session", None) is not None, timeout=20_000)
    dialog = app.login_dialog
    waiter.waitUntil(dialog.isVisible, timeout=10_000)
    dialog.user.setText("zhangwei")
    dialog.password.setText(PASSWORD)
    with waiter.waitSignal(app.session.login_result, timeout=20_000) as got:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert got.args[0].ok, got.args[0]
    return app


def board_ready(waiter, app, agent_id: str):
    """Wait for the TL's board, registration, and the agent's row selected with 监听 enabled."""
    waiter.waitUntil(lambda: getattr(getattr(app, "supervisor_mode", None), "floor_ui", None) is not None,
                     timeout=20_000)
    runtime = app.supervisor_mode.runtime
    waiter.waitUntil(lambda: runtime.phone is not None and runtime.phone.last_reg is not None
                     and runtime.phone.last_reg.registered, timeout=20_000)
    board = app.supervisor_mode.floor_ui.board
    waiter.waitUntil(lambda: board.select_agent(agent_id) and board.actions["listen"].isEnabled(),
                     timeout=20_000)
    return board


def stop_app(app, data: Path) -> None:
    app._shutdown()
    for handler in list(logging.getLogger().handlers):
        if str(data) in str(getattr(handler, "baseFilename", "")):
            logging.getLogger().removeHandler(handler)
            handler.close()
