"""The SIP thread sleeps until something happens (issue #16: CPU in a call).

It used to poll ``libHandleEvents(50)``: 20 wake-ups a second, idle or in a call, each one
a trip through Python (~0.3 % of a core in the softphone benchmark). Now commands and
released objects wake it, pjsip's timers bound its wait, and the loop's own deadlines (call
timeouts, the media watch, the registrar probe) shorten it. These tests count the thread's
context switches from /proc: they fail with the polling loop.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from softphone.types import CallState
from tests.sip.agent import CUSTOMER_HZ, Agent

pytestmark = pytest.mark.sip


def _sip_thread_switches() -> int:
    """Context switches so far of this process's SIP thread (named by the engine)."""
    for task in Path("/proc/self/task").iterdir():
        if (task / "comm").read_text().strip() == "seatmate-sip":
            status = (task / "status").read_text()
            return sum(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
    raise AssertionError("no thread named seatmate-sip: the engine did not name its thread")


def _wakeups_per_s(seconds: float) -> float:
    before = _sip_thread_switches()
    time.sleep(seconds)
    return (_sip_thread_switches() - before) / seconds


def test_sip_thread_sleeps_when_idle_and_in_a_call_but_dials_at_once(agent: Agent, peers) -> None:
    peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    agent.start()
    agent.wait_registered()
    time.sleep(0.3)  # registration's own traffic settles
    idle = _wakeups_per_s(2.0)
    assert idle <= 4, f"SIP thread woke {idle:.1f} times a second while idle (polling?)"

    t0 = time.monotonic()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    assert time.monotonic() - t0 < 2.0  # a command still wakes the thread at once
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    in_call = _wakeups_per_s(2.0)
    # At most: the 500 ms cap for pjsua2's queued media-thread callbacks, the 1 s media watch,
    # GIL hand-overs. The polling loop made >= 20.
    assert in_call <= 8, f"SIP thread woke {in_call:.1f} times a second in a call (polling?)"
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)

