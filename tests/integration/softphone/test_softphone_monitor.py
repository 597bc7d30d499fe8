"""Three-party monitoring through Kamailio: customer, agent (engine), TL — who hears whom.

Each party plays its own tone (customer 440 Hz, agent 1000 Hz, TL 1700 Hz) and we
measure the share of each tone in what every party hears.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import grant_token
from softphone.types import CallState
from tests.sip.agent import AGENT_HZ, CUSTOMER_HZ, TL_HZ, Agent
from tests.sip.peer import PeerProcess, band_levels, read_wav

pytestmark = pytest.mark.sip

FREQS = [float(CUSTOMER_HZ), float(AGENT_HZ), float(TL_HZ)]
PRESENT = 0.05   # share of the energy that says "this party is heard"
ABSENT = 0.01


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def token(key: Ed25519PrivateKey, mode: str, agent: str = "1001", tl: str = "3001", **kw) -> str:
    return grant_token.sign(key, agent=agent, tl=tl, mode=mode, **kw)


def start_agent(agent: Agent, key: Ed25519PrivateKey) -> None:
    verifier = grant_token.GrantVerifier(key.public_key(), "1001")
    agent.start(monitor_verifier=verifier)
    agent.wait_registered()


def customer_call(agent: Agent, peers: Callable[..., PeerProcess]) -> tuple[PeerProcess, str]:
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    return cust, call_id


def listen_all(agent: Agent, cust: PeerProcess, tl: PeerProcess, tmp: Path, name: str,
               seconds: float = 1.2) -> dict[str, dict[float, float]]:
    """What each party hears over the same stretch of time, as tone shares."""
    marks = {p: p.events.mark() for p in (cust, tl)}
    for who, p in (("cust", cust), ("tl", tl)):
        p.send(f"record {tmp / f'{name}-{who}.wav'}")
    assert agent.audio is not None
    heard_agent = agent.audio.capture(seconds)
    for p in (cust, tl):
        p.send("record_stop")
    out = {"agent": band_levels(heard_agent, FREQS)}
    for who, p in (("cust", cust), ("tl", tl)):
        p.wait("recorded", start=marks[p])
        pcm, rate = read_wav(tmp / f"{name}-{who}.wav")
        # skip the first 100 ms: the port joins the bridge mid-frame
        out[who] = band_levels(pcm[int(rate * 0.2):], FREQS, rate)
    return out


def hears(levels: dict[float, float], hz: int) -> bool:
    return levels[float(hz)] > PRESENT


def silent(levels: dict[float, float], hz: int) -> bool:
    return levels[float(hz)] < ABSENT


def test_listen_whisper_barge_who_hears_whom(agent: Agent, peers, key, tmp_path) -> None:
    start_agent(agent, key)
    cust, call_id = customer_call(agent, peers)
    tl = peers("3001", "--tone", str(TL_HZ))
    tl.send(f"call sip:1001@{agent.kamailio.domain} {grant_token.SIP_HEADER}: {token(key, 'listen')}")
    tl.wait("state", state="CONFIRMED")
    tl.wait("media", active=True)
    info = agent.wait_event("monitor", lambda m: m.active and m.mode == "listen")
    assert info.tl == "3001"
    # Silent: no incoming-call signal, no ringer, the agent's call untouched.
    assert not agent.events.find(lambda e: e[0] == "incoming")
    assert agent.audio is not None and agent.audio.ring_count == 0
    time.sleep(0.3)  # let the new conference links carry a few frames

    lv = listen_all(agent, cust, tl, tmp_path, "listen")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and silent(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and silent(lv["cust"], TL_HZ), lv

    # Mode change: a re-INVITE carrying a new token for the new mode.
    def change_mode(mode: str) -> dict:
        m = agent.events.mark()
        tl.send(f"reinvite {grant_token.SIP_HEADER}: {token(key, mode)}")
        agent.wait_event("monitor", lambda i: i.mode == mode, start=m)
        time.sleep(0.3)
        return listen_all(agent, cust, tl, tmp_path, mode)

    lv = change_mode("whisper")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and hears(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and silent(lv["cust"], TL_HZ), lv

    lv = change_mode("barge")
    assert hears(lv["tl"], CUSTOMER_HZ) and hears(lv["tl"], AGENT_HZ), lv
    assert hears(lv["agent"], CUSTOMER_HZ) and hears(lv["agent"], TL_HZ), lv
    assert hears(lv["cust"], AGENT_HZ) and hears(lv["cust"], TL_HZ), lv

    # A change with a bad token (signed by someone else) is refused; the mode stays barge.
    m, m_agent = tl.events.mark(), agent.events.mark()
    forged = token(Ed25519PrivateKey.generate(), "listen")
    tl.send(f"reinvite {grant_token.SIP_HEADER}: {forged}")
    # pjsua answers a refused re-offer with 488 Not Acceptable Here (it cannot send 403 there).
    assert tl.wait("tsx", start=m)["code"] in (403, 488)
    agent.wait_event("monitor", lambda i: i.reason.startswith("change refused"), start=m_agent)
    assert agent.engine.calls[call_id].state is CallState.ANSWERED
    lv_agent = band_levels(agent.audio.capture(0.6), FREQS)
    assert hears(lv_agent, TL_HZ), lv_agent  # still barge

    # TL hangs up: the session ends, the agent's call goes on.
    m = agent.events.mark()
    tl.send("hangup")
    agent.wait_event("monitor", lambda i: not i.active and i.reason == "ended", start=m)
    time.sleep(0.3)
    lv_agent = band_levels(agent.audio.capture(0.8), FREQS)
    assert hears(lv_agent, CUSTOMER_HZ) and silent(lv_agent, TL_HZ)
    assert agent.engine.calls[call_id].state is CallState.ANSWERED
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)


def test_monitor_leg_ends_with_the_monitored_call(agent: Agent, peers, key) -> None:
    start_agent(agent, key)
    cust, call_id = customer_call(agent, peers)
    tl = peers("3001", "--tone", str(TL_HZ))
    tl.send(f"call sip:1001@{agent.kamailio.domain} {grant_token.SIP_HEADER}: {token(key, 'listen')}")
    tl.wait("state", state="CONFIRMED")
    cust.send("hangup")
    agent.wait_call(CallState.ENDED, call_id)
    tl.wait("state", state="DISCONNECTED")


def test_monitor_refused_without_a_call(agent: Agent, peers, key) -> None:
    start_agent(agent, key)
    tl = peers("3001")
    tl.send(f"call sip:1001@{agent.kamailio.domain} {grant_token.SIP_HEADER}: {token(key, 'listen')}")
    assert tl.wait("state", state="DISCONNECTED")["code"] == 480


@pytest.mark.parametrize("case", ["forged", "expired", "replayed", "misaddressed", "garbage", "empty"])
def test_bad_tokens_refused_with_403_and_call_undisturbed(agent: Agent, peers, key, case: str) -> None:
    start_agent(agent, key)
    _cust, call_id = customer_call(agent, peers)
    tl = peers("3001", "--tone", str(TL_HZ))
    uri = f"sip:1001@{agent.kamailio.domain}"
    if case == "replayed":
        good = token(key, "listen")
        tl.send(f"call {uri} {grant_token.SIP_HEADER}: {good}")
        tl.wait("state", state="CONFIRMED")
        m = tl.events.mark()
        tl.send("hangup")
        tl.wait("state", state="DISCONNECTED", start=m)
        bad = good
    else:
        bad = {
            "forged": token(Ed25519PrivateKey.generate(), "barge"),
            "expired": token(key, "listen", now=time.time() - 600),
            "misaddressed": token(key, "listen", agent="1002"),
            "garbage": "not-a-token",
            "empty": "",
        }[case]
    m = tl.events.mark()
    agent_mark = agent.events.mark()
    tl.send(f"call {uri} {grant_token.SIP_HEADER}: {bad}" if bad else f"call {uri} {grant_token.SIP_HEADER}:x")
    ended = tl.wait("state", state="DISCONNECTED", start=m)
    assert ended["code"] == 403
    refused = agent.wait_event("monitor", lambda i: not i.active and i.reason.startswith("refused"),
                               start=agent_mark)
    assert refused.reason
    # The agent's call is undisturbed: still answered, still hearing the customer only.
    assert agent.engine.calls[call_id].state is CallState.ANSWERED
    assert not agent.events.find(lambda e: e[0] == "incoming")
    assert agent.audio is not None
    lv = band_levels(agent.audio.capture(0.6), FREQS)
    assert hears(lv, CUSTOMER_HZ) and silent(lv, TL_HZ)


def test_tl_side_sends_the_grant(agent: Agent, peers, key) -> None:
    """The engine as the TL's softphone: the agent (a peer here) receives the token header."""
    agent.start(agent.settings(user="3001"))
    agent.wait_registered()
    agent_peer = peers("1002", "--auto-answer", "200")
    tok = token(key, "listen", agent="1002")
    call_id = agent.engine.monitor_start(f"sip:1002@{agent.kamailio.domain}", tok).result(5)
    inc = agent_peer.wait("incoming")
    assert inc["headers"].get(grant_token.SIP_HEADER) == tok
    agent.wait_call(CallState.ANSWERED, call_id)
    done = threading.Event()
    agent.engine.monitor_change(call_id, token(key, "barge", agent="1002")).add_done_callback(
        lambda f: done.set())
    assert done.wait(5)
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
