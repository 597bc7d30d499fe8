"""The TL player's parts that need no sound device (~0.3 s): the stream never waits for the
network (a missing range is asked for and ``None`` answered), and the 2× time-stretch keeps the
pitch (zero crossings per second of output) while it reads twice as much of the recording."""

from __future__ import annotations

import array
import math
import struct
from itertools import pairwise

from app.supervisor.recording_player import TimeStretch
from app.supervisor.recording_stream import BLOCK, RecordingStream
from sync.coaching import RangeChunk


def _wav(seconds: float, rate: int = 8000, hz: float = 440.0) -> bytes:
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<hh", round(12000 * math.sin(2 * math.pi * hz * i / rate)), 0) for i in range(n))
    header = (b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, 2, rate, rate * 4, 4, 16) + b"data" + struct.pack("<I", len(frames)))
    return header + frames


def test_a_read_of_a_range_not_here_asks_for_it_and_does_not_wait() -> None:
    data = _wav(20.0)  # 640 KB: 10 blocks
    stream = RecordingStream("unit")
    assert stream._store(RangeChunk(0, data[:BLOCK], len(data)))  # only the first block arrived
    assert stream.read_pcm(44, 4000) == data[44:4044]
    # Far ahead (a seek): nothing there yet → None at once, and that block is the next request.
    at = 5 * BLOCK + 4
    assert stream.read_pcm(at, 4000) is None
    assert stream.next_job() == (5 * BLOCK, 4 * BLOCK)
    assert stream.done(5 * BLOCK, 4 * BLOCK, RangeChunk(5 * BLOCK, data[5 * BLOCK:9 * BLOCK], len(data)), None)
    assert stream.read_pcm(at, 4000) == data[at:at + 4000]
    # A read across a block that is not here stops before it; past the end: b"".
    assert stream.read_pcm(9 * BLOCK - 8, 100) == data[9 * BLOCK - 8:9 * BLOCK]
    assert stream.read_pcm(len(data), 100) == b""
    stream.set_gains(0.0, 1.0)
    muted = stream.read_pcm(44, 400)
    assert muted is not None and not any(array.array("h", muted)[0::2])


def _crossings_per_s(samples: array.array, rate: int) -> float:
    left = samples[0::2]
    flips = sum(1 for a, b in pairwise(left) if (a < 0) != (b < 0))
    return flips / (len(left) / rate)


def test_2x_reads_twice_as_much_at_the_same_pitch() -> None:
    rate = 8000
    data = _wav(4.0, rate)
    pcm = array.array("h")
    pcm.frombytes(data[44:])
    stretch = TimeStretch(2.0, rate, 2)
    out = array.array("h")
    pos = 0  # frames
    while (pos + stretch.input_frames) * 2 <= len(pcm):  # bounded: the recording
        out.extend(stretch.grain_from(pcm[pos * 2:(pos + stretch.input_frames) * 2]))
        pos += stretch.advance
    heard_s = len(out) / 2 / rate
    assert abs(pos / rate / heard_s - 2.0) < 0.02  # the recording ran twice as fast
    assert abs(_crossings_per_s(out, rate) - 880) < 25  # 440 Hz: two zero crossings a period
    # What decimation would do instead (every other frame): an octave up.
    assert abs(_crossings_per_s(_decimate(pcm), rate) - 1760) < 40


def _decimate(pcm: array.array) -> array.array:
    """Every other stereo frame: 2× by dropping samples."""
    out = array.array("h")
    for i in range(0, len(pcm) - 3, 4):  # bounded: the recording
        out.extend(pcm[i:i + 2])
    return out
