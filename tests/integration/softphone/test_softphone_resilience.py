"""The engine keeps working: restarts, registrar outages, failover, IP changes, many calls."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from softphone.account import Transport
from softphone.engine import SipEngine
from softphone.tone_audio import ToneAudio
from softphone.types import CallState
from tests.sip.agent import CUSTOMER_HZ, USERS, Agent, engine_config
from tests.sip.kamailio import Kamailio, free_port
from tests.sip.peer import PeerProcess, dominant_hz

pytestmark = pytest.mark.sip


def process_resources() -> dict[str, int]:
    fds = os.listdir("/proc/self/fd")
    sockets = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                sockets += 1
        except OSError:
            pass
    rss_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return {"threads": len(os.listdir("/proc/self/task")), "py_threads": threading.active_count(),
            "fds": len(fds), "sockets": sockets, "rss_kb": rss_kb}


def settle(before: dict[str, int], timeout: float = 5.0, **slack: int) -> dict[str, int]:
    """Resources once threads that were already ending (pjsip's, the peers' readers) are gone."""
    deadline = time.monotonic() + timeout
    while True:
        now = process_resources()
        ok = all(now[k] <= before[k] + slack.get(k, 0) for k in ("threads", "fds", "sockets"))
        if ok or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


def test_start_stop_many_times_without_leaks(kamailio: Kamailio) -> None:
    engine = SipEngine()
    settings = Agent(engine, kamailio).settings()

    def cycle() -> None:
        registered = threading.Event()
        unsub = engine.subscribe(lambda k, p: registered.set() if k == "registration" and p.registered else None)
        engine.start(engine_config(), settings, ToneAudio.factory(0))
        assert registered.wait(10), "not registered after start"
        engine.stop()
        unsub()
        assert not engine.running

    cycle()
    before = process_resources()
    t0 = time.monotonic()
    for _ in range(8):
        cycle()
    after = settle(before, fds=1, sockets=1)
    assert time.monotonic() - t0 < 40
    assert after["threads"] <= before["threads"], (before, after)
    assert after["fds"] <= before["fds"] + 1 and after["sockets"] <= before["sockets"] + 1, (before, after)


def test_registrar_restart_account_back_within_30s(agent: Agent, peers) -> None:
    agent.start()
    agent.wait_registered()
    k = agent.kamailio
    m = agent.events.mark()
    k.stop()
    lost = agent.wait_registered(registered=False, timeout=20, start=m)
    assert lost.code in (0, 408, 503)
    m = agent.events.mark()
    k.start()
    t0 = time.monotonic()
    agent.wait_registered(timeout=30, start=m)
    assert time.monotonic() - t0 <= 30
    # The restarted registrar really knows the agent again: a customer reaches it through it.
    cust = peers("2001", "--tone", str(CUSTOMER_HZ))
    cust.send("call sip:1001@" + k.domain)
    inc = agent.wait_event("incoming", timeout=15)
    agent.engine.answer(inc.call_id).result(5)
    agent.wait_call(CallState.ANSWERED, inc.call_id)
    cust.send("hangup")
    agent.wait_call(CallState.ENDED, inc.call_id)


def test_secondary_registrar_used_when_first_fails(agent: Agent) -> None:
    dead = free_port()  # nothing listens here
    settings = agent.settings(registrar=f"sip:127.0.0.1:{dead}", secondary_registrar=agent.kamailio.uri)
    agent.start(settings)
    reg = agent.wait_registered(timeout=30)
    assert reg.registrar.startswith(agent.kamailio.uri)


def test_tcp_transport_registers_and_calls(agent: Agent, peers) -> None:
    cust = peers("2001", "--auto-answer", "200", "--tone", str(CUSTOMER_HZ))
    agent.start(agent.settings(transport=Transport.TCP))
    reg = agent.wait_registered()
    assert "transport=tcp" in reg.registrar
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda mi: mi.call_id == call_id and mi.active)
    assert agent.audio is not None
    assert abs(dominant_hz(agent.audio.capture(0.8)) - CUSTOMER_HZ) < 15
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
    cust.wait("state", state="DISCONNECTED")


def test_ip_change_reregisters_and_keeps_the_call(agent: Agent, peers) -> None:
    peers("2001", "--auto-answer", "200", "--tone", str(CUSTOMER_HZ))
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda mi: mi.call_id == call_id and mi.active)
    m = agent.events.mark()
    agent.engine.handle_ip_change().result(5)  # what a network change or a wake-up triggers
    agent.wait_registered(timeout=20, start=m)
    assert not agent.events.find(lambda e: e[0] == "call" and e[1].state is CallState.ENDED)
    agent.wait_event("media", lambda mi: mi.call_id == call_id and mi.active, start=m, timeout=10)
    assert agent.audio is not None
    assert abs(dominant_hz(agent.audio.capture(0.8)) - CUSTOMER_HZ) < 15
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)


def test_200_consecutive_calls_without_leaks(agent: Agent) -> None:
    # A direct peer (no proxy) keeps this about the engine, not about Kamailio.
    cust = PeerProcess("--user", "cust", "--auto-answer", "200", "--max-calls", "4").start()
    try:
        agent.start()
        agent.wait_registered()
        uri = f"sip:cust@127.0.0.1:{cust.port}"
        ended = threading.Semaphore(0)
        agent.engine.subscribe(lambda k, p: ended.release() if k == "call" and p.state is CallState.ENDED else None)

        def one_call() -> None:
            call_id = agent.engine.dial(uri).result(5)
            agent.wait_call(CallState.ANSWERED, call_id, start=agent.events.mark() - 4)
            agent.engine.hangup(call_id).result(5)
            assert ended.acquire(timeout=10), "call did not end"

        for _ in range(20):  # warm-up: pools, caches, first-use allocations
            one_call()
        before = process_resources()
        t0 = time.monotonic()
        for _ in range(200):
            one_call()
        elapsed = time.monotonic() - t0
        after = settle(before, fds=2, sockets=2)
        assert elapsed < 60, f"200 calls took {elapsed:.1f} s"
        assert after["threads"] == before["threads"], (before, after)
        assert after["fds"] <= before["fds"] + 2, (before, after)
        assert after["sockets"] <= before["sockets"] + 2, (before, after)
        assert after["rss_kb"] - before["rss_kb"] < 12_000, (before, after)
        assert not agent.engine.calls
        assert USERS  # keep the shared table imported for readers
    finally:
        cust.stop()


def test_stun_server_is_used(agent: Agent) -> None:
    from tests.sip.stun import StunServer

    stun = StunServer().start()
    try:
        agent.start(agent.settings(stun_servers=(f"127.0.0.1:{stun.port}",)))
        agent.wait_registered()
        assert stun.requests >= 1  # the engine asked for its public address
    finally:
        stun.stop()
