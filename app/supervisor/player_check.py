"""``seatmate -m app.supervisor.player_check RECORDING.wav``: plays a recording through the TL's
player (QAudioSink on the default output) for a moment at 1× and at 2×, then prints one JSON
line: which device, whether it played on the device or on the clock, the bytes the device took
and how far the recording advanced. scripts/smoke-frozen.sh runs it in the frozen build (whose
Qt Multimedia has no FFmpeg backend) to show the player needs none; also a support tool.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # __doc__: None under -OO
    parser.add_argument("wav", type=Path)
    parser.add_argument("--seconds", type=float, default=0.8, help="at each speed")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QCoreApplication, QEventLoop
    from PySide6.QtMultimedia import QMediaDevices

    from app.supervisor.recording_player import RecordingPlayer
    from app.supervisor.recording_stream import RecordingStream
    from sync.coaching import RangeChunk

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    data = args.wav.read_bytes()
    stream = RecordingStream("player-check")
    if not stream._store(RangeChunk(0, data, len(data))):  # the cache filled as the fetcher fills it
        print(json.dumps({"ok": False, "error": str(stream.error)}))
        return 1
    player = RecordingPlayer()
    player.load(stream)

    def run(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:  # bounded: seconds
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    def started() -> float:
        """Seconds until the device takes the first samples (at most 5; the clock: at once)."""
        t = time.monotonic()
        while player._sink is not None and player._sink.processedUSecs() == 0 and time.monotonic() - t < 5:
            run(0.01)
        return time.monotonic() - t

    def speed() -> float:
        p0, t0 = player.position, time.monotonic()
        run(args.seconds)
        return (player.position - p0) / (time.monotonic() - t0)

    player.play()
    start_1x = started()
    speed_1x = speed()
    player.set_rate(2.0)
    start_2x = started()
    speed_2x = speed()
    sink = player._sink
    report = {
        "ok": True,
        "device": QMediaDevices.defaultAudioOutput().description(),
        "on_device": sink is not None and not player._clock_mode,
        "device_took_ms": round(sink.processedUSecs() / 1000) if sink is not None else 0,
        "start_ms": [round(start_1x * 1000), round(start_2x * 1000)],
        "speed_1x": round(speed_1x, 2),
        "speed_2x": round(speed_2x, 2),
        "position_s": round(player.position, 2),
    }
    player.shutdown()
    print(json.dumps(report, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
