"""core.wav (the recordings' layout, shared by the streaming player and the server's peaks
endpoint), the server's peaks and the stream's per-channel volume on raw file bytes."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from app.supervisor.recording_stream import apply_gains
from core import wav


def _wav(frames: np.ndarray, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.astype("<i2").tobytes())
    return buf.getvalue()


def test_header_of_a_recording_and_of_one_cut_off():
    data = _wav(np.ones((8000, 2)) * 1000)
    fmt = wav.parse_header(data[:44], len(data))
    assert (fmt.channels, fmt.rate, fmt.data_start, fmt.data_len) == (2, 8000, 44, 32000)
    assert fmt.duration_s == 1.0 and fmt.offset_of(0.5) == 44 + 4000 * 4 and fmt.offset_of(9) == len(data)
    # Killed before the header was patched: data size 0 → up to the end of the file.
    cut = data[:40] + struct.pack("<I", 0) + data[44:]
    assert wav.parse_header(cut[:44], len(cut)).data_len == 32000
    with pytest.raises(wav.WavError):
        wav.parse_header(b"RIFF\0\0\0\0WAVEfmt ", 100)  # the header is not all there
    with pytest.raises(wav.WavError):
        wav.parse_header(data[:20] + struct.pack("<H", 3) + data[22:44], len(data))  # float, not PCM


def test_peaks_per_channel():
    left = np.r_[np.full(4000, 16384), np.zeros(4000)]
    right = np.r_[np.zeros(4000), np.full(4000, -8192)]
    from server.api.playback import waveform_peaks  # the server's (numpy; the client has none)

    got = waveform_peaks(np.stack([left, right], axis=1).astype("<i2").ravel(), 2, 4)
    assert got == [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.25, 0.25]]


def test_gains_apply_per_channel_from_any_sample_offset():
    frames = np.stack([np.arange(1, 101) * 10, np.arange(1, 101) * -7], axis=1)
    data = _wav(frames)
    # From the header through the first samples: the header is passed unchanged.
    out = apply_gains(data[:64], 0, wav.parse_header(data[:44], len(data)), (0.0, 1.0))
    fmt = wav.parse_header(data[:44], len(data))
    assert out[:44] == data[:44]
    s = np.frombuffer(out[44:64], dtype="<i2")
    assert not s[0::2].any() and np.array_equal(s[1::2], frames[:5, 1])
    # Starting on a right-channel sample (offset 46): the parity follows the file, not the slice.
    out = apply_gains(data[46:86], 46, fmt, (1.0, 0.5))
    s = np.frombuffer(out, dtype="<i2")
    assert np.array_equal(s[0::2], np.rint(frames[:10, 1] * 0.5)) and np.array_equal(s[1::2], frames[1:11, 0])
    assert apply_gains(data, 0, fmt, (1.0, 1.0)) is data
