"""pjsua2 objects die on the SIP thread, whoever lets go of them (softphone/ownership.py).

The crash this guards against: a test failed mid-call, pytest's failure report ran the
cyclic GC on the main thread, the GC freed a traceback that still held a pjsua2 call, and
the call's C++ destructor ran there while the SIP thread was inside libHandleEvents.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

import pytest

from softphone import ownership
from softphone.types import CallState
from tests.sip.agent import CUSTOMER_HZ, Agent
from tests.sip.peer import dominant_hz

pytestmark = pytest.mark.sip


def _answered_call(agent: Agent, peers) -> str:
    peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    return call_id


def _failing_check_holding(objs: list[object]) -> None:
    local_refs = list(objs)  # noqa: F841  (the frame's locals are what the traceback keeps)
    assert not objs, "forced failure while holding pjsua2 objects"


def test_pjsua2_objects_dropped_and_collected_on_main_thread_mid_call(agent: Agent, peers) -> None:
    first = _answered_call(agent, peers)
    before = ownership.stats()

    def grab() -> list[object]:
        # The SIP thread's own objects, smuggled out on purpose: the call and the audio ports,
        # the way a traceback or a careless helper could hold them.
        core = agent.engine._core
        assert core is not None and core.audio is not None
        return [core.calls[first], core.audio.mic_media(), core.audio.speaker_media()]

    def extra_tone() -> object:
        # A conference port made and wired by the SIP thread, then handed out and forgotten
        # there: the main thread ends up holding the last reference.
        import pjsua2 as pj
        core = agent.engine._core
        assert core is not None
        tone = pj.ToneGenerator()
        tone.createToneGenerator(16000, 1)
        media = core.calls[first].audio
        assert media is not None
        tone.startTransmit(media)
        return tone

    objs = agent.run(grab)
    tone = agent.run(extra_tone)
    # A reference cycle: only the cyclic GC can free these, on whichever thread runs it.
    cycle: dict[str, object] = {"objs": objs}
    cycle["self"] = cycle
    try:
        _failing_check_holding(objs)
    except AssertionError as exc:
        cycle["exc"] = exc  # like pytest's excinfo: traceback -> frames -> pjsua2 objects
    ports = objs[1:]
    del objs

    # Dropped mid-call on the main thread while the conference bridge is running: without the
    # guard this destroys a live conference port from a thread pjlib does not know.
    tone_cycle: dict[str, object] = {"tone": tone}
    del tone
    tone_cycle["self"] = tone_cycle
    del tone_cycle
    gc.collect()
    agent.run(lambda: None)

    # The call ends while the main thread still holds it; the SIP thread lets go of it.
    agent.engine.hangup(first).result(5)
    agent.wait_call(CallState.ENDED, first)
    agent.run(lambda: None)

    # A second call is in progress: the SIP thread is busy inside libHandleEvents.
    second = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, second)
    agent.wait_event("media", lambda m: m.call_id == second and m.active)
    del cycle
    assert threading.current_thread() is threading.main_thread()
    for _ in range(5):
        gc.collect()  # frees the first call's pjsua2 object here... which must not destroy it here
    assert ownership.stats()["deferred"] > before["deferred"]  # handed to the SIP thread instead

    # The second call kept running and carries audio.
    assert abs(dominant_hz(agent.audio.capture(0.5)) - CUSTOMER_HZ) < 15  # type: ignore[union-attr]
    agent.engine.hangup(second).result(5)
    agent.wait_call(CallState.ENDED, second)
    for _ in range(200):  # bounded: a few loop turns at most
        if ownership.stats()["pending"] == 0:
            break
        agent.run(lambda: None)
    assert ownership.stats()["pending"] == 0

    # Ports still held when the library is destroyed are disowned, not destroyed afterwards.
    agent.stop()
    assert ownership.stats()["leaked"] >= before["leaked"] + len(ports)
    del ports
    gc.collect()


def test_exception_in_a_pjsua2_callback_is_logged_and_the_call_survives(
        agent: Agent, peers, caplog: pytest.LogCaptureFixture) -> None:
    call_id = _answered_call(agent, peers)

    def boom(call: object) -> None:
        raise RuntimeError("forced failure in onCallMediaState")

    def install_boom() -> None:
        core = agent.engine._core
        assert core is not None
        core.on_call_media = boom  # type: ignore[method-assign]

    agent.run(install_boom)
    caplog.set_level(logging.ERROR, logger="softphone.call")
    start = agent.events.mark()
    agent.engine.hold(True, call_id).result(5)   # re-INVITE -> onCallMediaState -> boom
    agent.wait_call(CallState.HOLD, call_id, start=start)

    def logged() -> bool:
        return any("forced failure in onCallMediaState" in r.getMessage() for r in caplog.records)

    deadline = time.monotonic() + 5  # the re-INVITE's answer comes from another process
    while not logged() and time.monotonic() < deadline:
        agent.run(lambda: None)
        time.sleep(0.02)
    assert logged(), f"the callback's exception was not logged: {[r.getMessage() for r in caplog.records]}"
    # Logged as text, without exc_info: no LogRecord keeps the call's frames alive.
    assert all(r.exc_info is None for r in caplog.records if r.name == "softphone.call")
    gc.collect()

    agent.engine.hangup(call_id).result(5)
    ended = agent.wait_call(CallState.ENDED, call_id)
    assert ended.answered_at is not None
