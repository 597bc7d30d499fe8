"""A Seatmate softphone (``softphone.engine.SipEngine``) in a process of its own.

pjsua2 allows one Endpoint per process, so a test that needs two Seatmate engines (the
agent's and the TL's, for monitoring) runs one of them here. It is the agent's engine as
the shipped app starts it: ``ToneAudio`` (a 1000 Hz "voice"), and the app's own grant
verifier (``app.workspace.monitoring.MonitorKeyVerifier``) built from the server's public
monitor key and the agent's SIP user.

Protocol: one JSON command per line on stdin, one JSON event per line on stdout.

commands  {"cmd": "start", "user", "domain", "password", "key", "mic_hz"?}
          {"cmd": "dial", "target"}            → {"event": "dialled", "call_id"}
          {"cmd": "hangup", "call_id"?}
          {"cmd": "capture", "seconds", "freqs"} → {"event": "captured", "levels": {hz: share}}
          {"cmd": "set_key", "key"}            → {"event": "key_set", "changed"}
          {"cmd": "quit"}
events    ready (after start: registered), registration, call, media, monitor, incoming, error
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_out = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    with _out:
        sys.stdout.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        sys.stdout.flush()


def main() -> int:
    from app.workspace.monitoring import MonitorKeyVerifier
    from softphone.account import AccountSettings
    from softphone.engine import EngineConfig, SipEngine
    from softphone.tone_audio import ToneAudio
    from tests.sip.peer import band_levels

    engine = SipEngine()
    verifier = MonitorKeyVerifier()
    probe: dict[str, Any] = {}

    def listener(kind: str, p: Any) -> None:
        if kind == "registration":
            emit("registration", registered=p.registered, code=p.code)
        elif kind == "call":
            emit("call", call_id=p.call_id, state=p.state.value, sip_code=p.sip_code)
        elif kind == "media":
            emit("media", call_id=p.call_id, active=p.active)
        elif kind == "monitor":
            emit("monitor", session_id=p.session_id, role=p.role, mode=p.mode, active=p.active, tl=p.tl,
                 reason=p.reason)
        elif kind == "incoming":
            emit("incoming", call_id=p.call_id)
        elif kind == "error":
            emit("error", where=p.where, message=p.message)

    engine.subscribe(listener)
    emit("hello")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
            cmd = c["cmd"]
            if cmd == "start":
                verifier.refresh(c.get("key"), c["user"])

                def factory(ep: Any, hz: int = int(c.get("mic_hz", 1000))) -> ToneAudio:
                    audio = ToneAudio(ep, hz)
                    probe["p"] = audio.probe
                    return audio

                settings = AccountSettings(user=c["user"], domain=c["domain"], password=c["password"],
                                           keepalive_s=2, probe_timeout_s=1.0, reg_retry_s=5)
                engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1",
                                          no_answer_timeout_s=20.0), settings, factory,
                             monitor_verifier=verifier)
                emit("started")
            elif cmd == "dial":
                emit("dialled", call_id=engine.dial(c["target"]).result(10))
            elif cmd == "hangup":
                engine.hangup(c.get("call_id")).result(10)
                emit("hung_up")
            elif cmd == "capture":
                pcm = probe["p"].capture(float(c["seconds"]))
                levels = band_levels(pcm, [float(f) for f in c["freqs"]])
                emit("captured", levels={str(int(k)): v for k, v in levels.items()}, frames=len(pcm) // 2)
            elif cmd == "set_key":
                emit("key_set", changed=verifier.refresh(c.get("key")))
            elif cmd == "quit":
                break
        except Exception as exc:  # report and go on: the test decides
            emit("failed", error=f"{type(exc).__name__}: {exc}")
    engine.stop()
    emit("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
