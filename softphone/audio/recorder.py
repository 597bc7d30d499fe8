"""Call recording: one stereo WAV per call, agent left, customer right.

Why stereo: a team leader coaching from a recording wants to hear (and a tool
to measure) each side on its own: talk ratio, interruptions, who was silent.

Files are named by the engine's call id (a uuid), never by a phone number, in
the recordings folder of the data dir. They are written as the call goes (a
few KB per second) and the RIFF and data sizes in the header are patched every
second, so if the app crashes or is killed mid-call the file on disk is a
valid WAV holding everything up to the last second before the crash (what the
OS already has survives a killed process; no fsync is needed for that).

Threads: ``CallRecorder`` is created and stopped on the SIP thread (see
softphone/audio_api.py); the two ports' callbacks run on the thread that
clocks the bridge (pjmedia's null-device clock, or the Qt audio thread through
the master port), which ticks every port once per 20 ms frame, so the left and
right frames arrive in pairs and are interleaved as they come.
"""

from __future__ import annotations

import array
import logging
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pjsua2 as pj

from softphone.audio import pcm

log = logging.getLogger(__name__)

PATCH_EVERY_S = 1.0
_MAX_SKEW_FRAMES = 10  # one side stopped delivering: pad it with silence
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _header(rate: int, channels: int, data_len: int) -> bytes:
    block = channels * pcm.SAMPLE_WIDTH
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
            + b"data" + struct.pack("<I", data_len))


class StereoWavWriter:
    """Interleaves two mono 16-bit streams into a WAV file that is valid at every second."""

    def __init__(self, path: Path, rate: int, patch_every_s: float = PATCH_EVERY_S) -> None:
        self.path = path
        self.rate = rate
        self._patch_every = patch_every_s
        self._lock = threading.Lock()
        self._queues: tuple[deque[bytes], deque[bytes]] = (deque(), deque())
        self._silence = bytes(pcm.frame_bytes(rate))
        self._data_len = 0
        self._patched_len = 0
        self._last_patch = time.monotonic()
        self._file = open(path, "xb")  # never overwrite an existing recording
        self._file.write(_header(rate, 2, 0))
        self._file.flush()
        self.closed = False

    def push(self, channel: int, data: bytes) -> None:
        with self._lock:
            if self.closed:
                return
            own, other = self._queues[channel], self._queues[1 - channel]
            own.append(data)
            if len(own) > _MAX_SKEW_FRAMES and not other:
                other.append(bytes(len(own[0])))
            while own and other:
                left = self._queues[0].popleft()
                right = self._queues[1].popleft()
                self._write_pair(left, right)
            if time.monotonic() - self._last_patch >= self._patch_every:
                self._patch()

    def _write_pair(self, left: bytes, right: bytes) -> None:
        # Interleave 2-byte samples with array's strided slice assignment (C, no numpy; the
        # bytes are only moved, so the machine's byte order does not matter).
        n = min(len(left), len(right)) // 2
        stereo = array.array("h", bytes(4 * n))
        side = array.array("h")
        side.frombytes(memoryview(left)[: 2 * n])
        stereo[0::2] = side
        side = array.array("h")
        side.frombytes(memoryview(right)[: 2 * n])
        stereo[1::2] = side
        raw = stereo.tobytes()
        self._file.write(raw)
        self._data_len += len(raw)

    def _patch(self) -> None:
        """Make the header tell the truth about what is on disk now."""
        self._last_patch = time.monotonic()
        if self._data_len == self._patched_len:
            return
        f = self._file
        f.flush()  # the samples reach the OS before the header says they exist
        end = f.tell()
        f.seek(4)
        f.write(struct.pack("<I", 36 + self._data_len))
        f.seek(40)
        f.write(struct.pack("<I", self._data_len))
        f.seek(end)
        f.flush()
        self._patched_len = self._data_len

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            left, right = self._queues
            while left or right:  # the last frames of the longer side, padded
                self._write_pair(left.popleft() if left else self._silence,
                                 right.popleft() if right else self._silence)
            self._patch()
            self._file.close()
            self.closed = True

    @property
    def seconds(self) -> float:
        return self._data_len / (self.rate * 2 * pcm.SAMPLE_WIDTH)


class _ChannelPort(pj.AudioMediaPort):
    """A sink port that hands every frame it hears to one channel of the writer."""

    # Class-level default: pjmedia's clock thread may call back into a port whose
    # instance attributes are being torn down (or were never set); it then sees None
    # and drops the frame instead of raising on the clock thread.
    _writer: StereoWavWriter | None = None

    def __init__(self, writer: StereoWavWriter, channel: int, frame_len: int) -> None:
        super().__init__()
        self._channel = channel
        self._silence = bytes(frame_len)
        self._writer = writer  # last: a callback sees either no writer or a complete port

    def detach(self) -> None:
        """From now on frames are dropped (the clock thread may deliver one or two more
        after ``stopTransmit``: conference operations are queued to the next tick)."""
        self._writer = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        writer = self._writer
        if writer is None:
            return
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            data = pcm.vector_bytes(frame.buf, frame.size)
        else:
            data = self._silence  # keep both sides in step through silence
        writer.push(self._channel, data)  # a no-op once the writer is closed

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # nobody listens to a recorder
        frame.type = pj.PJMEDIA_FRAME_TYPE_NONE


def recording_path(directory: Path, call_id: str) -> Path:
    """``<dir>/<call id>.wav``; the id is sanitised, a clash gets ``-2``, ``-3``…"""
    stem = _SAFE.sub("_", call_id).strip("._") or "call"
    path = directory / f"{stem}.wav"
    n = 2
    while path.exists():
        path = directory / f"{stem}-{n}.wav"
        n += 1
    return path


class CallRecorder:
    """Implements ``softphone.audio_api.Recorder``. SIP thread only."""

    def __init__(self, call_id: str, agent_media: pj.AudioMedia, customer_media: pj.AudioMedia,
                 directory: Path, clock_rate: int = 16000) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = recording_path(directory, call_id)
        self.writer = StereoWavWriter(self.path, clock_rate)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, clock_rate, 1, pcm.FRAME_MS * 1000, 16)
        frame_len = pcm.frame_bytes(clock_rate)
        self._ports: list[_ChannelPort] = []
        self._links: list[tuple[pj.AudioMedia, _ChannelPort]] = []
        for channel, (media, name) in enumerate(((agent_media, "rec-agent"), (customer_media, "rec-customer"))):
            port = _ChannelPort(self.writer, channel, frame_len)
            port.createPort(f"{name}-{call_id[:8]}", fmt)
            media.startTransmit(port)
            self._ports.append(port)
            self._links.append((media, port))
        log.info("recording call %s to %s", call_id[:8], self.path.name)

    def stop(self) -> None:
        """Teardown order matters: the clock thread calls the ports until they leave the
        bridge, so 1) cut the conference links, 2) detach the ports from the writer (a frame
        still in flight is dropped), 3) remove the ports from the bridge (deleting them here,
        on the SIP thread, destroys their C++ half at once, see softphone/ownership.py),
        and only then 4) close the writer."""
        if self.writer.closed:
            return
        for media, port in self._links:
            try:
                media.stopTransmit(port)
            except pj.Error:  # the call's media may already be gone
                pass
        self._links.clear()
        for port in self._ports:
            port.detach()
        self._ports.clear()
        self.writer.close()
        log.info("recording %s closed (%.1f s)", self.path.name, self.writer.seconds)


class _NoRecorder:
    """Recording is off by policy for this call."""

    def stop(self) -> None:
        pass


def make_recorder_factory(directory: Path | Callable[[], Path], enabled: Callable[[], bool] = lambda: True,
                          clock_rate: int = 16000):  # -> softphone.audio_api.RecorderFactory
    """The engine's ``recorder_factory``: records every call while ``enabled()`` (the policy)
    says so, into ``directory`` (the data dir's ``recordings`` folder)."""

    def factory(call_id: str, agent_media: pj.AudioMedia, customer_media: pj.AudioMedia):  # type: ignore[no-untyped-def]
        if not enabled():
            return _NoRecorder()
        target = directory() if callable(directory) else directory
        return CallRecorder(call_id, agent_media, customer_media, Path(target), clock_rate)

    return factory
