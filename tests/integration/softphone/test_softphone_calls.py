"""Calls through a real Kamailio and real peers (pjsua2 peer processes, sipp UAS scenarios)."""

from __future__ import annotations

import time

import pytest

from core.contract import CallDirection
from softphone.types import CallState
from tests.sip.agent import AGENT_HZ, CUSTOMER_HZ, Agent, engine_config
from tests.sip.peer import dominant_hz, read_wav, rms

pytestmark = pytest.mark.sip


def test_registers_with_digest_auth(agent: Agent) -> None:
    agent.start()
    reg = agent.wait_registered()
    assert reg.code == 200 and reg.account == "1001"
    assert reg.expires_s > 0


def test_wrong_password_is_reported_not_registered(agent: Agent) -> None:
    agent.start(agent.settings(password="wrong"))
    reg = agent.events.wait_for(lambda e: e[0] == "registration" and e[1].code in (401, 403), 15,
                                "auth failure")[1]
    assert reg.registered is False
    assert not agent.events.find(lambda e: e[0] == "registration" and e[1].registered)


def test_outgoing_call_audio_both_ways_and_timestamps(agent: Agent, peers, tmp_path) -> None:
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200", "--answer-delay", "0.3")
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001", lead_id="lead-7").result(5)
    ringing = agent.wait_call(CallState.RINGING, call_id)
    answered = agent.wait_call(CallState.ANSWERED, call_id)
    assert answered.lead_id == "lead-7" and answered.direction is CallDirection.OUT
    assert answered.dialed_at <= ringing.ringing_at <= answered.answered_at
    assert "2001" not in answered.remote_masked  # masked for display and logs
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)

    # The customer's tone reaches the agent's speaker…
    assert agent.audio is not None
    heard = agent.audio.capture(1.0)
    assert abs(dominant_hz(heard) - CUSTOMER_HZ) < 15
    # …and the agent's microphone reaches the customer. On a loaded machine the far end's
    # recorder may get its first frames late: listen again (bounded) before judging.
    heard_hz = 0.0
    for attempt in range(3):
        wav = tmp_path / f"cust{attempt}.wav"
        m = cust.events.mark()
        cust.send(f"record {wav}")
        time.sleep(1.0)  # the recording's length, not a synchronisation
        cust.send("record_stop")
        cust.wait("recorded", start=m)
        pcm, rate = read_wav(wav)
        heard_hz = dominant_hz(pcm, rate)
        if abs(heard_hz - AGENT_HZ) < 15:
            break
    assert abs(heard_hz - AGENT_HZ) < 15

    agent.engine.hangup(call_id).result(5)
    ended = agent.wait_call(CallState.ENDED, call_id)
    assert ended.suggested_disposition is None  # answered: the agent chooses
    assert ended.talk_s > 0.5 and ended.ring_s is not None and ended.ring_s >= 0.2
    cust.wait("state", state="DISCONNECTED")


@pytest.mark.parametrize(("scenario", "code", "disposition"), [
    ("uas_486", 486, "BUSY"),
    ("uas_404", 404, "INVALID"),
    ("uas_503", 503, "FAILED"),
])
def test_final_responses_suggest_dispositions(agent: Agent, sipp, scenario, code, disposition) -> None:
    uas = sipp(scenario)
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial(uas.uri("13812345678")).result(5)
    ended = agent.wait_call(CallState.ENDED, call_id)
    assert ended.sip_code == code
    assert ended.suggested_disposition == disposition
    assert ended.answered_at is None and ended.talk_s == 0
    assert ended.remote_masked == "138****5678"
    assert uas.wait(10) == 0, uas.errors()


def test_no_answer_times_out(agent: Agent, sipp) -> None:
    uas = sipp("uas_noanswer")
    agent.start(config=engine_config(no_answer_timeout_s=1.5))
    agent.wait_registered()
    call_id = agent.engine.dial(uas.uri("13900001111")).result(5)
    agent.wait_call(CallState.RINGING, call_id)
    ended = agent.wait_call(CallState.ENDED, call_id, timeout=15)
    assert ended.suggested_disposition == "NO_ANSWER"
    assert ended.sip_code == 487
    assert 1.2 < ended.ended_at - ended.dialed_at < 10
    assert uas.wait(10) == 0, uas.errors()


def test_answered_by_sipp_with_rtp_echo(agent: Agent, sipp) -> None:
    uas = sipp("uas_answer", rtp_echo=True)
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial(uas.uri("4000")).result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    assert agent.audio is not None
    heard = agent.audio.capture(1.0)  # sipp echoes our own 1 kHz tone back (PCMU)
    assert abs(dominant_hz(heard) - AGENT_HZ) < 15
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
    assert uas.wait(10) == 0, uas.errors()


@pytest.mark.parametrize(("password", "answered"), [("right-pw", True), ("wrong-pw", False)])
def test_call_auth_challenge(agent: Agent, sipp, password: str, answered: bool) -> None:
    uas = sipp("uas_auth", keys={"user": "1001", "password": "right-pw"})
    # The account's credentials (realm "*") answer the UAS's challenge.
    agent.start(agent.settings(password=password), )
    call_id = agent.engine.dial(uas.uri("4001")).result(5)
    if answered:
        agent.wait_call(CallState.ANSWERED, call_id)
        agent.engine.hangup(call_id).result(5)
        ended = agent.wait_call(CallState.ENDED, call_id)
        assert ended.suggested_disposition is None
    else:
        ended = agent.wait_call(CallState.ENDED, call_id)
        assert ended.sip_code == 403 and ended.suggested_disposition == "FAILED"
    assert uas.wait(10) == 0, uas.errors()


def test_incoming_call_rings_answers_and_remote_hangup(agent: Agent, peers) -> None:
    agent.start()
    agent.wait_registered()
    cust = peers("2001", "--tone", str(CUSTOMER_HZ))
    cust.send("call sip:1001@" + agent.kamailio.domain)
    inc = agent.wait_event("incoming")
    assert agent.audio is not None and agent.audio.ringing
    # The caller's number for the app's customer lookup; masked for display, hidden from repr.
    assert inc.caller_number == "2001"
    assert "2001" not in inc.remote_masked and "2001" not in repr(inc)
    ring = agent.wait_call(CallState.INCOMING, inc.call_id)
    assert ring.direction is CallDirection.IN
    cust.wait("state", state="EARLY")
    agent.engine.answer(inc.call_id).result(5)
    agent.wait_call(CallState.ANSWERED, inc.call_id)
    assert not agent.audio.ringing
    agent.wait_event("media", lambda m: m.call_id == inc.call_id and m.active)
    assert abs(dominant_hz(agent.audio.capture(0.8)) - CUSTOMER_HZ) < 15
    cust.send("hangup")
    ended = agent.wait_call(CallState.ENDED, inc.call_id)
    assert ended.talk_s > 0


def test_reject_incoming(agent: Agent, peers) -> None:
    agent.start()
    agent.wait_registered()
    cust = peers("2001")
    cust.send("call sip:1001@" + agent.kamailio.domain)
    inc = agent.wait_event("incoming")
    agent.engine.reject(inc.call_id, 486).result(5)
    agent.wait_call(CallState.ENDED, inc.call_id)
    st = cust.wait("state", state="DISCONNECTED")
    assert st["code"] == 486
    assert agent.audio is not None and not agent.audio.ringing


def test_mute_and_hold(agent: Agent, peers, tmp_path) -> None:
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)

    def customer_hears(name: str) -> bytes:
        wav = tmp_path / f"{name}.wav"
        m = cust.events.mark()
        cust.send(f"record {wav}")
        time.sleep(1.0)  # recording length
        cust.send("record_stop")
        cust.wait("recorded", start=m)
        pcm, rate = read_wav(wav)
        return pcm[int(rate * 0.3) * 2:]  # frames already in flight before the change

    agent.engine.mute(True, call_id).result(5)
    assert agent.wait_call(CallState.ANSWERED, call_id, start=0).call_id == call_id
    assert rms(customer_hears("muted")) < 50
    agent.engine.mute(False, call_id).result(5)
    assert abs(dominant_hz(customer_hears("unmuted")) - AGENT_HZ) < 15

    m = agent.events.mark()
    agent.engine.hold(True, call_id).result(5)
    held = agent.wait_call(CallState.HOLD, call_id, start=m)
    assert held.held
    assert agent.audio is not None
    assert rms(agent.audio.capture(0.9)[9600:]) < 50  # nothing from the customer while held
    m = agent.events.mark()
    agent.engine.hold(False, call_id).result(5)
    agent.wait_call(CallState.ANSWERED, call_id, start=m)
    agent.wait_event("media", lambda mi: mi.call_id == call_id and mi.active, start=m)
    assert abs(dominant_hz(agent.audio.capture(0.8)) - CUSTOMER_HZ) < 15
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)


@pytest.mark.parametrize("method", ["rfc4733", "info"])
def test_dtmf(agent: Agent, peers, method: str) -> None:
    cust = peers("2001", "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    agent.engine.send_dtmf("12#", method=method, call_id=call_id).result(5)
    digits = []
    for _ in range(3):
        ev = cust.wait("dtmf", start=len(digits) and cust.events.items.index(digits[-1]) + 1)
        digits.append(ev)
    assert "".join(d["digit"] for d in digits) == "12#"
    assert {d["method"] for d in digits} == {method}
    with pytest.raises(ValueError):
        agent.engine.send_dtmf("12x", call_id=call_id).result(5)
    agent.engine.hangup(call_id).result(5)


def test_dial_rejects_garbage(agent: Agent) -> None:
    agent.start()
    with pytest.raises(ValueError):
        agent.engine.dial("call me maybe").result(5)
    with pytest.raises(ValueError):
        agent.engine.dial("sip:bad uri@").result(5)


def test_blind_transfer(agent: Agent, peers) -> None:
    cust = peers("2001", "--auto-answer", "200")
    target = peers("2002", "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.engine.transfer_blind("2002", call_id).result(5)
    cust.wait("transfer")
    inc = target.wait("incoming")
    assert "2001" in inc["from"]
    target.wait("state", state="CONFIRMED")
    agent.wait_call(CallState.ENDED, call_id)  # our leg is released after the transfer succeeds


def test_attended_transfer(agent: Agent, peers) -> None:
    cust = peers("2001", "--auto-answer", "200", "--tone", str(CUSTOMER_HZ))
    target = peers("2002", "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    first = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, first)
    agent.engine.hold(True, first).result(5)
    second = agent.engine.dial("2002").result(5)
    agent.wait_call(CallState.ANSWERED, second)
    agent.engine.transfer_attended(first, second).result(5)
    cust.wait("transfer")
    target.wait("replaced", timeout=15)
    agent.wait_call(CallState.ENDED, second)
    agent.wait_call(CallState.ENDED, first)


def test_outbound_proxy_carries_the_call(agent: Agent, sipp) -> None:
    uas = sipp("uas_486")
    agent.start(agent.settings(outbound_proxy=agent.kamailio.uri + ";lr"))
    agent.wait_registered()
    call_id = agent.engine.dial(uas.uri("13812345678")).result(5)
    ended = agent.wait_call(CallState.ENDED, call_id)
    assert ended.sip_code == 486  # relayed by Kamailio after its proxy challenge
    assert uas.wait(10) == 0, uas.errors()


def test_dead_outbound_proxy_fails_the_call(agent: Agent, sipp) -> None:
    from tests.sip.kamailio import free_port

    uas = sipp("uas_486")
    agent.start(agent.settings(outbound_proxy=f"sip:127.0.0.1:{free_port()};lr"),
                config=engine_config(no_response_timeout_s=2.0))
    call_id = agent.engine.dial(uas.uri("13812345678")).result(5)
    ended = agent.wait_call(CallState.ENDED, call_id, timeout=40)
    assert ended.sip_code != 486 and ended.suggested_disposition == "FAILED"
    assert ended.reason == "no response"
    assert ended.ended_at - ended.dialed_at < 15


def test_qt_signals_arrive_on_the_gui_thread(agent: Agent, qtbot) -> None:
    import threading

    from PySide6.QtCore import QObject, Slot

    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.threads: list[bool] = []

        @Slot(object)
        def on_reg(self, info) -> None:
            self.threads.append(threading.current_thread() is threading.main_thread())

    receiver = Receiver()
    agent.engine.registration_changed.connect(receiver.on_reg)
    with qtbot.waitSignal(agent.engine.registration_changed, timeout=15_000,
                          check_params_cb=lambda info: info.registered) as blocker:
        agent.start()
    assert blocker.args[0].code == 200
    qtbot.waitUntil(lambda: bool(receiver.threads), timeout=5000)
    assert all(receiver.threads)  # queued to the receiver's (GUI) thread, never run on the SIP thread
