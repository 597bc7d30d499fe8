"""The agent's microphone reaches the customer whole when its PulseAudio source hands audio
over in large blocks.

Qt 6.11's PulseAudio source asks the server for no fragment size and keeps what arrives in
a ring of the buffer size we give it; audio that does not fit is dropped. A source that
delivers in the block size its readers ask for (a real capture device; here the built-in
microphone, a null sink's monitor, with the agent's voice played into the sink at 2 s
latency) then hands over blocks far larger than one pump: with an 80 ms ring the customer
heard the agent in pieces (72 % of 20 ms packets carried sound in the softphone bench).
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


def voiced_share(samples: np.ndarray, rate: int) -> float:
    """Share of 20 ms blocks that carry sound (RMS above ~-40 dBFS)."""
    block = rate // 50
    n = len(samples) // block
    blocks = samples[: n * block].astype(np.float64).reshape(n, block)
    return float(np.mean(np.sqrt(np.mean(blocks ** 2, axis=1)) > 300)) if n else 0.0


def test_microphone_in_large_blocks_reaches_the_customer_whole(qt_audio, peer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    peer = peer_factory("--port", "0", "--user", "cust", "--auto-answer", "200")
    engine, audio = start_narrowband_agent(peer)
    player = pulse.play_tone("seat_builtin_feed", 600, 40, latency_ms=2000)
    call_id = None
    try:
        call_id = engine.dial(peer.uri).result(10)
        wait_until(lambda: audio.stats().streams_open, 10, "the call's devices to open")
        # Past the source's start-up (a PulseAudio source opened by Qt delivers its first audio
        # ~2 s after it starts): from here on the microphone must run without a gap.
        wait_until(lambda: audio.stats().mic_bytes >= 8000 * 2, 10, "a second of microphone audio")
        time.sleep(0.5)
        first = audio.stats()
        path = tmp_path / "customer.wav"
        mark = peer.events.mark()
        peer.send(f"record {path}")
        time.sleep(3.0)
        peer.send("record_stop")
        peer.wait("recorded", timeout=5, start=mark)
        last = audio.stats()
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        samples = samples[rate // 5:]  # the recorder's own start
        assert has_tone(samples, 600)
        share = voiced_share(samples, rate)
        assert share >= 0.95, f"the customer heard the agent in {share:.0%} of 20 ms blocks"
        assert last.mic_underruns == first.mic_underruns, "the bridge ran out of the agent's voice"
    finally:
        end_call_and_stop(engine, audio, call_id, player)
