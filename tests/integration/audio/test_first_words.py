"""The customer hears the agent's first words: the microphone reaches the far end soon after
the answer.

The agent speaks (a tone plays into the built-in microphone) from before the call; the
customer peer records what it hears from the moment its media is active (the answer). The
devices are opened lazily, when a call's media enters the bridge: each step between the
answer and the first sound (noticing the busy bridge, opening the streams, PulseAudio
starting the source, the mic reserve, RTP) cuts off the start of the agent's greeting.
Measured here: 180-200 ms; 380-440 ms before the engine's linking of the call nudged the
audio thread and the devices opened in that same housekeeping (they waited for the next
100 ms housekeeping, then for one more round, until the pump had asked for the agent's voice).

The microphone's feed plays at 40 ms latency and runs for a while before the call: a null
sink's monitor then delivers like a capture device. (A player started together with the
reader, or at a long latency, makes the monitor hand over its first audio 1-2 s late: an
artefact of the fake device, not of Qt or the app; see docs/audio.md.)
"""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from .conftest import end_call_and_stop, start_narrowband_agent, wait_until
from .pulse import has_tone

pytestmark = [pytest.mark.audio, pytest.mark.sip, pytest.mark.timeout(90)]

FIRST_WORDS_MS = 300  # the customer hears the agent within this long after answering
TONE_HZ = 600


def first_sound_ms(samples: np.ndarray, rate: int) -> float | None:
    """Start of the first 20 ms block that carries sound (RMS above ~-40 dBFS)."""
    block = rate // 50
    n = len(samples) // block
    rms = np.sqrt(np.mean(samples[: n * block].astype(np.float64).reshape(n, block) ** 2, axis=1))
    loud = np.flatnonzero(rms > 300)
    return float(loud[0] * 20) if loud.size else None


def test_customer_hears_the_agent_soon_after_answering(qt_audio, peer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    recording = tmp_path / "customer.wav"
    # Records from its media-active on: the WAV's first sample is the answer.
    peer = peer_factory("--port", "0", "--user", "cust", "--auto-answer", "200", "--record", str(recording))
    engine, audio = start_narrowband_agent(peer)
    # The agent is already talking when the customer picks up.
    player = pulse.play_tone("seat_builtin_feed", TONE_HZ, 30, latency_ms=40)
    call_id = None
    try:
        time.sleep(2.5)  # the player runs steadily before the call
        call_id = engine.dial(peer.uri).result(10)
        peer.wait("media", timeout=10, active=True)
        wait_until(lambda: audio.stats().mic_bytes >= 8000 * 2, 10, "a second of microphone audio")
        time.sleep(1.0)
        mark = peer.events.mark()
        peer.send("record_stop")
        peer.wait("recorded", timeout=5, start=mark)
    finally:
        end_call_and_stop(engine, audio, call_id, player)
    with wave.open(str(recording), "rb") as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    first = first_sound_ms(samples, rate)
    assert first is not None, "the customer never heard the agent"
    start = int(first * rate / 1000)
    assert has_tone(samples[start:start + rate // 2], TONE_HZ), "what the customer heard first was not the agent"
    assert first <= FIRST_WORDS_MS, f"the customer first heard the agent {first:.0f} ms after answering"
