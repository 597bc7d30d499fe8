"""Honest call states over the wire: one "dialing" per call, the customer's hold as a state of
its own (re-INVITE a=sendonly, then a=sendrecv), and no RTP while nobody holds the call as a
media failure — each checked in the engine's events AND in what the call bar shows (pytest-qt:
app.workspace.call_status.CallStatus on the real engine, ui.call_bar.CallBar)."""

from __future__ import annotations

import datetime as dt
import math
import time

import pytest

from app.workspace.call_status import CallPhase, CallStatus
from softphone.types import CallState, MediaInfo
from tests.sip.agent import Agent, engine_config
from tests.sip.sipp import SippUas
from ui.call_bar import CallBar

pytestmark = pytest.mark.sip


def _calls(agent: Agent, call_id: str) -> list:
    return [p for kind, p in agent.events.since(0) if kind == "call" and p.call_id == call_id]


def _media(agent: Agent, call_id: str) -> list[MediaInfo]:
    return [p for kind, p in agent.events.since(0) if kind == "media" and p.call_id == call_id]


def _after(agent: Agent, payload: object) -> int:
    """The event log's index just after this event."""
    return next(i for i, (_kind, p) in enumerate(agent.events.since(0)) if p is payload) + 1


def _bar(qtbot, agent: Agent) -> tuple[CallStatus, CallBar]:
    status = CallStatus(agent.engine)
    bar = CallBar()
    qtbot.addWidget(bar)
    bar.show()
    status.changed.connect(bar.show_call)
    return status, bar


def test_one_dialing_event_per_call(agent: Agent, sipp) -> None:
    uas = sipp("uas_answer", rtp_echo=True)
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial(uas.uri("4000")).result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
    states = [c.state for c in _calls(agent, call_id)]
    assert states.count(CallState.DIALING) == 1, states
    assert states.count(CallState.ENDED) == 1, states
    assert states[0] is CallState.DIALING and states[-1] is CallState.ENDED
    assert uas.wait(10) == 0, uas.errors()


def test_remote_hold_is_a_state_with_its_own_timer(agent: Agent, sipp, qtbot) -> None:
    uas = sipp("uas_remote_hold", rtp_echo=True)  # hold 1 s after the answer, for 3 s
    agent.start(config=engine_config(rx_silence_s=1.5))
    agent.wait_registered()
    status, bar = _bar(qtbot, agent)
    call_id = agent.engine.dial(uas.uri("4000")).result(5)
    answered = agent.wait_call(CallState.ANSWERED, call_id)
    qtbot.waitUntil(lambda: bar.phase() == "talking", timeout=5000)

    # The customer holds the call: a state of its own, since the re-INVITE, not "media off".
    held = agent.wait_call(CallState.REMOTE_HOLD, call_id, timeout=10)
    assert held.remote_hold and held.remote_hold_at is not None and held.remote_hold_at > answered.answered_at
    assert not held.held  # we did not hold anyone
    media = agent.wait_event("media", lambda m: m.call_id == call_id and m.remote_hold)
    assert not media.active and media.receiving
    qtbot.waitUntil(lambda: bar.phase() == "remote_hold", timeout=5000)
    assert status.view.phase is CallPhase.REMOTE_HOLD
    assert status.view.since == dt.datetime.fromtimestamp(held.remote_hold_at, dt.timezone.utc)
    qtbot.wait(1200)
    bar.show_call(status.view)  # the window's 500 ms tick does this
    assert bar.timer.text().startswith("Held by the customer 00:0"), bar.timer.text()
    assert int(bar.timer.text()[-2:]) >= 1  # counts from the hold, not from the answer
    assert not bar.warning.isVisible()  # no RTP on hold is expected: no media warning

    # ...and takes it off hold: talking again, timer from the answer.
    resumed = agent.wait_call(CallState.ANSWERED, call_id, timeout=10, start=_after(agent, held))
    assert not resumed.remote_hold and resumed.remote_hold_at is None
    qtbot.waitUntil(lambda: bar.phase() == "talking", timeout=5000)
    assert status.view.since == dt.datetime.fromtimestamp(answered.answered_at, dt.timezone.utc)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active and not m.remote_hold)
    assert all(m.receiving for m in _media(agent, call_id)), _media(agent, call_id)

    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
    qtbot.waitUntil(lambda: bar.phase() == "idle", timeout=5000)
    assert bar.timer.text() == "00:00" and status.view.idle
    states = [c.state for c in _calls(agent, call_id)]
    assert states.count(CallState.REMOTE_HOLD) == 1, states
    assert uas.wait(10) == 0, uas.errors()


def _ulaw_tone(seconds: float, hz: float = 440.0) -> bytes:
    """Raw 8 kHz G.711 mu-law: what sipp's rtp_stream sends, 160 bytes per 20 ms packet."""
    out = bytearray()
    for i in range(int(8000 * seconds)):
        sample = int(8000 * math.sin(2 * math.pi * hz * i / 8000))
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = max(0, magnitude.bit_length() - 8)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        out.append(~(sign | (exponent << 4) | mantissa) & 0xFF)
    return bytes(out)


def test_rtp_that_stops_is_a_media_warning(agent: Agent, qtbot) -> None:
    uas = SippUas("uas_rtp_stop")
    (uas.dir / "talk.ulaw").write_bytes(_ulaw_tone(2.0))
    uas.start()
    try:
        agent.start(config=engine_config(rx_silence_s=2.0))
        agent.wait_registered()
        status, bar = _bar(qtbot, agent)
        call_id = agent.engine.dial(uas.uri("4000")).result(5)
        answered = agent.wait_call(CallState.ANSWERED, call_id)
        agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
        qtbot.waitUntil(lambda: bar.phase() == "talking", timeout=5000)
        assert not bar.warning.isVisible()  # the customer's audio is arriving

        lost = agent.wait_event("media", lambda m: m.call_id == call_id and not m.receiving, timeout=15)
        noticed = time.time()
        assert lost.active and not lost.remote_hold and lost.silent_s >= 2.0
        # Audio came for ~2 s, then the watch waited 2 s of silence: not before.
        assert noticed - answered.answered_at >= 3.5
        qtbot.waitUntil(lambda: bar.warning.isVisible(), timeout=5000)
        assert status.view.warning is not None and status.view.warning.code == "call.no_audio"
        assert "Can't hear them? Check the network and the headset" in bar.warning.text()
        assert bar.phase() == "talking"  # still a call: a warning, not a state change
        assert [c.state for c in _calls(agent, call_id)].count(CallState.REMOTE_HOLD) == 0

        agent.engine.hangup(call_id).result(5)
        agent.wait_call(CallState.ENDED, call_id)
        qtbot.waitUntil(lambda: bar.phase() == "idle", timeout=5000)
        assert not bar.warning.isVisible() and bar.timer.text() == "00:00"
        assert uas.wait(10) == 0, uas.errors()
    finally:
        uas.stop()
