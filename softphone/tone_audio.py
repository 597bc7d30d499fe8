"""A headless AgentAudio (see audio_api.py) for tests, benchmarks and machines without sound.

mic     = a pjsua2 ToneGenerator (a sine of ``mic_hz``; 0 Hz = silence)
speaker = a small AudioMediaPort that keeps what the agent hears in memory, so a
          test can ``capture()`` a stretch of it and look at its spectrum.
ringer  = counted, not played.

pjsua2 objects are created and closed on the SIP thread (the engine does that);
``capture_*`` only touch a Python buffer under a lock, from any thread.
"""

from __future__ import annotations

import threading
import time

import pjsua2 as pj

from .call import guarded

CLOCK_RATE = 16000  # the engine's conference bridge rate
FRAME_MS = 20


class ToneProbe:
    """The plain-Python side of ToneAudio that tests may hold and use from any thread: what the
    agent heard, ringer state. It holds no pjsua2 object (those live and die on the SIP thread)."""

    def __init__(self, mic_hz: int = 0) -> None:
        self._lock = threading.Lock()
        self._capturing = False
        self._chunks: list[bytes] = []
        self.frames_received = 0
        self.mic_hz = mic_hz
        self.ringing = False
        self.ring_count = 0

    def add_frame(self, data: bytes) -> None:
        self.frames_received += 1
        if not self._capturing:
            return
        with self._lock:
            self._chunks.append(data)

    def capture_start(self) -> None:
        with self._lock:
            self._chunks = []
            self._capturing = True

    def capture_stop(self) -> bytes:
        with self._lock:
            self._capturing = False
            data, self._chunks = b"".join(self._chunks), []
        return data

    def capture(self, seconds: float) -> bytes:
        """Record ``seconds`` of what the agent hears (16 kHz mono s16le). Any thread."""
        self.capture_start()
        time.sleep(seconds)  # the audio clock fills the buffer meanwhile
        return self.capture_stop()

    @property
    def speaker_frames(self) -> int:
        return self.frames_received


class _SpeakerProbe(pj.AudioMediaPort):
    """Sink port: hands received frames to the probe; answers silence when asked for audio."""

    def __init__(self, probe: ToneProbe) -> None:
        super().__init__()
        self.probe = probe

    @guarded
    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(bytes(CLOCK_RATE * FRAME_MS // 1000 * 2))

    @guarded
    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        probe = self.probe
        if not probe._capturing:
            probe.frames_received += 1
            return
        data = bytes(frame.buf) if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO else b""
        probe.add_frame(data or bytes(CLOCK_RATE * FRAME_MS // 1000 * 2))


class ToneAudio:
    """Implements softphone.audio_api.AgentAudio without any sound device."""

    def __init__(self, endpoint: pj.Endpoint, mic_hz: int = 0) -> None:
        self.probe = ToneProbe(mic_hz)
        self.closed = False
        self._tone = pj.ToneGenerator()
        self._tone.createToneGenerator(CLOCK_RATE, 1)
        self._play(mic_hz)
        self._speaker = _SpeakerProbe(self.probe)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, CLOCK_RATE, 1, FRAME_MS * 1000, 16)
        self._speaker.createPort("speaker-probe", fmt)

    @classmethod
    def factory(cls, mic_hz: int = 0):  # -> AudioFactory
        return lambda ep: cls(ep, mic_hz)

    # ---- AgentAudio ----------------------------------------------------------------
    def mic_media(self) -> pj.AudioMedia:
        return self._tone

    def speaker_media(self) -> pj.AudioMedia:
        return self._speaker

    def ringer_start(self) -> None:
        if not self.probe.ringing:
            self.probe.ring_count += 1
        self.probe.ringing = True

    def ringer_stop(self) -> None:
        self.probe.ringing = False

    # Read-only views for code that holds the ToneAudio itself (the SIP thread, benchmarks).
    @property
    def mic_hz(self) -> int:
        return self.probe.mic_hz

    @property
    def ringing(self) -> bool:
        return self.probe.ringing

    @property
    def ring_count(self) -> int:
        return self.probe.ring_count

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._tone.stop()
        del self._tone
        del self._speaker

    # ---- test helpers --------------------------------------------------------------
    def set_mic_tone(self, hz: int) -> None:
        """SIP thread only (use engine.call_soon)."""
        self.probe.mic_hz = hz
        self._play(hz)

    def _play(self, hz: int) -> None:
        self._tone.stop()
        if not hz:
            return
        desc = pj.ToneDesc()
        desc.freq1 = hz
        desc.freq2 = 0
        desc.on_msec = 30000
        desc.off_msec = 0
        desc.volume = 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        self._tone.play(tones, True)

    def capture(self, seconds: float) -> bytes:
        return self.probe.capture(seconds)

    @property
    def speaker_frames(self) -> int:
        return self.probe.frames_received
