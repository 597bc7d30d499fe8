"""A small byte FIFO between a Qt audio device and the conference bridge.

The audio thread fills and drains it (device reads, bridge ticks, device
writes); stats are read from the GUI thread, so every method holds one lock;
the critical sections copy a few hundred bytes. When the writer runs ahead the oldest audio is
dropped (an overrun: keep latency bounded rather than grow it); when the reader
finds less than it asked for it is an underrun. Counters are read by the bench
and shown in diagnostics.
"""

from __future__ import annotations

import threading
import time


class FrameRing:
    def __init__(self, capacity: int, prime: int) -> None:
        """``capacity`` bytes at most; reads wait until ``prime`` bytes were buffered
        once (a small jitter reserve) before they start draining."""
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.capacity = capacity
        self.prime = prime
        self._primed = False
        self.overruns = 0
        self.underruns = 0
        self.last_write = 0.0  # time.monotonic() of the last write: tells "in use"
        # False while the writer's device is starting (it delivers in bursts for up
        # to ~1 s): a starved read then is start-up, not a glitch.
        self.count_underruns = True

    def write(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            excess = len(self._buf) - self.capacity
            if excess > 0:
                excess += excess % 2  # never split a 16-bit sample
                del self._buf[:excess]
                self.overruns += 1
            if len(self._buf) >= self.prime:
                self._primed = True
            self.last_write = time.monotonic()

    def read(self, n: int) -> bytes | None:
        """Exactly ``n`` bytes, or None (an underrun once primed; the caller plays silence)."""
        with self._lock:
            if not self._primed:
                return None
            if len(self._buf) < n:
                self.underruns += int(self.count_underruns)
                self._primed = False  # refill the reserve before draining again
                return None
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out

    def read_upto(self, n: int) -> bytes:
        """Up to ``n`` bytes, no priming and no underrun accounting: the Qt sink
        side keeps its jitter reserve in the sink's own buffer and judges
        starvation itself."""
        with self._lock:
            out = bytes(self._buf[:n])
            del self._buf[: len(out)]
            return out

    def unread(self, data: bytes) -> None:
        """Put back bytes a reader could not use, at the front."""
        with self._lock:
            self._buf[:0] = data

    def trim_to(self, n: int, count: bool = True) -> int:
        """Drop the oldest audio so at most ``n`` bytes stay (bounds latency); returns bytes dropped."""
        with self._lock:
            excess = len(self._buf) - n
            if excess <= 0:
                return 0
            excess -= excess % 2
            del self._buf[:excess]
            self.overruns += int(count)
            return excess

    def available(self) -> int:
        with self._lock:
            return len(self._buf)

    def clear(self) -> None:
        with self._lock:
            self._buf.clear()
            self._primed = False
