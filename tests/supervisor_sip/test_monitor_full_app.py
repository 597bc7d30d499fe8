"""The issue's "done when", without the person: the real Seatmate app logged in as the demo TL
(zhangwei, SIP 1001), the board shows lina (SIP 1002) in a call with a customer; 监听 on her
row, Ctrl+Alt+2 on the banner (耳语), the board's 强插, 结束 on the banner — lina's
softphone (a child process, her verifier from her pulled key) follows each step on one
call, and the audit lists the session.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from sync.client import ApiClient, MemoryVault
from sync.supervisor import SupervisorClient
from tests.faults.harness import secret_service
from tests.server_mode import demo_server
from tests.sip.agent import USERS
from tests.supervisor_sip.full_app import PASSWORD, board_ready, lina_on_a_call, start_tl_app, stop_app

pytestmark = [pytest.mark.sip, pytest.mark.qt_log_ignore("QFont::setPointSizeF"), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("full-app-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def keyring_up(tmp_path_factory):
    with secret_service(tmp_path_factory.mktemp("full-app-keyring")):
        yield


def test_tl_monitors_from_the_board(qtbot, qapp, tmp_path, server, keyring_up, kamailio, agent_child,
                                    peers) -> None:
    from sync.credentials import store_secret

    store_secret("sip:1001", USERS["1001"])
    ident, lina, handle, cust = lina_on_a_call(tmp_path, server.url, kamailio.domain, agent_child, peers)

    data = tmp_path / "tl"
    app = start_tl_app(qtbot, data, server.url, kamailio.domain)
    try:
        board = board_ready(qtbot, app, ident.user_id)
        runtime = app.supervisor_mode.runtime
        monitoring = app.monitoring
        svc, banner = monitoring.service, monitoring.banner
        assert banner is not None and not banner.isVisible()

        # 监听 on lina's row.
        m = agent_child.events.mark()
        board.trigger("listen")
        agent_child.wait("monitor", start=m, active=True, mode="listen", timeout=15)
        qtbot.waitUntil(lambda: banner.isVisible() and banner.mode.text() == "监听中", timeout=10_000)
        assert "李娜" in banner.who.text() and "静音" in banner.mic.text()
        qtbot.waitUntil(lambda: svc.session is not None and svc.session.session_id is not None, timeout=10_000)
        leg = svc.session.call_id
        # Nothing rang on the TL's side, and the TL's own call loop did not take the leg for a call.
        assert runtime.controller.active is None

        # 耳语 from the banner's key (the TL's window is the active one), 强插 from the board's
        # button on the same row.
        app.window.activateWindow()
        qtbot.waitUntil(app.window.isActiveWindow, timeout=5000)
        m = agent_child.events.mark()
        qtbot.keyClick(banner, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        agent_child.wait("monitor", start=m, active=True, mode="whisper", timeout=15)
        qtbot.waitUntil(lambda: banner.mode.text() == "正在对坐席耳语" and "打开" in banner.mic.text(), timeout=10_000)
        m = agent_child.events.mark()
        board.trigger("barge")
        agent_child.wait("monitor", start=m, active=True, mode="barge", timeout=15)
        qtbot.waitUntil(lambda: banner.mode.text() == "已强插：三方通话", timeout=10_000)
        assert svc.session.call_id == leg  # one call all along
        session_id = svc.session.session_id
        time.sleep(1.1)

        # 结束 on the banner.
        m = agent_child.events.mark()
        banner.buttons["end"].click()
        agent_child.wait("monitor", start=m, active=False, reason="ended", timeout=15)
        qtbot.waitUntil(lambda: svc.session is None and banner.notice.text() == "监听已结束", timeout=10_000)
        assert not [e for e in agent_child.events.since(0) if e.get("event") == "call" and e.get("state") == "ended"]

        # The audit, as the TL lists it.
        tl = ApiClient(server.url, MemoryVault(), timeout=10)
        try:
            tl.login("zhangwei", PASSWORD)
            sup = SupervisorClient(tl)

            def steps() -> list:
                return [e for e in reversed(sup.audit(agent_id=ident.user_id).items)
                        if e.session_id == session_id and e.action != "monitor_grant"]

            qtbot.waitUntil(lambda: any(e.action == "monitor_end" for e in steps()), timeout=10_000)
            got = steps()
            assert [e.action for e in got] == ["monitor_start", "monitor_mode", "monitor_mode", "monitor_end"]
            assert got[-1].duration_s >= 1 and got[-1].detail.get("reason") == "tl_hangup"
        finally:
            tl.close()
    finally:
        stop_app(app, data)
        cust.send("hangup")
        lina.presence("ready")
        lina.close()
        handle.close()
