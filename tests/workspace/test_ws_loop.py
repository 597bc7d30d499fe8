"""The call loop against a real SIP peer: the product's demo customer (pjsua2) answering,
refusing with 486 and not answering; the real engine; the real SQLite cache."""

from __future__ import annotations

import sqlite3

from core.agent_state import AgentState
from core.dialing import DialMode
from core.messages import Message


def run_call(qtbot, loop, hang_up_after_answer: bool = True):
    finished = []
    loop.call_finished.connect(finished.append)
    assert loop.dial_next(), loop.last_gate
    if hang_up_after_answer:
        qtbot.waitUntil(lambda: (loop.active is not None and loop.active.answered_at is not None) or bool(finished),
                        timeout=10_000)
        if not finished:
            assert loop.agent.state is AgentState.ON_CALL
            qtbot.wait(1100)  # talk a little
            loop.hangup()
    qtbot.waitUntil(lambda: bool(finished), timeout=15_000)
    return finished[0]


def test_answered_call_then_wrapup_then_power_dial(qtbot, loop, customer) -> None:
    outcome = run_call(qtbot, loop)
    assert outcome.answered and outcome.talk_seconds >= 1
    assert loop.agent.state is AgentState.WRAP_UP and loop.wrapup.blocking
    # No next call until the wrap-up is saved.
    assert not loop.dial_next() and loop.last_gate.message.code == "dial.wrapup_open"
    qtbot.waitUntil(lambda: loop.kpis.calls_made == 1 and loop.kpis.connected == 1, timeout=2000)  # at hang-up
    loop.wrapup.set_code("SALE")
    loop.set_mode(DialMode.POWER)
    placed = []
    loop.call_placed.connect(placed.append)
    assert loop.wrapup.save() is not None
    assert loop.agent.state is AgentState.READY and loop.power.counting
    qtbot.waitUntil(lambda: bool(placed), timeout=5000)  # the countdown ran out and the next lead is dialling
    assert placed[0].lead_id != outcome.lead_id
    qtbot.waitUntil(lambda: loop.kpis.conversions == 1, timeout=2000)
    loop.hangup()
    qtbot.waitUntil(lambda: loop.wrapup.blocking, timeout=10_000)
    con = sqlite3.connect(loop.store.handle.path)
    assert con.execute("select code from dispositions where lead_id=?", (outcome.lead_id,)).fetchall() == [("SALE",)]
    con.close()


def test_busy_suggests_busy(qtbot, loop, customer) -> None:
    customer.command("behaviour busy")
    assert customer.wait_for("behaviour", 5)
    outcome = run_call(qtbot, loop, hang_up_after_answer=False)
    assert not outcome.answered and outcome.sip_status == 486
    assert loop.wrapup.draft.code == "BUSY"
    assert loop.wrapup.save().code == "BUSY"
    qtbot.waitUntil(lambda: loop.kpis.calls_made == 1 and loop.kpis.connected == 0, timeout=2000)


def test_no_answer_suggests_no_answer(qtbot, loop, customer) -> None:
    customer.command("behaviour noanswer")
    assert customer.wait_for("behaviour", 5)
    outcome = run_call(qtbot, loop, hang_up_after_answer=False)
    assert not outcome.answered and outcome.sip_status in (408, 480, 487)
    assert loop.wrapup.draft.code == "NO_ANSWER"


def test_paused_agent_cannot_dial(qtbot, loop) -> None:
    loop.agent.pause("用餐")
    assert not loop.dial_next() and loop.last_gate.message == Message.of("dial.paused", reason="用餐")
