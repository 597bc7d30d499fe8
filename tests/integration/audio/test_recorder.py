"""Call recordings: stereo (agent left, customer right), named by call id, and
still playable after the process is killed mid-call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from softphone.audio.recorder import StereoWavWriter, recording_path

from .pulse import has_tone

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(60)


def test_writer_interleaves_and_keeps_sides_in_step(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    w = StereoWavWriter(path, 16000)
    left, right = np.full(320, 1000, "<i2").tobytes(), np.full(320, -2000, "<i2").tobytes()
    for _ in range(5):
        w.push(0, left)
        w.push(1, right)
    w.push(0, left)  # the customer's last frame never came
    w.close()
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getframerate(), f.getsampwidth()) == (2, 16000, 2)
        data = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, 2)
    assert len(data) == 6 * 320
    assert (data[:, 0] == 1000).all()
    assert (data[:5 * 320, 1] == -2000).all() and (data[5 * 320:, 1] == 0).all()


def test_file_names_are_call_ids_never_numbers(tmp_path: Path) -> None:
    assert recording_path(tmp_path, "4f1c2b9a0e").name == "4f1c2b9a0e.wav"
    assert recording_path(tmp_path, "../../etc/x@host").name == "etc_x_host.wav"
    (tmp_path / "abc.wav").write_bytes(b"")
    assert recording_path(tmp_path, "abc").name == "abc-2.wav"


def test_recording_survives_sigkill(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.audio.record_forever", str(tmp_path), "c0ffee"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        lines = []
        for _ in range(50):  # pjlib prints its start-up banner on stdout first
            lines.append(proc.stdout.readline())
            if lines[-1].startswith("recording ") or not lines[-1]:
                break
        assert lines[-1].startswith("recording "), lines
        time.sleep(3.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    path = tmp_path / "c0ffee.wav"
    with wave.open(str(path)) as f:  # opens: the header is valid
        assert f.getnchannels() == 2
        seconds = f.getnframes() / f.getframerate()
        data = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, 2)
    assert 2.0 <= seconds <= 4.0, seconds  # everything up to the last patch (once a second)
    assert has_tone(data[:, 0], 700) and has_tone(data[:, 1], 1000)  # agent left, customer right


def test_ring_buffer_counts_underruns_and_overruns() -> None:
    from softphone.audio.ring import FrameRing

    ring = FrameRing(capacity=100, prime=40)
    assert ring.read(20) is None and ring.underruns == 0  # not primed yet: start-up, not a glitch
    ring.write(bytes(range(40)))
    assert ring.read(20) == bytes(range(20))
    assert ring.read(30) is None and ring.underruns == 1  # starved once primed
    ring.write(bytes(120))
    assert ring.available() == 100 and ring.overruns == 1  # the oldest audio was dropped
    ring.write(b"\x01")  # trimming drops whole samples (an even count), never half of one
    assert (100 + 1 - ring.available()) % 2 == 0
