"""The TL's team board against a real server: live rows, thresholds and alerts, filter /
search / sort, floor control reaching a real agent client, a TSR refused, a stale board."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QStatusBar

from app.supervisor.agent_orders import AgentOrders
from app.supervisor.floor_service import FloorService
from app.workspace.agent_state import AgentStateMachine
from core.agent_state import AgentState
from core.floor_alerts import LONG_CALL, Thresholds
from sync.client import RequestRejected
from sync.supervisor import SupervisorClient
from tests.faults.harness import ServerProcess
from ui.supervisor.board_model import ALERT_ROLE, COL_NAME, COL_STATE, STATE_ROLE
from ui.supervisor.board_view import TeamBoard
from ui.supervisor.wiring import AgentMessagesUi


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    """The board in its default language (the whole-app test leaves zh_CN installed anyway)."""
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


DEMO_AGENTS = {"lina", "wangfang", "liuyang", "chenjing", "zhaolei", "zhoumin", "sunhao", "wuting"}


def _board(qtbot, api, **kw):
    service = FloorService(lambda: api, **kw)
    board = TeamBoard(service)
    qtbot.addWidget(board)
    board.resize(1100, 600)
    board.show()
    service.start()
    qtbot.waitUntil(lambda: service.live and len(service.board.rows) >= len(DEMO_AGENTS), timeout=10_000)
    return service, board


def _row_of(board: TeamBoard, username: str) -> int:
    for r in range(board.proxy.rowCount()):
        row = board.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1)
        if row.username == username:
            return r
    return -1


def _agent_id(service: FloorService, username: str) -> str:
    return next(r.agent_id for r in service.board.rows.values() if r.username == username)


def _state_on_board(board: TeamBoard, username: str) -> str | None:
    r = _row_of(board, username)
    return None if r < 0 else board.proxy.index(r, COL_STATE).data(STATE_ROLE)


def test_board_live_thresholds_filter_search_sort(qtbot, login) -> None:
    tl, lina = login("zhangwei"), login("lina")
    service, board = _board(qtbot, tl)
    try:
        assert {r.username for r in service.board.rows.values()} == DEMO_AGENTS  # the TL is not a row
        assert board.proxy.rowCount() == len(DEMO_AGENTS)
        assert "续保一组" in board.title.text()
        assert board.stale.property("stale") is False

        # A state change posted by the agent (as the app's sync thread does) is on the board within 1 s.
        lina.presence("ready")
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "ready", timeout=2000)
        t0 = time.monotonic()
        lina.presence("on_call", call_id="c-1")
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "on_call", timeout=1000)
        assert time.monotonic() - t0 < 1.0
        r = _row_of(board, "lina")
        assert board.proxy.index(r, COL_STATE).data() == "通话中"

        # Thresholds: a long call colours the row and raises an alert (board strip; the tray follows).
        with qtbot.waitSignal(board.alert_shown, timeout=5000) as raised:
            service.set_thresholds(Thresholds(long_call_s=1, long_pause_s=0, long_wrapup_s=0, idle_ready_s=0))
        assert raised.args[0].kind == LONG_CALL and raised.args[0].agent_id == _agent_id(service, "lina")
        r = _row_of(board, "lina")
        assert board.proxy.index(r, 0).data(ALERT_ROLE) == LONG_CALL
        assert board.proxy.index(r, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
        assert board.alerts.isVisible() and board.alerts.count() == 1
        assert "lina" not in board.alerts.item(0).text() and "李娜" in board.alerts.item(0).text()
        lina.presence("wrap_up")  # the episode ends with the state
        qtbot.waitUntil(lambda: board.alerts.count() == 0, timeout=3000)
        assert not board.alerts.isVisible()

        # The thresholds dialog (minutes; 0 = off) sets them.
        board.trigger("thresholds")
        dialog = board.thresholds_dialog
        assert dialog.isVisible() and dialog.spins["long_call_s"].value() == 0
        dialog.spins["long_call_s"].setValue(12)
        dialog.spins["idle_ready_s"].setValue(4)
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        assert service.thresholds == Thresholds(long_call_s=720, long_pause_s=0, long_wrapup_s=0, idle_ready_s=240)

        # Filter by state (buttons with counts), search by name and pinyin, sort by header click.
        lina.presence("on_call", call_id="c-2")
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "on_call", timeout=2000)
        assert board.filters["on_call"].text().endswith(" 1")
        board.filters["on_call"].click()
        assert board.proxy.rowCount() == 1 and _row_of(board, "lina") == 0
        board.filters["all"].click()
        assert board.proxy.rowCount() == len(DEMO_AGENTS)
        for needle, who in (("李娜", "lina"), ("lina", "lina"), ("ln", "lina"), ("zhoum", "zhoumin"), ("wt", "wuting")):
            board.search.setText(needle)
            names = {board.proxy.index(i, 0).data(Qt.ItemDataRole.UserRole + 1).username
                     for i in range(board.proxy.rowCount())}
            assert who in names and len(names) <= 2, (needle, names)
        board.search.clear()
        board.table.horizontalHeader().sectionClicked.emit(COL_NAME)
        board.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        keys = [board.proxy.index(i, COL_NAME).data(Qt.ItemDataRole.UserRole + 3) for i in range(board.proxy.rowCount())]
        assert keys == sorted(keys)
        board.table.sortByColumn(COL_STATE, Qt.SortOrder.AscendingOrder)
        assert _row_of(board, "lina") == 0  # on a call sorts first

        # Keyboard: arrows move, Enter opens the details.
        board.table.setFocus()
        board.select_agent(_agent_id(service, "lina"))
        qtbot.keyClick(board.table, Qt.Key.Key_Down)
        assert board.selected_agent_id() != _agent_id(service, "lina")
        qtbot.keyClick(board.table, Qt.Key.Key_Up)
        assert board.selected_agent_id() == _agent_id(service, "lina")
        assert board.actions["listen"].isEnabled()
        with qtbot.waitSignal(service.monitor_requested, timeout=1000) as asked:
            board.actions["listen"].trigger()
        assert asked.args == [_agent_id(service, "lina"), "listen"]
        qtbot.keyClick(board.table, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: board.details_dialog is not None and board.details_dialog.isVisible(), timeout=2000)
        board.details_dialog.close()

        # The card view shows the same rows through the same proxy (one delegate, no widget per agent).
        board.toggle_view()
        assert board.stack.currentWidget() is board.cards
        assert board.selected_agent_id() == _agent_id(service, "lina")
        board.cards.viewport().repaint()
        lina.presence("offline")
    finally:
        service.stop()


def test_force_pause_and_message_reach_the_agent(qtbot, login) -> None:
    tl, lina = login("zhangwei"), login("lina")
    service, board = _board(qtbot, tl)
    # The agent's side: the app's state machine, fed by the real agent stream; its changes
    # are posted as presence, as the app's sync thread does.
    machine = AgentStateMachine()
    machine.changed.connect(lambda st: lina.presence(st.state.value, reason=st.reason))
    machine.go_ready()
    window = QMainWindow()
    window.status = QStatusBar()
    window.setStatusBar(window.status)
    qtbot.addWidget(window)
    window.show()
    orders = AgentOrders(lambda: lina, machine)
    ui = AgentMessagesUi(window, orders)
    orders.start()
    try:
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "ready", timeout=3000)
        time.sleep(0.3)  # the agent stream is connected (its hello) before the order goes out
        board.select_agent(_agent_id(service, "lina"))
        board.trigger("pause")
        dialog = board.pause_dialog
        assert dialog is not None and dialog.isVisible()
        with qtbot.waitSignal(orders.acked, timeout=5000) as acked:
            dialog.setTextValue("会议")
            dialog.accept()
        assert acked.args[1] == "applied"
        assert machine.state is AgentState.PAUSED and machine.status.reason == "会议"
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "paused", timeout=3000)
        r = _row_of(board, "lina")
        assert "会议" in board.proxy.index(r, COL_STATE).data()
        qtbot.waitUntil(lambda: "会议" in board.notice.text(), timeout=3000)
        assert ui.notice.isVisible() and "会议" in ui.notice_text.text() and "张伟" in ui.notice_text.text()

        # 就绪 while the agent is in a call's wrap-up: deferred, applied once the wrap-up is saved.
        machine.resume()
        machine.call_started()
        machine.call_ended()
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "wrap_up", timeout=3000)
        board.select_agent(_agent_id(service, "lina"))
        with qtbot.waitSignal(orders.acked, timeout=5000) as acked:
            board.trigger("pause")
            board.pause_dialog.setTextValue("培训")
            board.pause_dialog.accept()
        assert acked.args[1] == "deferred" and machine.state is AgentState.WRAP_UP
        qtbot.waitUntil(lambda: service.row(_agent_id(service, "lina")).pending_command is not None, timeout=3000)
        with qtbot.waitSignal(orders.acked, timeout=5000) as acked:
            machine.wrapup_saved()
        assert acked.args[1] == "applied" and machine.status.reason == "培训"
        qtbot.waitUntil(lambda: service.row(_agent_id(service, "lina")).pending_command is None, timeout=3000)
        with qtbot.waitSignal(orders.acked, timeout=5000) as acked:
            board.trigger("ready")
        assert acked.args[1] == "applied" and machine.state is AgentState.READY
        qtbot.waitUntil(lambda: _state_on_board(board, "lina") == "ready", timeout=3000)

        # A message to the agent pops up and stays in the list; a team message too.
        with qtbot.waitSignal(orders.message_received, timeout=5000):
            board.trigger("message")
            board.message_dialog.setTextValue("注意开场白")
            board.message_dialog.accept()
        assert ui.notice.isVisible() and "注意开场白" in ui.notice_text.text()
        with qtbot.waitSignal(orders.message_received, timeout=5000):
            board.trigger("team_message")
            board.message_dialog.setTextValue("10 点开会")
            board.message_dialog.accept()
        assert [m.text for m in orders.messages] == ["注意开场白", "10 点开会"]
        assert ui.button.isVisible() and "2" in ui.button.text()
        ui.show_list()
        assert ui.list_widget.count() == 2 and "10 点开会" in ui.list_widget.item(0).text()
        qtbot.waitUntil(lambda: len(service.messages) == 2, timeout=3000)  # the TL's sent log
    finally:
        orders.stop()
        service.stop()
        lina.presence("offline")


def test_tsr_gets_no_board(qtbot, login) -> None:
    lina = login("lina")
    with pytest.raises(RequestRejected) as refused:
        SupervisorClient(lina).board()
    assert refused.value.status == 403
    service = FloorService(lambda: lina)
    with qtbot.waitSignal(service.closed, timeout=5000):
        service.start()
    assert not service.live and not service.board.rows
    service.stop()


@pytest.mark.allow_log_warnings
def test_board_goes_stale_when_the_server_stops(qtbot, tmp_path, login) -> None:
    srv = ServerProcess(tmp_path / "srv")
    srv.cli("demo")
    srv.start()
    try:
        tl = login("zhangwei", srv.url)
        service, board = _board(qtbot, tl)
        assert board.stale.property("stale") is False
        srv.stop()
        qtbot.waitUntil(lambda: board.stale.property("stale") is True, timeout=5000)
        assert len(service.board.rows) == len(DEMO_AGENTS)  # the last snapshot stays
        assert board.proxy.rowCount() == len(DEMO_AGENTS)
        assert board.stale.text() == "数据已过期 · 刚刚"
        assert service.stale_age_s() is not None
        service.lost_at -= dt.timedelta(minutes=2)
        with qtbot.waitSignal(service.tick, timeout=2000):
            pass
        assert board.stale.text() == "数据已过期 · 2 分钟前"
        service.stop()
    finally:
        if srv.alive():
            srv.stop()


def test_orders_sent_while_the_agent_was_away_come_with_the_pull(qtbot, login) -> None:
    """The agent's app was not connected when the TL acted: the pull brings the order (carried
    out and acknowledged) and the message (listed; an old one would not pop up)."""
    from sync.engine import _FLOOR_ENTITIES

    tl, wangfang = login("zhangwei"), login("wangfang")
    sup = SupervisorClient(tl)
    agent_id = next(r.agent_id for r in sup.board().rows.values() if r.username == "wangfang")
    wangfang.presence("ready")
    cmd = sup.force_pause(agent_id, "辅导")
    sup.send_message("下午三点复盘", agent_id=agent_id)
    machine = AgentStateMachine()
    machine.go_ready()
    orders = AgentOrders(lambda: wangfang, machine)  # not started: no stream, only the pull
    try:
        changes, cursor = [], None
        while True:
            page = wangfang.pull(cursor)
            changes += [c for c in page.changes if c.entity in _FLOOR_ENTITIES]
            if not page.has_more or page.next_cursor in (None, cursor):
                break
            cursor = page.next_cursor
        with qtbot.waitSignal(orders.acked, timeout=5000) as acked:
            orders.take_pulled(changes)
        assert acked.args == [cmd.id, "applied"]
        assert machine.state is AgentState.PAUSED and machine.status.reason == "辅导"
        assert "下午三点复盘" in [m.text for m in orders.messages] and orders.unread >= 1
        orders.take_pulled(changes)  # again (a page pulled twice): nothing happens twice
        assert [m.text for m in orders.messages].count("下午三点复盘") == 1
        assert sup.audit(agent_id=agent_id, action="command_ack").items[0].detail.get("result") == "applied"
    finally:
        orders.stop()
        wangfang.presence("offline")
