"""Seatmate's softphone as a stand-alone UA process for the benchmark.

The real thing: a QApplication, the SIP engine (softphone.engine) and the Qt
audio bridge (softphone.audio) on real PulseAudio devices (the bench's private
daemon, via PULSE_SERVER). Optionally the GUI thread is kept busy in pure
Python for a fraction of the time, like a heavy screen redraw.

Commands on stdin: ``dial URI`` · ``hangup`` · ``stats`` · ``quit``.
Events on stdout, one JSON object a line: ready · dialed{t} · answered · ended
· stats{...} · error{msg}.

Run: python -m tests.bench.seatmate_ua [--gui-busy 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import asdict

_OUT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # pjlib prints its start-up banner on fd 1: keep stdout for events
_LOCK = threading.Lock()


def emit(event: str, **fields: object) -> None:
    with _LOCK:
        _OUT.write(json.dumps({"event": event, **fields}) + "\n")
        _OUT.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gui-busy", type=float, default=0.0, help="fraction of GUI-thread time spent busy")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--audio", choices=("qt", "tone"), default="qt",
                    help="qt = the real Qt audio bridge; tone = headless (to split the engine's cost)")
    ap.add_argument("--clock-rate", type=int, default=16000,
                    help="conference bridge rate: 8000 for narrowband (PCMU/PCMA) calls, 16000 for wideband")
    ap.add_argument("--slot-times", action="store_true",
                    help="report the CPU time spent inside the audio worker's Python methods (stats)")
    ap.add_argument("--sip-profile", metavar="FILE", help="cProfile the SIP thread's tick into FILE (pstats)")
    args = ap.parse_args()

    from PySide6.QtCore import QObject, QTimer, Signal
    from PySide6.QtWidgets import QApplication

    from softphone.account import AccountSettings
    from softphone.audio.devices import DevicePreferences
    from softphone.audio.qt_bridge import AudioEngine
    from softphone.engine import EngineConfig, SipEngine
    from softphone.tone_audio import ToneAudio
    from softphone.types import CallState

    slot_cpu: dict[str, list[float]] = {}
    if args.slot_times:  # CPU spent inside our audio- and SIP-thread Python, per method (the rest is Qt/pjmedia/GIL)
        from softphone.audio import qt_bridge

        def timed(name: str, fn):  # type: ignore[no-untyped-def]
            acc = slot_cpu.setdefault(name, [0.0, 0])

            def wrapper(*a, **k):  # type: ignore[no-untyped-def]
                t = time.thread_time()
                try:
                    return fn(*a, **k)
                finally:
                    acc[0] += time.thread_time() - t
                    acc[1] += 1
            return wrapper

        from softphone import core as sip_core
        from softphone.audio import master_port

        for cls, meths in ((qt_bridge._AudioWorker, ("_on_pump", "_on_housekeeping", "_tick_bridge",
                                                      "_pump_speaker", "_pump_mic", "_emit_levels",
                                                      "_watch_sink", "_frames_due")),
                           (master_port.MasterPortClock, ("run_native", "tick_many")),
                           (sip_core.SipCore, ("tick", "watch_media", "wait_ms"))):
            for meth in meths:
                setattr(cls, meth, timed(meth, getattr(cls, meth)))

        class _TimedEvents:  # the audio thread's once-a-pump event handling (qt_bridge._pump_loop)
            processEvents = staticmethod(timed("processEvents", qt_bridge.QCoreApplication.processEvents))

        qt_bridge.QCoreApplication = _TimedEvents  # type: ignore[misc,assignment]
    if args.sip_profile:  # cProfile of the SIP thread's own Python (the loop's tick), dumped at exit
        import atexit
        import cProfile

        from softphone import core as sip_core

        prof = cProfile.Profile()
        plain_tick = sip_core.SipCore.tick
        sip_core.SipCore.tick = lambda self: prof.runcall(plain_tick, self)  # type: ignore[method-assign]
        atexit.register(prof.dump_stats, args.sip_profile)

    app = QApplication(sys.argv[:1])
    audio = AudioEngine(prefs=DevicePreferences(speaker=("Speakers",), microphone=("Bench Mic",)),
                        clock_rate=args.clock_rate)
    engine = SipEngine()
    state = {"call": None}

    def on_event(kind: str, payload: object) -> None:  # SIP thread
        if kind == "call":
            if payload.state is CallState.ANSWERED:  # type: ignore[attr-defined]
                emit("answered", t=payload.answered_at)  # type: ignore[attr-defined]
            elif payload.state is CallState.ENDED:  # type: ignore[attr-defined]
                emit("ended", code=payload.sip_code)  # type: ignore[attr-defined]

    engine.subscribe(on_event)
    # No registrar in the bench (like baresip's regint=0): REGISTER goes to a closed port.
    engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", sip_port=args.port,
                              log_level=1, clock_rate=args.clock_rate),
                 AccountSettings(user="bench", domain="127.0.0.1:9"),
                 audio.agent_audio_factory() if args.audio == "qt" else ToneAudio.factory(300))

    class Commands(QObject):
        line = Signal(str)

    commands = Commands()

    def handle(line: str) -> None:
        parts = line.split()
        if not parts:
            return
        try:
            if parts[0] == "dial":
                t = time.time()
                fut = engine.dial(parts[1])
                emit("dialed", t=t)
                state["call"] = fut.result(10)
            elif parts[0] == "hangup":
                engine.hangup(state["call"]).result(5)
            elif parts[0] == "stats":
                emit("stats", **asdict(audio.stats()),
                     **({"slot_cpu_s": {k: [round(v[0], 4), v[1]] for k, v in slot_cpu.items()}} if slot_cpu else {}))
            elif parts[0] == "quit":
                app.quit()
        except Exception as exc:  # a bench run reports, never hangs
            emit("error", msg=f"{parts[0]}: {exc}")

    commands.line.connect(handle)

    def read_stdin() -> None:
        for raw in sys.stdin:
            commands.line.emit(raw.strip())
        commands.line.emit("quit")

    threading.Thread(target=read_stdin, daemon=True).start()

    if args.gui_busy > 0:
        period = 0.1
        busy = QTimer()

        def spin() -> None:  # pure Python on the GUI thread: holds the GIL like real UI work
            end = time.perf_counter() + period * args.gui_busy
            x = 0
            while time.perf_counter() < end:
                x += 1

        busy.timeout.connect(spin)
        busy.start(int(period * 1000))

    emit("ready", pid=os.getpid())
    app.exec()
    for cid in list(engine.calls):
        try:
            engine.hangup(cid).result(5)
        except Exception:
            pass
    deadline = time.monotonic() + 5
    while engine.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    engine.stop()
    audio.close()
    emit("bye")


if __name__ == "__main__":
    main()
