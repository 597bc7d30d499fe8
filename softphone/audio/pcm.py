"""PCM helpers shared by the audio bridge and the recorder: frame bytes in and
out of pjsua2, levels, generated tones.

Why the ctypes read: pjsua2's ``MediaFrame.buf`` is a SWIG ``std::vector<unsigned
char>``; ``bytes(vec)`` walks it one element at a time through the SWIG iterator
(~280 µs for a 20 ms frame at 16 kHz, ~1.4 % of a core per direction). Reading
the vector's [begin, end) pointers and copying the block takes ~2 µs. The layout
(three pointers: begin, end, capacity end) is libstdc++'s and has not changed in
decades, and :func:`vector_bytes` checks itself once against the slow path and
falls back to it if the layout ever differs.

No numpy here (issue #16: the frozen app leaves numpy and its 28 MB OpenBLAS out): the samples
go through the stdlib's C loops instead: ``struct.unpack`` makes the ints in one call,
``math.hypot`` is the sum of squares. On a 20 ms frame that costs about what numpy's per-call
overhead did (6 vs 4 µs at 8 kHz); on the meters' 100 ms blocks 29 vs 4 µs, twice per 100 ms
(tests/bench/bench_audio_stdlib.py measures both in one run).
"""

from __future__ import annotations

import array
import ctypes
import math
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pjsua2 as pj

SAMPLE_WIDTH = 2  # 16-bit signed little-endian everywhere
FRAME_MS = 20

_fast_ok: bool | None = None
_BIG_ENDIAN = sys.byteorder == "big"


def _fast_bytes(vec: pj.ByteVector) -> bytes:
    begin, end = (ctypes.c_void_p * 2).from_address(int(vec.this))
    if not begin or not end:
        return b""
    return ctypes.string_at(begin, end - begin)


def _check_fast_path() -> bool:
    import pjsua2 as pj

    probe = bytes(range(256)) + bytes(range(255, -1, -1))
    try:
        return _fast_bytes(pj.ByteVector(probe)) == probe
    except Exception:  # any surprise in the layout: use the slow, safe path
        return False


def vector_bytes(vec: pj.ByteVector, size: int | None = None) -> bytes:
    """The bytes of a pjsua2 ByteVector (e.g. ``frame.buf``), fast."""
    global _fast_ok
    if _fast_ok is None:
        _fast_ok = _check_fast_path()
    data = _fast_bytes(vec) if _fast_ok else bytes(vec)
    return data if size is None else data[:size]


def frame_bytes(clock_rate: int, channels: int = 1) -> int:
    return clock_rate * FRAME_MS // 1000 * SAMPLE_WIDTH * channels


def samples(pcm: bytes | bytearray | memoryview) -> array.array:
    """16-bit little-endian PCM as an ``array('h')`` (native order; a trailing odd byte is dropped)."""
    out = array.array("h")
    out.frombytes(memoryview(pcm)[: len(pcm) // SAMPLE_WIDTH * SAMPLE_WIDTH])
    if _BIG_ENDIAN:
        out.byteswap()
    return out


def to_bytes(values: array.array) -> bytes:
    """An ``array('h')`` as 16-bit little-endian PCM."""
    if _BIG_ENDIAN:
        values = array.array("h", values)
        values.byteswap()
    return values.tobytes()


def levels(pcm: bytes) -> tuple[float, float]:
    """(rms, peak) of 16-bit mono PCM, both 0..1 of full scale."""
    if len(pcm) < SAMPLE_WIDTH:
        return 0.0, 0.0
    # One C call makes the ints (a tuple: max/min/hypot then walk it without allocating);
    # hypot(*s) is sqrt(sum of squares) in C, exact enough and without overflow.
    s = struct.unpack(f"<{len(pcm) // SAMPLE_WIDTH}h", memoryview(pcm)[: len(pcm) // SAMPLE_WIDTH * SAMPLE_WIDTH])
    peak = max(max(s), -min(s)) / 32768.0
    rms = math.hypot(*s) / math.sqrt(len(s)) / 32768.0
    return rms, peak


def _clip16(x: float) -> int:
    return -32768 if x < -32768 else 32767 if x > 32767 else int(x)


def sine(freqs: tuple[float, ...], seconds: float, rate: int, amplitude: float = 0.3) -> bytes:
    """A (multi-)sine, 16-bit mono, with 5 ms fades so loops do not click."""
    n = int(seconds * rate)
    if n <= 0:
        return b""
    steps = [2 * math.pi * f / rate for f in freqs]
    scale = amplitude * 32767 / max(1, len(freqs))
    fade = min(n // 2, int(0.005 * rate))
    sin = math.sin
    wave = [scale * sum(sin(w * i) for w in steps) for i in range(n)]
    if fade:
        step = 1.0 / (fade - 1) if fade > 1 else 0.0  # the ramp 0..1 inclusive, as linspace made it
        for i in range(fade):
            wave[i] *= i * step
            wave[n - 1 - i] *= i * step
    return to_bytes(array.array("h", [_clip16(x) for x in wave]))


def ring_pattern(rate: int) -> bytes:
    """One cycle of the built-in ringtone: 1 s of 440+480 Hz, then 2 s of silence."""
    return sine((440.0, 480.0), 1.0, rate, amplitude=0.4) + bytes(2 * rate * SAMPLE_WIDTH)


def load_wav_mono(path: str, rate: int) -> bytes:
    """A WAV file (8/16-bit PCM, any channels and rate) as 16-bit mono at ``rate``."""
    import wave

    with wave.open(path, "rb") as w:
        channels, width, src_rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 1:
        data = [(b - 128) * 256.0 for b in raw]
    elif width == 2:
        data = samples(raw).tolist()
    else:
        raise ValueError(f"unsupported sample width {width} in {path}")
    if channels > 1:
        chans = [data[c::channels] for c in range(channels)]
        data = [sum(frame) / channels for frame in zip(*chans, strict=False)]  # whole frames only
    if src_rate != rate and data:
        # Linear interpolation between neighbours (what np.interp did), clamped at the end.
        last = len(data) - 1
        ratio = src_rate / rate
        out = []
        for k in range(int(len(data) * rate / src_rate)):  # bounded by the file's length
            x = k * ratio
            i = int(x)
            if i >= last:
                out.append(data[last])
            else:
                f = x - i
                out.append(data[i] + (data[i + 1] - data[i]) * f)
        data = out
    # astype("<i2") truncated toward zero after the clip; int() does the same.
    return to_bytes(array.array("h", [_clip16(x) for x in data]))
