"""The TL's recording player on a real sound device (the private PulseAudio's default sink, read
back from its monitor): QAudioSink, no QMediaPlayer / FFmpeg. What the TL hears: the recording
at 1× at its pitch; at 2× the same pitch (not an octave up) while the position runs twice as
fast; the agent's channel muted → silence when only the agent speaks.

The stream's cache is filled as its fetcher fills it (``_store`` with the file's bytes): the
Range requests against the real server are tests/supervisor/test_recording_stream.py's part."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.supervisor.recording_player import RecordingPlayer
from app.supervisor.recording_stream import RecordingStream
from sync.coaching import RangeChunk
from tests.supervisor.recording_files import stereo_wav

from .pulse import dominant_hz

RATE = 8000
SECONDS = 30


def _stream(agent_hz: float, customer: bool) -> RecordingStream:
    t = np.arange(SECONDS * RATE) / RATE
    left = 0.5 * np.sin(2 * np.pi * agent_hz * t)
    right = 0.3 * np.sin(2 * np.pi * 300 * t) if customer else np.zeros_like(t)
    data = stereo_wav(left, right, RATE)
    stream = RecordingStream("player-test")
    assert stream._store(RangeChunk(0, data, len(data)))
    return stream


def _heard(qtbot, pulse, seconds: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Record the default sink's monitor while the GUI thread keeps pumping the player."""
    got: list[np.ndarray] = []
    threading.Thread(target=lambda: got.append(pulse.record("seat_hdmi.monitor", seconds)), daemon=True).start()
    qtbot.waitUntil(lambda: bool(got), timeout=int(seconds * 1000) + 10_000)
    return got[0]


# Qt Multimedia tries PipeWire's library first when the process makes its first sink (this test
# may be the first of the session to): on this machine it is not installed, and Qt says so.
@pytest.mark.qt_log_ignore(r"pipewire-0\.3")
def test_pitch_kept_at_2x_and_a_muted_agent_is_silent(qtbot, qt_audio) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    player = RecordingPlayer()
    stream = _stream(440.0, customer=False)
    try:
        player.load(stream)
        player.play()
        qtbot.wait(300)
        assert not player._clock_mode, "the player did not open the sound device"
        one = dominant_hz(_heard(qtbot, pulse, 0.8))
        assert abs(one - 440) < 15, one

        player.set_rate(2.0)
        qtbot.wait(300)
        p0, t0, d0 = player.position, time.perf_counter(), player._sink.processedUSecs()
        two = dominant_hz(_heard(qtbot, pulse, 1.0))
        p1, t1, d1 = player.position, time.perf_counter(), player._sink.processedUSecs()
        # Per second of sound the device played (a loaded machine may starve the GUI thread and
        # make the device wait: that is a gap, not a slower speed), and per second of wall clock.
        per_played = (p1 - p0) / ((d1 - d0) / 1e6)
        per_wall = (p1 - p0) / (t1 - t0)
        print(f"1×: {one:.0f} Hz; 2×: {two:.0f} Hz, the recording advanced {per_played:.2f} s per second "
              f"played ({per_wall:.2f} per second of wall clock)")
        assert abs(two - 440) < 15, f"2× sounds at {two:.0f} Hz (pitch not kept)"
        assert 1.8 < per_played < 2.2, per_played
        assert per_wall > 1.2, per_wall

        player.set_rate(1.0)
        stream.set_gains(0.0, 1.0)  # the agent muted; the customer says nothing here
        player.reread()
        qtbot.wait(300)
        muted = _heard(qtbot, pulse, 0.6)
        assert np.abs(muted.astype(np.int32)).max() < 200, np.abs(muted.astype(np.int32)).max()
        assert player.playing
    finally:
        player.shutdown()
