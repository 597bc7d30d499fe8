"""A call recording streamed from the server to the player, one Range request at a time
(issue #13: "streamed with range requests, not downloaded whole").

:class:`RecordingStream` is a random-access cache of the recording on the server. It keeps the
bytes it has fetched in 64 KiB blocks; :meth:`RecordingStream.read_pcm` serves samples from the
cache and never waits: when the block is not here it asks its fetcher for a Range request there
(256 KiB) and answers ``None`` (the player tries again on its next tick); a seek is a read at the
new offset, so it becomes a Range request at that offset. While the player reads, the next
512 KiB are fetched ahead so playback does not stall on the network. Playback can begin as soon
as the first range (the WAV header and the first seconds) arrived: ``on_ready`` is called then.

Per-channel volume is applied to the samples as they are served (the recordings are 16-bit PCM,
agent left, customer right: core.wav), from the raw bytes kept in the cache, so a change applies
to everything read after it; the player re-reads from its position (served from the cache) so it
is heard at once instead of after what the sound device buffered.

Threads (why there is a lock and a condition):
- :class:`RangeFetcher` is one long-lived thread (per CoachingService) with one HTTP client of
  its own (a ``BorrowedClient``: the sync session's token, refreshed through it), kept open
  from one recording to the next: no request ever runs on the GUI thread, and opening a
  recording costs one Range request on a warm connection, not a new client (making an httpx
  client alone took 150–200 ms here).
- ``read_pcm`` is called by the player (app/supervisor/recording_player.py) on the GUI thread.
  It only touches the cache under ``_cond`` and never waits for the fetcher (a GUI thread that
  waited for the network would freeze the window); the fetcher holds no lock while it is on the
  network and never two at once.
- ``on_ready``/``on_failed`` reach the GUI thread through ``app.background.on_gui``.
"""

from __future__ import annotations

import array
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from app.background import on_gui
from core import wav
from sync.client import NetworkError
from sync.coaching import RangeChunk

log = logging.getLogger(__name__)

BLOCK = 64 * 1024  # the cache's unit (even: a block never splits a 16-bit sample)
FETCH = 4 * BLOCK  # one Range request: 256 KiB = 8 s of 8 kHz stereo, 4 s at 16 kHz
AHEAD = 8 * BLOCK  # kept fetched (or on its way) past the player's read position
WAIT_S = 20.0  # the player waits at most this long for a range; then the stream fails (the UI says why)
RETRIES = 2  # a Range request that failed on the network is tried this many more times
_BIG_ENDIAN = sys.byteorder == "big"
RECENT = 16  # the last reads served, as served (diagnostics and tests: what the player got)


class RangeReader(Protocol):
    """Range requests (``TeamLeadClient.read_range``) on the fetcher thread's own client."""

    def read(self, call_id: str, start: int, length: int) -> RangeChunk: ...

    def close(self) -> None: ...


def apply_gains(raw: bytes, start: int, fmt: wav.WavFormat, gains: tuple[float, float]) -> bytes:
    """``raw`` (the file's bytes from offset ``start``) with channel 0 (agent) scaled by
    ``gains[0]`` and channel 1 (customer) by ``gains[1]``; the header and whatever is outside the
    samples unchanged. ``start`` and the end should fall on sample boundaries (a half sample at
    either edge is passed through as it is)."""
    if gains == (1.0, 1.0) or fmt.channels != 2:
        return raw
    lo, hi = max(start, fmt.data_start), min(start + len(raw), fmt.data_end)
    lo += (lo - fmt.data_start) & 1
    hi -= (hi - fmt.data_start) & 1
    if hi - lo < 2:
        return raw
    samples = array.array("h")
    samples.frombytes(memoryview(raw)[lo - start:hi - start])
    if _BIG_ENDIAN:
        samples.byteswap()
    first = ((lo - fmt.data_start) // 2) % 2  # 0: the slice starts on an agent (left) sample
    for channel, gain in enumerate(gains):
        if gain == 1.0:
            continue
        lane = slice((channel - first) % 2, None, 2)
        if gain == 0.0:  # muted: a C fill, no per-sample work
            samples[lane] = array.array("h", bytes(2 * len(range(*lane.indices(len(samples))))))
        elif gain < 1.0:  # round half to even, as numpy's rint did; |x * gain| <= 32768 fits
            samples[lane] = array.array("h", [round(x * gain) for x in samples[lane]])
        else:
            samples[lane] = array.array("h", [max(-32768, min(32767, round(x * gain))) for x in samples[lane]])
    if _BIG_ENDIAN:
        samples.byteswap()
    return raw[: lo - start] + samples.tobytes() + raw[hi - start:]


class RecordingStream:
    """The recording ``call_id`` on the server as a random-access cache of its bytes (see the
    module docstring for the threads); a :class:`RangeFetcher` it is attached to fills it."""

    def __init__(self, call_id: str, *,
                 on_ready: Callable[[RecordingStream], None] | None = None,
                 on_failed: Callable[[BaseException], None] | None = None) -> None:
        self.call_id = call_id
        self.fmt: wav.WavFormat | None = None
        self._on_ready = on_ready
        self._on_failed = on_failed
        self._cond = threading.Condition()
        self._blocks: dict[int, bytes] = {}
        self._pending: set[int] = set()
        self._demand: int | None = 0  # the block a read waits for (or a seek went to); first the header
        self._ahead: list[int] = []  # blocks wanted ahead of the read position
        self._size: int | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._gains = (1.0, 1.0)
        self._waiting: tuple[int, float] | None = None  # (block, since) a read found missing
        self.fetched_bytes = 0
        self.requests: list[tuple[int, int]] = []  # (start, bytes) of each Range answer, in order
        # (offset, gains, bytes, perf_counter) of the last reads served
        self.recent: deque[tuple[int, tuple[float, float], bytes, float]] = deque(maxlen=RECENT)
        self.opened_at = time.perf_counter()
        self.ready_at: float | None = None

    # -- the player's side (GUI thread) ------------------------------------------------------
    def size(self) -> int:
        return self._size or 0

    def read_pcm(self, offset: int, length: int) -> bytes | None:
        """The recording's samples from file offset ``offset`` (inside the data, on a sample
        boundary), at most ``length`` bytes, with the channel gains applied; ``b""`` past the
        end; ``None`` when the bytes are not here yet (their Range request is asked for; call
        again later). Never waits."""
        fmt = self.fmt
        if fmt is None or self._closed or self._error is not None:
            return None
        offset = max(offset, fmt.data_start)
        end = min(fmt.data_end, offset + max(0, length))
        end -= (end - offset) % 2
        if end <= offset:
            return b""
        first, last = offset // BLOCK, (end - 1) // BLOCK
        with self._cond:
            parts = []
            for b in range(first, last + 1):  # bounded: length / BLOCK + 1
                block = self._blocks.get(b)
                if block is None:
                    break
                parts.append(block)
            timed_out = not parts and self._ask(first)
            if not parts and not timed_out:
                return None
            if parts:
                self._waiting = None
                self._want_ahead(first + len(parts) - 1)
            gains = self._gains
        if timed_out:  # no answer in time: the stream ends, and the UI is told why
            log.warning("recording %s: no answer for the range at %d within %.0f s",
                        self.call_id[:8], offset, WAIT_S)
            self._fail(NetworkError(f"recording {self.call_id[:8]}: no answer within {WAIT_S:.0f} s"))
            return None
        base = first * BLOCK
        raw = parts[0] if len(parts) == 1 else b"".join(parts)
        end = min(end, base + len(raw))
        end -= (end - offset) % 2
        data = apply_gains(raw[offset - base:end - base], offset, fmt, gains)
        self.recent.append((offset, gains, data, time.perf_counter()))
        return data

    def _ask(self, b: int) -> bool:
        """Block ``b`` is wanted now (under _cond). True: it has been wanted for ``WAIT_S``."""
        now = time.monotonic()
        if self._waiting is None or self._waiting[0] != b:
            self._waiting = (b, now)
        if self._demand != b:
            self._ahead.clear()  # a seek: fetch there first; what was ahead of the old place is not
            self._demand = b
            self._cond.notify_all()
        return now - self._waiting[1] > WAIT_S

    def _want_ahead(self, b: int) -> None:
        """Blocks after ``b`` up to ``AHEAD`` that are neither here nor coming (under _cond)."""
        last = ((self._size or 0) - 1) // BLOCK
        want = [x for x in range(b + 1, min(last, b + AHEAD // BLOCK) + 1)
                if x not in self._blocks and x not in self._pending]
        if want and want != self._ahead:
            self._ahead = want
            self._cond.notify_all()

    # -- the GUI's side -----------------------------------------------------------------------
    def set_gains(self, agent: float, customer: float) -> None:
        """Channel volumes (0..1): agent (left), customer (right); applies to the next read."""
        self._gains = (max(0.0, min(1.0, float(agent))), max(0.0, min(1.0, float(customer))))

    @property
    def gains(self) -> tuple[float, float]:
        return self._gains

    @property
    def duration_s(self) -> float:
        return self.fmt.duration_s if self.fmt else 0.0

    @property
    def error(self) -> BaseException | None:
        return self._error

    def cached_bytes(self) -> int:
        with self._cond:
            return sum(len(v) for v in self._blocks.values())

    def shutdown(self) -> None:
        """Stop fetching (call after the player let go of it); a read after this gets ``None``."""
        with self._cond:
            self._closed = True
            self._blocks.clear()  # a let-go stream keeps no audio in memory
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the fetcher thread ---------------------------------------------------------------------
    def _next_request(self) -> tuple[int, int] | None:
        """(first block, block count) of the next Range request, or None (under _cond)."""
        last = None if self._size is None else max(0, (self._size - 1) // BLOCK)
        for first in ([self._demand] if self._demand is not None else []) + self._ahead:
            if first in self._blocks or first in self._pending or (last is not None and first > last):
                continue
            n = 1
            while (n < FETCH // BLOCK and (last is None or first + n <= last)
                   and first + n not in self._blocks and first + n not in self._pending):
                n += 1
            return first, n
        return None

    def next_job(self) -> tuple[int, int] | None:
        """(offset, bytes) of the next Range request, waiting until there is one; None once
        closed or failed (the fetcher's side; it marks the blocks as coming)."""
        with self._cond:
            job = None
            while not self._closed and self._error is None and (job := self._next_request()) is None:
                self._cond.wait()  # a read, a seek or shutdown() wakes it
            if self._closed or self._error is not None or job is None:
                return None
            first, n = job
            self._pending.update(range(first, first + n))
            return first * BLOCK, n * BLOCK

    def done(self, start: int, length: int, part: RangeChunk | None, exc: BaseException | None) -> bool:
        """The answer to :meth:`next_job`'s request (or why there is none); False: stop serving it."""
        with self._cond:
            self._pending.difference_update(range(start // BLOCK, (start + length) // BLOCK))
            if self._closed:
                return False  # let go of meanwhile: keep nothing
        if exc is not None or part is None:
            self._fail(exc or NetworkError("no answer"))
            return False
        return self._store(part)

    def _store(self, part: RangeChunk) -> bool:
        """Keep the answer's blocks; on the first one, read the WAV header and say ready."""
        first_answer = self._size is None
        fmt = self.fmt
        if first_answer:
            try:
                fmt = wav.parse_header(part.data[: wav.HEADER_PROBE], part.size)
            except wav.WavError as exc:
                self._fail(exc)
                return False
        with self._cond:
            self._size = part.size
            if first_answer:
                self.fmt = fmt
            start, stored = part.start, 0
            if start % BLOCK == 0:
                for i in range(0, len(part.data), BLOCK):
                    chunk = part.data[i:i + BLOCK]
                    if len(chunk) == BLOCK or start + i + len(chunk) == part.size:  # never a partial block
                        self._blocks[(start + i) // BLOCK] = chunk
                        stored += 1
            self.fetched_bytes += len(part.data)
            self.requests.append((start, len(part.data)))
            if self._demand is not None and self._demand in self._blocks:
                self._demand = None
            self._cond.notify_all()
        if not stored:  # not what was asked (off the grid, short): asking again would get the same
            self._fail(NetworkError(f"recording {self.call_id[:8]}: unexpected range answer at {part.start}"))
            return False
        if first_answer:
            self.ready_at = time.perf_counter()
            if self._on_ready is not None and not self._closed:
                on_gui(self._on_ready, self)
        return True

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            self._error = exc
            self._cond.notify_all()
        if not self._closed and self._on_failed is not None:
            on_gui(self._on_failed, exc)

    def describe(self) -> dict[str, Any]:
        """What was fetched so far (the bench and the tests print it)."""
        return {"size": self._size, "fetched_bytes": self.fetched_bytes, "requests": len(self.requests)}


class RangeFetcher:
    """The one thread that fetches for the current :class:`RecordingStream`, on one HTTP client
    (made on this thread by ``open_reader``, kept for the next recording, closed by :meth:`stop`)."""

    def __init__(self, open_reader: Callable[[], RangeReader], name: str = "recording-fetch") -> None:
        self._open_reader = open_reader
        self._name = name
        self._cond = threading.Condition()
        self._stream: RecordingStream | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def warm(self) -> None:
        """Start the thread and make its client now (before the first recording is opened)."""
        with self._cond:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def attach(self, stream: RecordingStream) -> None:
        """Serve ``stream`` from now on (the previous one was shut down by its owner)."""
        self.warm()
        with self._cond:
            self._stream = stream
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            stream, self._stream = self._stream, None
            self._cond.notify_all()
        if stream is not None:
            stream.shutdown()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        reader: RangeReader | None = None
        try:
            reader = self._open_reader()
        except Exception as exc:  # not logged in: said to the stream that asks
            log.info("recording fetcher has no client: %s", exc)
        try:
            while True:  # ends with stop()
                with self._cond:
                    while not self._stopped and (self._stream is None or self._stream.closed):
                        self._cond.wait()
                    if self._stopped:
                        return
                    stream = self._stream
                job = stream.next_job()  # waits for a read, a seek, or shutdown
                if job is None:
                    with self._cond:  # closed or failed: wait for the next one
                        if self._stream is stream:
                            self._stream = None
                    continue
                start, length = job
                try:
                    if reader is None:
                        reader = self._open_reader()
                    part = self._read(reader, stream, start, length)
                except Exception as exc:
                    stream.done(start, length, None, exc)
                    continue
                stream.done(start, length, part, None)
        finally:
            if reader is not None:
                reader.close()

    @staticmethod
    def _read(reader: RangeReader, stream: RecordingStream, start: int, length: int) -> RangeChunk:
        """One Range request; a dropped connection or a 5xx is tried again (bounded: RETRIES,
        with a short pause); a refusal (403, 404, 416) is final."""
        for attempt in range(RETRIES + 1):
            try:
                return reader.read(stream.call_id, start, length)
            except NetworkError:
                if attempt == RETRIES or stream.closed:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")
