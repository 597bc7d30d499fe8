"""The whole keyboard loop in the real main window: F5 → talk → F8 → digit → Ctrl+Enter → next,
against the product's demo customer over real SIP, on a real cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.lead_service import LeadService
from app.settings import Settings
from app.workspace.runtime import WorkspaceRuntime
from core.agent_state import AgentState
from ui import messages


@pytest.fixture
def workspace(qtbot, cache, tmp_path, qapp):
    from ui.main_window import MainWindow
    from ui.workspace.wiring import WorkspaceUi

    handle, repo, _cid = cache
    settings = Settings()
    settings.extra = {"workspace": {"demo_behaviour": "answer", "demo_answer_delay_s": 0.3, "audio_backend": "tone",
                                    "power_countdown_s": 1, "agent_name": "小王"}}
    leads = LeadService(repo)
    window = MainWindow(leads)
    qtbot.addWidget(window)
    runtime = WorkspaceRuntime(handle, settings, tmp_path, demo=True)
    ui = WorkspaceUi(window, runtime, settings.shortcuts)
    runtime.start()
    assert runtime.wait_phone(20), "the softphone did not start"
    qtbot.waitUntil(lambda: runtime.controller.phone is not None, timeout=10_000)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.leadsShown, timeout=10_000):
        window.refresh()
    yield window, runtime, ui
    runtime.stop()
    leads.shutdown()


def press(qtbot, window, key, mod=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press as the window's shortcut machinery sees it."""
    widget = window.focusWidget() or window
    qtbot.keyClick(widget, key, mod)


def test_keyboard_only_loop(qtbot, workspace) -> None:
    window, runtime, ui = workspace
    ctl = runtime.controller
    assert window.isActiveWindow()
    press(qtbot, window, Qt.Key.Key_F1)  # the help overlay lists the shortcuts
    assert ui.help.isVisible()
    qtbot.keyClick(ui.help, Qt.Key.Key_Escape)
    assert not ui.help.isVisible()
    window.activateWindow()
    press(qtbot, window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.answered_at is not None, timeout=10_000)
    assert runtime.agent.state is AgentState.ON_CALL
    assert window.call_bar.hangup.isEnabled() and "●" in ui.recording.text()  # demo campaign records
    first_lead = ctl.active.lead_id
    qtbot.wait(1100)
    press(qtbot, window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    assert runtime.agent.state is AgentState.WRAP_UP
    qtbot.waitUntil(lambda: ui.strip.kpi.calls.value.text().startswith("1 /"), timeout=2000)  # at hang-up
    # Dialing again is refused with the reason, until the wrap-up is saved.
    blocked = []
    ctl.dial_blocked.connect(blocked.append)
    press(qtbot, window, Qt.Key.Key_F5)
    assert blocked and blocked[-1].code == "dial.wrapup_open"
    assert ui.strip.notice.text() == messages.text(blocked[-1])  # worded in the UI language
    sale = [r.code for r in ui.wrapup._order].index("SALE")
    qtbot.keyClick(ui.wrapup, "1234567890"[sale])
    qtbot.keyClick(ui.wrapup, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not ui.wrapup.isVisible() and runtime.agent.state is AgentState.READY
    qtbot.waitUntil(lambda: ui.strip.kpi.conversions.text().endswith("1"), timeout=2000)
    con = sqlite3.connect(runtime.cache.path)
    assert con.execute("select code from dispositions where lead_id=?", (first_lead,)).fetchall() == [("SALE",)]
    # The call was recorded (stereo WAV named by the engine's call id) and queued for upload.
    path, = con.execute("select recording_path from call_records where lead_id=?", (first_lead,)).fetchone()
    con.close()
    assert path and Path(path).exists() and Path(path).stat().st_size > 44
    # Power mode: the next lead dials by itself after the countdown.
    ui.strip.power_button.setChecked(True)
    ui.actions["dial_next"].trigger()
    qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.answered_at is not None, timeout=10_000)
    assert ctl.active.lead_id != first_lead
    ui.actions["hangup"].trigger()
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    index = [r.code for r in ui.wrapup._order].index("REFUSED")
    qtbot.keyClick(ui.wrapup, "1234567890"[index])
    ui.wrapup.save()
    assert runtime.power.counting
    qtbot.waitUntil(lambda: ctl.active is not None, timeout=5000)  # dialled after the countdown
    ui.actions["hangup"].trigger()
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)


def test_pinyin_search_then_dial_the_found_lead(qtbot, workspace) -> None:
    from ui.typing import type_char

    window, runtime, ui = workspace
    window.search.setFocus()
    for query in ("fn", "fengna", "冯娜"):
        window.search.clear()
        for ch in query:
            with qtbot.waitSignal(window.leadsShown, timeout=5000):
                type_char(window.search, ch)
        qtbot.waitUntil(lambda: window.model.rowCount() >= 1, timeout=5000)
        names = [window.model.data(window.model.index(r, c)) for r in range(window.model.rowCount())
                 for c in range(window.model.columnCount())]
        assert any("冯娜" in str(n) for n in names), (query, names)
    # The found lead is selected; Ctrl+D dials it (through the gate), F8 ends it.
    qtbot.waitUntil(lambda: ui_current(window) is not None, timeout=5000)
    lead = ui_current(window)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: runtime.controller.active is not None, timeout=5000)
    assert runtime.controller.active.lead_id == lead
    ui.actions["hangup"].trigger()
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)


def ui_current(window):
    getter = getattr(window, "current_lead_id", None)
    return getter() if callable(getter) else window._current_lead


def test_inbound_call_rings_is_answered_with_f6_and_wrapped_up(qtbot, workspace) -> None:
    window, runtime, ui = workspace
    ctl = runtime.controller
    # Recorded (the demo campaign's policy): the recorder's teardown race on hang-up
    # (.coord/NOTE-workspace-recorder.md) is closed in softphone/audio/recorder.py.
    rang = []
    ctl.incoming.connect(rang.append)
    runtime.demo_process.command("call_agent")  # the customer calls back
    qtbot.waitUntil(lambda: bool(rang), timeout=10_000)
    assert "F6" in ui.strip.notice.text()
    window.activateWindow()
    press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.direction == "in", timeout=10_000)
    assert runtime.agent.state is AgentState.ON_CALL
    assert "●" in ui.recording.text()
    qtbot.wait(500)
    press(qtbot, window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    assert runtime.wrapup.draft.direction == "in" and runtime.wrapup.draft.answered


def test_inbound_call_from_a_known_number_pops_that_customer_card(qtbot, workspace, cache) -> None:
    """The demo customer calls from a lead's number (P-Asserted-Identity over real SIP): the
    window shows that lead's card; the number itself is only ever shown masked."""
    from sqlalchemy import select

    from cache import models as m
    from core.phone import mask

    window, runtime, ui = workspace
    ctl = runtime.controller
    runtime.settings.recording["policy"] = "never"
    handle = cache[0]
    shown = window.current_lead_id()
    with handle.session() as s:
        rows = s.execute(select(m.LeadPhone.lead_id, m.LeadPhone.number_e164, m.Lead.name)
                         .join(m.Lead, m.Lead.id == m.LeadPhone.lead_id)
                         .order_by(m.LeadPhone.id)).all()
    lead_id, number, name = next(r for r in rows if r[0] != shown)  # not the card already on screen

    rang = []
    ctl.incoming.connect(rang.append)
    runtime.demo_process.command(f"call_agent {number}")
    qtbot.waitUntil(lambda: bool(rang), timeout=15_000)
    assert rang[0][2] == lead_id
    qtbot.waitUntil(lambda: window.current_lead_id() == lead_id and name in window.card.title.text(),
                    timeout=10_000)
    # Masked everywhere it is displayed: the notice, and the card's number.
    notice = ui.strip.notice.text()
    assert "F6" in notice and number not in notice and number[-11:] not in notice
    assert mask(number) in notice
    card_text = " ".join(v.text() for _l, v in window.card._fields.values())
    assert number[-11:] not in card_text and mask(number) in card_text

    # Answered, the call belongs to that lead (its call history and wrap-up).
    window.activateWindow()
    press(qtbot, window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.direction == "in", timeout=10_000)
    assert ctl.active.lead_id == lead_id
    press(qtbot, window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    assert runtime.wrapup.draft.lead_id == lead_id
