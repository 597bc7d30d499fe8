"""The workspace widgets, offscreen, driven with the keyboard like an agent would."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import Qt
from sqlalchemy import select

from app.workspace.agent_state import AgentStateMachine
from app.workspace.shortcuts import resolve
from app.workspace.store import CallStart
from app.workspace.wrapup import DraftStore, WrapupService
from cache import models as m
from core import kpi
from core.wrapup import CallOutcome
from ui.script_panel import ScriptPanel
from ui.workspace.agent_state_widget import AgentStateWidget
from ui.workspace.dialpad import Dialpad
from ui.workspace.help_overlay import HelpOverlay
from ui.workspace.kpi_bar import KpiBar
from ui.workspace.wrapup_panel import WrapupPanel

UTC = dt.timezone.utc


def a_call(store, answered: bool, sip: int) -> CallOutcome:
    with store.handle.session() as s:
        lead = s.scalars(select(m.Lead).order_by(m.Lead.external_id)).first()
        lead_id, phone_id = lead.id, lead.phones[0].id
    call_id = uuid.uuid4().hex
    now = dt.datetime.now(UTC)
    store.record_call_started(CallStart(call_id, lead_id, phone_id, "out", now), store.number_for_dial(phone_id))
    store.record_call_ended(call_id, ringing_at=now, answered_at=now if answered else None, ended_at=now,
                            sip_status=sip, talk_seconds=0)
    return CallOutcome(call_id, lead_id, phone_id, "out", answered, sip, 75 if answered else 0)


def make_panel(qtbot, store, tmp_path):
    svc = WrapupService(DraftStore(tmp_path / "draft.json"), store.save_disposition, store.codes_for_lead)
    panel = WrapupPanel(svc)
    qtbot.addWidget(panel)
    return svc, panel


def test_number_keys_pick_codes_and_ctrl_enter_saves(qtbot, store, tmp_path) -> None:
    svc, panel = make_panel(qtbot, store, tmp_path)
    svc.begin(a_call(store, answered=False, sip=486))
    assert panel.isVisible()
    # Each code keeps its number (its place in the full list); the SIP result is pre-selected.
    assert panel._buttons["BUSY"].isChecked()
    assert panel._buttons["NO_ANSWER"].text().startswith("8")
    qtbot.keyClick(panel, Qt.Key.Key_1)  # 成交: does not fit an unanswered call, not offered
    assert svc.draft.code == "BUSY"
    qtbot.keyClick(panel, Qt.Key.Key_8)
    assert svc.draft.code == "NO_ANSWER" and panel._buttons["NO_ANSWER"].isChecked()
    saved = []
    panel.saved.connect(saved.append)
    qtbot.keyClick(panel, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert saved and saved[0].code == "NO_ANSWER" and not panel.isVisible()


def test_callback_picker_appears_and_note_takes_digits(qtbot, store, tmp_path) -> None:
    svc, panel = make_panel(qtbot, store, tmp_path)
    svc.begin(a_call(store, answered=True, sip=200))
    assert not panel.callback_row.isVisible() and svc.draft.code is None
    index = [r.code for r in panel._order].index("CALLBACK")
    qtbot.keyClick(panel, "1234567890"[index])
    assert svc.draft.code == "CALLBACK" and panel.callback_row.isVisible()
    assert svc.draft.callback_at is not None  # a sensible default (in an hour), editable
    panel.note_edit.setFocus()
    qtbot.keyClicks(panel.note_edit, "fri 3pm")  # QTest types ASCII only
    assert svc.draft.code == "CALLBACK"  # digits typed in the note stay in the note
    qtbot.keyClick(panel.note_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not svc.blocking
    assert store.events_of(None, ["disposition_recorded"])[-1]["payload"]["note"] == "fri 3pm"
    assert store.events_of(None, ["callback_scheduled"])


def test_missing_note_is_explained_in_the_panel(qtbot, store, tmp_path) -> None:
    svc, panel = make_panel(qtbot, store, tmp_path)
    svc.begin(a_call(store, answered=True, sip=200))
    panel.choose("INSURED_ELSEWHERE")
    panel.save()
    assert svc.blocking and svc.problems()[0].code == "wrapup.note_required"
    # Worded in the UI language; the code's label is the campaign's, as it is.
    from ui import messages
    assert panel.problem_label.text() == messages.text(svc.problems()[0]) and "已在他处投保" in panel.problem_label.text()


def test_kpi_bar_shows_progress(qtbot) -> None:
    bar = KpiBar()
    qtbot.addWidget(bar)
    calls = [kpi.CallFact(str(i), answered=i % 2 == 0, talk_seconds=120) for i in range(15)]
    bar.set_snapshot(kpi.compute(calls, kpi.Targets(30, 50), callbacks_due=2, callbacks_overdue=1))
    assert bar.calls.value.text() == "15 / 30" and bar.calls.bar.value() == 500
    assert bar.talk.value.text() == "16:00 / 50:00"
    assert "1" in bar.callbacks.text()


def test_agent_state_widget_pause_menu(qtbot) -> None:
    sm = AgentStateMachine()
    w = AgentStateWidget(sm)
    qtbot.addWidget(w)
    sm.go_ready()
    w.pause_actions["培训"].trigger()
    assert "培训" in w.button.text()
    w.ready_action.trigger()
    assert sm.can_dial()


def test_dialpad_sends_dtmf_in_call_and_dials_otherwise(qtbot) -> None:
    pad = Dialpad()
    qtbot.addWidget(pad)
    dials, digits = [], []
    pad.dial_requested.connect(dials.append)
    pad.digit_pressed.connect(digits.append)
    qtbot.keyClicks(pad.number_edit, "13800001234")
    qtbot.keyClick(pad.number_edit, Qt.Key.Key_Return)
    assert dials == ["13800001234"]
    pad.number_edit.clear()
    pad.set_in_call(True)
    pad.buttons["5"].click()
    pad.buttons["#"].click()
    assert digits == ["5", "#"]


def test_help_overlay_lists_configured_shortcuts(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(800, 600)
    overlay = HelpOverlay(host)
    overlay.set_shortcuts(resolve({"dial_next": "F9", "bogus": "X"}))
    host.show()
    overlay.toggle()
    texts = [overlay.grid.itemAt(i).widget().text() for i in range(overlay.grid.count())]
    assert "F9" in texts and "F5" not in texts
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert not overlay.isVisible()


def test_script_panel_fill_jump_search_and_question(qtbot) -> None:
    from app.resource_files import resource

    panel = ScriptPanel()
    qtbot.addWidget(panel)
    panel.show_script(resource("data", "script_renewal_demo.md").read_text(encoding="utf-8"),
                     {"name": "杜军", "gender": "男", "plate": "鄂EF76387", "vehicle": "大众 朗逸"},
                     {"display_name": "小王", "company": "平安产险"})
    text = panel.browser.toPlainText()
    assert "杜军先生" in text and "鄂EF76387" in text and "{客户姓名}" not in text
    assert panel.section_combo.count() >= 6
    panel.step_section(1)
    assert panel.current_section_title() == "需求确认"
    panel.search_edit.setText("贵")  # QTest types ASCII only
    assert panel.results.item(0).text() == "价格比别家贵" and "理赔" in panel.answer.toPlainText()
    got = []
    panel.question_recorded.connect(lambda t, s: got.append((t, s)))
    assert panel.record_question("  第三者险能不能只买 100 万？ ")
    assert got == [("第三者险能不能只买 100 万？", "需求确认")]
