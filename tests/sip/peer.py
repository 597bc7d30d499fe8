"""Drive tests/peers/pjsua_peer.py as a child process: JSON events in, commands out."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.processes import ExternalProcess

PEER_SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "pjsua_peer.py"


class EventLog:
    """Thread-safe list of events with event-driven waiting (no sleeps)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[Any], bool], timeout: float, what: str = "", start: int = 0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            idx = start
            while True:
                while idx < len(self.items):
                    item = self.items[idx]
                    idx += 1
                    if pred(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(repr(i) for i in self.items[-15:])
                    raise TimeoutError(f"timed out after {timeout} s waiting for {what or pred}; last events:\n{tail}")
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.items)

    def find(self, pred: Callable[[Any], bool]) -> list[Any]:
        with self._cond:
            return [i for i in self.items if pred(i)]

    def since(self, start: int) -> list[Any]:
        with self._cond:
            return self.items[start:]


class PeerProcess(ExternalProcess):
    """The peer's JSON events (stdout) go to ``events``; commands go to its stdin."""

    name = "pjsua2 peer"

    def __init__(self, *args: str, python: str = sys.executable) -> None:
        super().__init__([python, str(PEER_SCRIPT), *args], stdin=True, merge_stderr=False)
        self.events = EventLog()
        self.port = 0
        self.uri = ""

    def on_line(self, stream: str, line: str) -> None:
        if stream == "stdout":
            with contextlib.suppress(ValueError):
                self.events.add(json.loads(line))

    def ready(self, timeout: float) -> None:
        ready = self.wait("ready", timeout=timeout)
        self.port = int(ready["port"])
        self.uri = ready["uri"]

    def wait(self, event: str, timeout: float = 15.0, start: int = 0, **match: Any) -> dict[str, Any]:
        """The first event ``event`` (from number ``start`` on, see ``events.mark()``) with
        fields equal to ``match``."""
        cursor = start

        def seen() -> dict[str, Any] | None:
            nonlocal cursor
            new = self.events.since(cursor)
            cursor += len(new)
            return next((e for e in new if e.get("event") == event
                         and all(e.get(k) == v for k, v in match.items())), None)

        return self.wait_for(seen, timeout, description=f"peer event {event} {match}")

    def request_stop(self) -> None:
        self.send("quit")


def dominant_hz(pcm: bytes, rate: int = 16000) -> float:
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    if len(x) < rate // 10:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[:5] = 0  # ignore DC
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(spec.argmax())])


def band_levels(pcm: bytes, freqs: list[float], rate: int = 16000, width: float = 25.0) -> dict[float, float]:
    """Share of the signal's energy within ±width Hz of each frequency (0..1)."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    if len(x) == 0:
        return dict.fromkeys(freqs, 0.0)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    total = float(spec.sum()) or 1.0
    return {hz: float(spec[(f > hz - width) & (f < hz + width)].sum()) / total for hz in freqs}


def rms(pcm: bytes) -> float:
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    return float(np.sqrt((x ** 2).mean())) if len(x) else 0.0


def read_wav(path: str | Path) -> tuple[bytes, int]:
    import wave

    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes()), w.getframerate()
