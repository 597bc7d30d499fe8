"""Monitoring from the TL's app, three real SIP parties through Kamailio: who hears whom.

customer (pjsua2 peer, 440 Hz) ⇄ AGENT (Seatmate engine, child process, 1000 Hz, the app's
grant verifier) ⇠ TL (Seatmate engine here, 1700 Hz, driven by app.supervisor.MonitorService).
Each party's share of each tone in what every party hears tells who hears whom.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.supervisor.monitor_service import MonitorService
from core import grant_token
from core import messages as msg
from softphone.types import CallState
from tests.sip.agent import AGENT_HZ, CUSTOMER_HZ, TL_HZ, USERS, Agent
from tests.sip.monitor_parties import EngineChild, LocalGrants
from tests.sip.peer import PeerProcess, band_levels, read_wav

pytestmark = pytest.mark.sip

FREQS = [float(CUSTOMER_HZ), float(AGENT_HZ), float(TL_HZ)]
PRESENT = 0.05
ABSENT = 0.01
AGENT_ID = "agent-lina"


def hears(levels: dict[float, float], hz: int) -> bool:
    return levels[float(hz)] > PRESENT


def silent(levels: dict[float, float], hz: int) -> bool:
    return levels[float(hz)] < ABSENT


def setup_call(kamailio, agent: EngineChild, tl: Agent, peers, key) -> tuple[PeerProcess, str]:
    agent.start_agent("1001", kamailio.domain, USERS["1001"], grant_token.public_key_b64(key))
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    call_id = agent.dial_answered("2001")
    tl.start(tl.settings(user="3001"), mic_hz=TL_HZ)
    tl.wait_registered()
    return cust, call_id


def listen_all(agent: EngineChild, cust: PeerProcess, tl: Agent, tmp: Path, name: str,
               seconds: float = 1.2) -> dict[str, dict[float, float]]:
    """What each party hears over the same stretch of time, as tone shares."""
    m_cust, m_agent = cust.events.mark(), agent.events.mark()
    cust.send(f"record {tmp / f'{name}-cust.wav'}")
    agent.cmd("capture", seconds=seconds, freqs=FREQS)
    assert tl.audio is not None
    heard_tl = tl.audio.capture(seconds)
    cust.send("record_stop")
    ev = agent.wait("captured", timeout=seconds + 10, start=m_agent)
    cust.wait("recorded", start=m_cust)
    pcm, rate = read_wav(tmp / f"{name}-cust.wav")
    return {"tl": band_levels(heard_tl, FREQS),
            "agent": {float(k): v for k, v in ev["levels"].items()},
            "cust": band_levels(pcm[int(rate * 0.2):], FREQS, rate)}


def wait_mode(qtbot, svc: MonitorService, agent: EngineChild, mode: str, start: int) -> None:
    qtbot.waitUntil(lambda: svc.session is not None and svc.session.mode == mode, timeout=10_000)
    agent.wait("monitor", start=start, active=True, mode=mode)
    time.sleep(0.3)  # the remixed bridge carries a few frames


def test_listen_whisper_barge_from_the_tl_app(kamailio, agent_child, tl_phone, peers, qtbot, tmp_path) -> None:
    key = Ed25519PrivateKey.generate()
    cust, _call_id = setup_call(kamailio, agent_child, tl_phone, peers, key)
    grants = LocalGrants(key, tl="3001", sip_users={AGENT_ID: "1001"})
    svc = MonitorService(tl_phone.engine, grants, domain=kamailio.domain)

    m = agent_child.events.mark()
    with qtbot.waitSignal(svc.started, timeout=10_000) as started:
        svc.start(AGENT_ID, "1001", "listen", agent_name="李娜")
    view = started.args[0]
    assert view.mode == "listen" and view.mic_muted and view.agent_name == "李娜" and view.started_at
    info = agent_child.wait("monitor", start=m, active=True, mode="listen")
    assert info["tl"] == "3001"
    # Nothing rang anywhere: the TL is the caller, the agent's side answers silently.
    assert tl_phone.audio is not None and tl_phone.audio.ring_count == 0
    assert not tl_phone.events.find(lambda e: e[0] == "incoming")
    assert not [e for e in agent_child.events.since(0) if e.get("event") == "incoming"]
    qtbot.waitUntil(lambda: svc.session.session_id is not None, timeout=5000)  # recorded by the server
    time.sleep(0.3)

    lv = listen_all(agent_child, cust, tl_phone, tmp_path, "listen")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and silent(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and silent(lv["cust"], TL_HZ), lv

    m = agent_child.events.mark()
    svc.change("whisper")
    wait_mode(qtbot, svc, agent_child, "whisper", m)
    assert not svc.session.mic_muted
    lv = listen_all(agent_child, cust, tl_phone, tmp_path, "whisper")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and hears(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and silent(lv["cust"], TL_HZ), lv

    m = agent_child.events.mark()
    svc.change("barge")
    wait_mode(qtbot, svc, agent_child, "barge", m)
    lv = listen_all(agent_child, cust, tl_phone, tmp_path, "barge")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and hears(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and hears(lv["cust"], TL_HZ), lv

    # Back to listen: the TL is muted again and nobody hears them.
    m = agent_child.events.mark()
    svc.change("listen")
    wait_mode(qtbot, svc, agent_child, "listen", m)
    assert svc.session.mic_muted
    lv = listen_all(agent_child, cust, tl_phone, tmp_path, "listen-again")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert silent(lv["agent"], TL_HZ) and silent(lv["cust"], TL_HZ), lv

    # One call all along: the TL's leg and the agent's call never dropped.
    leg = svc.session.call_id
    assert tl_phone.engine.calls[leg].state is CallState.ANSWERED
    assert not [e for e in agent_child.events.since(0) if e.get("event") == "call" and e.get("state") == "ended"]
    assert {e[1].call_id for e in tl_phone.events.since(0) if e[0] == "call"} == {leg}

    m = agent_child.events.mark()
    with qtbot.waitSignal(svc.ended, timeout=10_000) as ended:
        svc.end()
    assert ended.args[1] == msg.Message.of(msg.MONITOR_ENDED)
    agent_child.wait("monitor", start=m, active=False, reason="ended")
    grants.calls.wait_for(lambda c: c[0] == "end", 5, "end reported")
    kinds = [c[0] for c in grants.calls.items]
    assert kinds == ["grant", "start", "mode", "mode", "mode", "end"], grants.calls.items
    assert grants.calls.items[-1][2] == "tl_hangup"
    # The agent goes on talking to the customer, without the TL.
    time.sleep(0.3)
    lv = agent_child.capture(0.8, FREQS)
    assert hears(lv, CUSTOMER_HZ) and silent(lv, TL_HZ), lv
    assert svc.session is None


def test_session_ends_with_the_agents_call(kamailio, agent_child, tl_phone, peers, qtbot) -> None:
    key = Ed25519PrivateKey.generate()
    cust, _call_id = setup_call(kamailio, agent_child, tl_phone, peers, key)
    grants = LocalGrants(key, tl="3001", sip_users={AGENT_ID: "1001"})
    svc = MonitorService(tl_phone.engine, grants, domain=kamailio.domain)
    with qtbot.waitSignal(svc.started, timeout=10_000):
        svc.start(AGENT_ID, "1001", "whisper")
    qtbot.waitUntil(lambda: svc.session.session_id is not None, timeout=5000)
    with qtbot.waitSignal(svc.ended, timeout=10_000) as ended:
        cust.send("hangup")
    assert ended.args[1].code == msg.MONITOR_CALL_ENDED
    grants.calls.wait_for(lambda c: c[0] == "end", 5, "end reported")
    assert grants.calls.items[-1][2] == "call_ended"


def test_agent_not_on_a_call_refuses_with_480(kamailio, agent_child, tl_phone, qtbot) -> None:
    key = Ed25519PrivateKey.generate()
    agent_child.start_agent("1001", kamailio.domain, USERS["1001"], grant_token.public_key_b64(key))
    tl_phone.start(tl_phone.settings(user="3001"), mic_hz=TL_HZ)
    tl_phone.wait_registered()
    svc = MonitorService(tl_phone.engine, LocalGrants(key, sip_users={AGENT_ID: "1001"}), domain=kamailio.domain)
    with qtbot.waitSignal(svc.failed, timeout=10_000) as failed:
        svc.start(AGENT_ID, "1001", "listen")
    assert failed.args[0].code == msg.MONITOR_NO_CALL_NOW
    assert svc.session is None


def test_bad_grants_refused_by_the_agents_softphone(kamailio, agent_child, tl_phone, peers, qtbot) -> None:
    """Forged, expired, replayed, misaddressed, garbage: each gets 403 from the agent's
    Seatmate engine, and the agent's call goes on undisturbed."""
    key = Ed25519PrivateKey.generate()
    _cust, _call_id = setup_call(kamailio, agent_child, tl_phone, peers, key)
    uri = f"sip:1001@{kamailio.domain}"
    engine = tl_phone.engine

    def attempt(token: str) -> int:
        m = tl_phone.events.mark()
        leg = engine.monitor_start(uri, token).result(5)
        info = tl_phone.wait_call(CallState.ENDED, leg, start=m)
        return info.sip_code

    # A good grant, used once (then hung up) ...
    good = grant_token.sign(key, agent="1001", tl="3001", mode="listen")
    m = tl_phone.events.mark()
    leg = engine.monitor_start(uri, good).result(5)
    tl_phone.wait_call(CallState.ANSWERED, leg, start=m)
    engine.hangup(leg).result(5)
    tl_phone.wait_call(CallState.ENDED, leg, start=m)

    cases = {
        "replayed": good,
        "forged": grant_token.sign(Ed25519PrivateKey.generate(), agent="1001", tl="3001", mode="barge"),
        "expired": grant_token.sign(key, agent="1001", tl="3001", mode="listen", now=time.time() - 600),
        "misaddressed": grant_token.sign(key, agent="1002", tl="3001", mode="listen"),
        "garbage": "not-a-token",
    }
    for case, tok in cases.items():
        m = agent_child.events.mark()
        assert attempt(tok) == 403, case
        refused = agent_child.events.wait_for(
            lambda e: e.get("event") == "monitor" and not e["active"] and e["reason"].startswith("refused"),
            10, f"{case} refused", start=m)
        assert refused["reason"], case
    # The agent's call is undisturbed: still up, still hearing the customer only.
    assert not [e for e in agent_child.events.since(0) if e.get("event") == "call" and e.get("state") == "ended"]
    assert not [e for e in agent_child.events.since(0) if e.get("event") == "incoming"]
    lv = agent_child.capture(0.6, FREQS)
    assert hears(lv, CUSTOMER_HZ) and silent(lv, TL_HZ), lv


def test_key_rotation_reaches_the_running_softphone(kamailio, agent_child, tl_phone, peers, qtbot) -> None:
    """The agent's app refreshes its verifier when the server's key changes (a pull): grants
    signed with the old key are refused from then on, the new key's accepted."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    setup_call(kamailio, agent_child, tl_phone, peers, old)
    m = agent_child.events.mark()
    agent_child.cmd("set_key", key=grant_token.public_key_b64(new))
    assert agent_child.wait("key_set", start=m)["changed"] is True
    svc_old = MonitorService(tl_phone.engine, LocalGrants(old, sip_users={AGENT_ID: "1001"}),
                             domain=kamailio.domain)
    with qtbot.waitSignal(svc_old.failed, timeout=10_000) as failed:
        svc_old.start(AGENT_ID, "1001", "listen")
    assert failed.args[0] == msg.Message.of(msg.MONITOR_REFUSED, status=403)
    svc = MonitorService(tl_phone.engine, LocalGrants(new, sip_users={AGENT_ID: "1001"}), domain=kamailio.domain)
    done = threading.Event()
    svc.started.connect(lambda _v: done.set())
    with qtbot.waitSignal(svc.started, timeout=10_000):
        svc.start(AGENT_ID, "1001", "listen")
    with qtbot.waitSignal(svc.ended, timeout=10_000):
        svc.end()


def test_a_refused_mode_change_keeps_the_old_mode(kamailio, agent_child, tl_phone, peers, qtbot, tmp_path) -> None:
    """The agent's softphone refuses a change whose grant it cannot verify: the TL's app learns
    it from the re-INVITE's answer, says so, keeps 监听 (mic muted) and tells the server."""
    import dataclasses

    key = Ed25519PrivateKey.generate()
    cust, _call_id = setup_call(kamailio, agent_child, tl_phone, peers, key)

    class ForgedBarge(LocalGrants):
        def change_monitor_mode(self, session_id: str, mode: str):
            s = super().change_monitor_mode(session_id, mode)
            if mode == "barge":  # signed by someone else
                forged = grant_token.sign(Ed25519PrivateKey.generate(), agent="1001", tl=self.tl, mode=mode)
                s.grant = dataclasses.replace(s.grant, token=forged)
            return s

    grants = ForgedBarge(key, tl="3001", sip_users={AGENT_ID: "1001"})
    svc = MonitorService(tl_phone.engine, grants, domain=kamailio.domain)
    with qtbot.waitSignal(svc.started, timeout=10_000):
        svc.start(AGENT_ID, "1001", "listen")
    qtbot.waitUntil(lambda: svc.session.session_id is not None, timeout=5000)
    m = agent_child.events.mark()
    with qtbot.waitSignal(svc.failed, timeout=10_000) as failed:
        svc.change("barge")
    assert failed.args[0].code == msg.MONITOR_CHANGE_REFUSED and failed.args[0].params["status"] in (403, 488)
    agent_child.events.wait_for(lambda e: e.get("event") == "monitor" and e["reason"].startswith("change refused"),
                                10, "refused on the agent's side", start=m)
    assert svc.session.mode == "listen" and svc.session.mic_muted
    grants.calls.wait_for(lambda c: c[0] == "mode" and c[2] == "listen", 5, "the way back reported")
    assert [c[0] for c in grants.calls.items] == ["grant", "start", "mode", "mode"]
    time.sleep(0.3)
    lv = listen_all(agent_child, cust, tl_phone, tmp_path, "after-refusal")
    assert hears(lv["tl"], CUSTOMER_HZ) and silent(lv["agent"], TL_HZ) and silent(lv["cust"], TL_HZ), lv
    # A valid change still works on the same call afterwards.
    m = agent_child.events.mark()
    svc.change("whisper")
    wait_mode(qtbot, svc, agent_child, "whisper", m)
    with qtbot.waitSignal(svc.ended, timeout=10_000):
        svc.end()
