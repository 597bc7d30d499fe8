"""Stereo test recordings (agent left, customer right) and their upload, as the app sends them."""

from __future__ import annotations

import hashlib
import io
import wave

import numpy as np


def stereo_wav(left: np.ndarray, right: np.ndarray, rate: int) -> bytes:
    """A 16-bit PCM WAV from two channels of floats in -1..1."""
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def upload(api, call_id: str, data: bytes, chunk: int) -> None:
    """Several PATCHes of ``chunk`` bytes, then the checksum, as the uploader sends them."""
    offset = 0
    for i in range(0, len(data), chunk):
        offset = api.recording_patch(call_id, offset, data[i:i + chunk])
    api.recording_complete(call_id, hashlib.sha256(data).hexdigest(), len(data))
