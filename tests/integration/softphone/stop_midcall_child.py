"""Child process for test_softphone_shutdown: stop the engine while a call is up.

Runs in its own process because the bug it guards against (pjsua asserting while the engine
stops mid-call) aborts the whole process; the test must see that as a failure, not die of it.
Usage: python -m tests.integration.softphone.stop_midcall_child DOMAIN [--qt-audio] [RECORDINGS_DIR]
Prints one JSON line per step on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from softphone.audio.recorder import make_recorder_factory
from softphone.engine import SipEngine
from softphone.types import CallState
from tests.sip.agent import Agent, engine_config


def say(step: str, **kw: Any) -> None:
    print(json.dumps({"step": step, **kw}), flush=True)


def main(argv: list[str]) -> int:
    qt_audio = "--qt-audio" in argv
    args = [a for a in argv if a != "--qt-audio"]
    kamailio: Any = SimpleNamespace(domain=args[0])
    agent = Agent(SipEngine(), kamailio)
    kw: dict[str, Any] = {}
    if len(args) > 1:
        kw["recorder_factory"] = make_recorder_factory(Path(args[1]))
    audio = None
    if qt_audio:  # the app's Qt Multimedia bridge (whatever devices Qt sees here)
        from PySide6.QtCore import QCoreApplication

        from softphone.audio.qt_bridge import AudioEngine
        app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841  (Qt needs one)
        audio = AudioEngine()
        agent.unsubscribe = agent.engine.subscribe(lambda kind, payload: agent.events.add((kind, payload)))
        agent.engine.start(engine_config(), agent.settings(), audio.agent_audio_factory(), **kw)
    else:
        agent.start(**kw)
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    say("answered", call_id=call_id)
    time.sleep(0.5)  # talk for a moment (something to record), not a synchronisation
    t0 = time.monotonic()
    agent.engine.stop()  # no hangup first: what quitting the app mid-call does
    stop_s = time.monotonic() - t0
    if audio is not None:
        audio.close()  # after the engine, as the app does (README-softphone-audio)
    ended = agent.events.find(lambda e: e[0] == "call" and e[1].call_id == call_id
                              and e[1].state is CallState.ENDED)
    say("stopped", stop_s=round(stop_s, 3), ended=bool(ended))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
