"""The agent hears the customer without a gap: every 20 ms of three seconds in a call carries the
customer's tone on the agent's speaker.

The call's RTP is received by the audio thread itself, right before each pump's bridge frames
(pjmedia's worker thread, which polled the media sockets 100 times a second, is stopped:
softphone/audio/master_port.py): a late or missed poll would show here as silent blocks (the
jitter buffer running dry) or another pitch (its loss concealment)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import end_call_and_stop, start_narrowband_agent, wait_until
from .pulse import RATE, dominant_hz

pytestmark = [pytest.mark.audio, pytest.mark.sip, pytest.mark.timeout(90)]

CUSTOMER_HZ = 1000


def test_the_customer_is_heard_in_every_block(qt_audio, peer_factory) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    peer = peer_factory("--port", "0", "--user", "cust", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    engine, audio = start_narrowband_agent(peer)
    player = pulse.play_tone("seat_builtin_feed", 600, 30)
    call_id = None
    try:
        call_id = engine.dial(peer.uri).result(10)
        wait_until(lambda: audio.stats().streams_open, 5, "the speakers to open")
        time.sleep(1.0)  # past the start: the speaker's reserve, the jitter buffer's first fill
        pulse.record("seat_speaker.monitor", 0.5)  # the recorder's own start (its first blocks come late)
        heard = pulse.record("seat_speaker.monitor", 3.0).astype(np.float64)
        block = RATE // 50
        n = len(heard) // block
        rms = np.sqrt(np.mean(heard[: n * block].reshape(n, block) ** 2, axis=1))
        assert np.median(rms) > 1000, f"the customer is not heard (median RMS {np.median(rms):.0f})"
        quiet = [int(i) * 20 for i in np.flatnonzero(rms < 0.25 * np.median(rms))]
        assert not quiet, f"blocks without the customer at ms {quiet[:10]} (median RMS {np.median(rms):.0f})"
        pitches = [dominant_hz(heard[i:i + RATE // 5]) for i in range(0, len(heard) - RATE // 5 + 1, RATE // 5)]
        assert all(abs(p - CUSTOMER_HZ) < 15 for p in pitches), pitches
        assert audio.stats().speaker_underruns == 0
    finally:
        end_call_and_stop(engine, audio, call_id, player)
