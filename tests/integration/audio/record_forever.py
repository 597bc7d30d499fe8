"""Helper process for the crash test: records two tones with CallRecorder until killed.

Run: python -m tests.integration.audio.record_forever DIR CALL_ID
Prints ``recording <path>`` once the recorder runs, then loops until SIGKILLed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pjsua2 as pj

from softphone.audio.recorder import CallRecorder


def tone(hz: int) -> pj.ToneGenerator:
    gen = pj.ToneGenerator()
    gen.createToneGenerator(16000, 1)
    desc = pj.ToneDesc()
    desc.freq1, desc.freq2, desc.on_msec, desc.off_msec = hz, 0, 30000, 0
    tones = pj.ToneDescVector()
    tones.append(desc)
    gen.play(tones, True)
    return gen


def main() -> None:
    directory, call_id = Path(sys.argv[1]), sys.argv[2]
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    cfg.medConfig.clockRate = 16000
    ep.libInit(cfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    agent, customer = tone(700), tone(1000)
    rec = CallRecorder(call_id, agent, customer, directory)
    print(f"recording {rec.path}", flush=True)
    deadline = time.monotonic() + 60  # bounded even if nobody kills us
    while time.monotonic() < deadline:
        ep.libHandleEvents(20)


if __name__ == "__main__":
    main()
