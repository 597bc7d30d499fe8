"""Drive tests/peers/pjsua_peer.py as a child process: JSON events in, commands out."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .kamailio import die_with_parent

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


class PeerProcess:
    def __init__(self, *args: str, python: str = sys.executable) -> None:
        self.args = [python, str(PEER_SCRIPT), *args]
        self.events = EventLog()
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.uri = ""
        self._stderr_tail: list[str] = []

    def start(self, timeout: float = 20.0) -> PeerProcess:
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        ready = self.wait("ready", timeout=timeout)
        self.port = int(ready["port"])
        self.uri = ready["uri"]
        return self

    def _read(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.add(json.loads(line))
        self.events.add({"event": "exit"})

    def _read_err(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            self._stderr_tail = [*self._stderr_tail[-30:], line.rstrip()]

    def wait(self, event: str, timeout: float = 15.0, start: int = 0, **match: Any) -> dict[str, Any]:
        def pred(e: dict[str, Any]) -> bool:
            if e.get("event") == "exit" and event != "exit":
                raise RuntimeError("peer exited; stderr tail:\n" + "\n".join(self._stderr_tail))
            return e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        return self.events.wait_for(pred, timeout, f"peer event {event} {match}", start=start)

    def send(self, command: str) -> None:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.write("quit\n")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(Exception):
                f.close()  # type: ignore[union-attr]

    def __enter__(self) -> PeerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
