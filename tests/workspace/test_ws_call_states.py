"""Honest call states in the real main window, over real SIP to the demo customer: the call bar
and the agent state leave the call at hang-up (no "振铃 00:21" left on the bar), "下一位" never
names the customer on the line or in the open wrap-up, and the engine reports "dialing" once.
Then the wrap-up panel numbers each code the same way after an answered call as after one that
was not answered, and offers only what fits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from test_ws_window import press, workspace  # noqa: F401  (the real window, demo customer answering)

from core.agent_state import AgentState
from core.wrapup import fits


def test_hang_up_leaves_an_idle_bar_and_next_is_never_the_lead_in_hand(qtbot, workspace) -> None:  # noqa: F811
    window, runtime, ui = workspace
    ctl, bar = runtime.controller, window.call_bar
    states: list = []
    runtime.phone.call_state_changed.connect(states.append)
    qtbot.waitUntil(lambda: ui._preview is not None, timeout=10_000)
    first = ui._preview  # "Next: …" before the call
    assert first.name in ui.strip.next_label.text()

    press(qtbot, window, Qt.Key.Key_F5)
    assert ctl.active is not None and ctl.active.lead_id == first.lead_id
    # In the call, "next" is someone else (looked up again the moment the call started).
    qtbot.waitUntil(lambda: ui._preview is not None and ui._preview.lead_id != first.lead_id, timeout=5000)
    assert first.name not in ui.strip.next_label.text()
    qtbot.waitUntil(lambda: bar.phase() == "talking", timeout=10_000)
    assert runtime.agent.state is AgentState.ON_CALL
    qtbot.wait(1100)
    ui._tick_call()
    assert bar.timer.text() == "00:01", bar.timer.text()

    press(qtbot, window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    # At once: the bar is idle (no timer running on, no state of the old call) and so is the agent's call.
    assert bar.phase() == "idle" and bar.timer.text() == "00:00" and not bar.warning.isVisible()
    assert not ui._call_timer.isActive()
    assert not bar.hangup.isEnabled() and ctl.active is None
    assert runtime.agent.state is AgentState.WRAP_UP
    qtbot.wait(700)  # nothing brings the old call back to the bar
    assert bar.phase() == "idle" and bar.timer.text() == "00:00"
    # While its wrap-up is open, "next" is still not this customer.
    assert ui._preview is None or ui._preview.lead_id != first.lead_id

    ended = [s for s in states if str(s.state.value) == "ended"]
    assert len(ended) == 1
    mine = [str(s.state.value) for s in states if s.call_id == ended[0].call_id]
    assert mine.count("dialing") == 1, mine  # one dialing event per call
    attempts = runtime.store.events_of(first.lead_id, ["call_attempted"])
    assert len(attempts) == 1

    qtbot.keyClick(ui.wrapup, "1")  # 成交: the same digit after every answered call
    qtbot.keyClick(ui.wrapup, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not ui.wrapup.isVisible() and runtime.agent.state is AgentState.READY
    assert bar.phase() == "idle"


def test_panel_numbers_are_stable_and_only_fitting_codes_are_offered(qtbot, workspace) -> None:  # noqa: F811
    from core.wrapup import CallOutcome

    _window, runtime, ui = workspace
    svc, panel = runtime.wrapup, ui.wrapup
    lead_id = runtime.controller.next_lead()[0]
    shown: dict[bool, dict[str, str]] = {}
    for answered, sip in ((True, 200), (False, 480)):
        svc.begin(CallOutcome(f"c-{answered}", lead_id, None, "out", answered, sip, 30 if answered else 0))
        assert panel.isVisible()
        rules = svc.rules
        shown[answered] = {code: b.text() for code, b in panel._buttons.items()}
        visible = [r.code for r in rules if panel._buttons[r.code].isVisible()]
        assert visible == [r.code for r in rules if fits(r, answered)]
        assert panel.other_toggle.isVisible() and not panel.others_box.isVisible()
        # The wrong group's first code is not offered by its digit…
        other = next(r for r in rules if not fits(r, answered))
        before = svc.draft.code
        qtbot.keyClick(panel, str(panel.number_of(other.code)))
        assert svc.draft.code == before
        # …only after "Other results…", greyed, with a reason to give.
        panel.other_toggle.click()
        qtbot.keyClick(panel, str(panel.number_of(other.code)))
        assert svc.draft.code == other.code and panel.override_row.isVisible()
        assert panel.save() is None and svc.blocking
        panel.override_edit.setText("客户接起后立刻挂断")
        if other.requires_callback:
            assert svc.draft.callback_at is not None
        saved = panel.save()
        assert saved is not None and saved.code == other.code
        payload = runtime.store.events_of(lead_id, ["disposition_recorded"])[-1]["payload"]
        assert payload["override_reason"] == "客户接起后立刻挂断" and payload["connected"] is answered
    assert shown[True] == shown[False]  # 8 is 无人接听 whatever the call did
    assert shown[True]["NO_ANSWER"].startswith("8") and shown[True]["SALE"].startswith("1")
