"""Runs the embedded demo's customer (``app.demo.customer``) as a child process.

The customer speaks SIP on 127.0.0.1 with its own pjsua2 Endpoint; a child
process keeps it apart from the app's own Endpoint (one per process). The
first stdout line tells its ports. Its later events (calls, the lines it says) are read
by a small thread all the time, so a long session never fills the pipe and stalls the
customer; the last ``KEEP_EVENTS`` are kept for ``wait_for``/``read_events``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass

from app.background import run_in_background

log = logging.getLogger(__name__)
KEEP_EVENTS = 500


@dataclass(frozen=True)
class DemoLine:
    port: int  # where the customer answers: dial sip:<number>@127.0.0.1:<port>
    registrar_port: int  # the stand-in registrar

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def registrar(self) -> str:
        return f"sip:127.0.0.1:{self.registrar_port}"


class DemoCustomerProcess:
    def __init__(self, behaviour: str = "bydigit", answer_delay: float = 1.5, ring_timeout: float = 30.0,
                 max_talk: float = 600.0) -> None:
        self.args = ["--behaviour", behaviour, "--answer-delay", str(answer_delay),
                     "--ring-timeout", str(ring_timeout), "--max-talk", str(max_talk)]
        self.proc: subprocess.Popen[str] | None = None
        self.line: DemoLine | None = None
        self.events: deque[dict] = deque(maxlen=KEEP_EVENTS)  # read but not yet matched
        self.voice_files = 0
        self._inbox: queue.Queue[dict] = queue.Queue(maxsize=KEEP_EVENTS)

    def start(self, timeout: float = 15.0) -> DemoLine:
        cmd = [sys.executable, "-m", "app.demo.customer", "--port", "0", *self.args]
        env = dict(os.environ)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env)
        stdout = self.proc.stdout
        run_in_background(lambda: self._pump(stdout), name="demo-customer-events")
        ready = self.wait_for("ready", timeout)
        if ready is None:
            self.stop()
            raise RuntimeError("the demo customer did not start")
        self.line = DemoLine(int(ready["port"]), int(ready["registrar_port"]))
        self.voice_files = int(ready.get("voices", 0))  # lines it speaks from resources/sounds/demo
        if self.voice_files == 0:
            log.warning("the demo customer found no voice lines in resources/sounds/demo: it plays tones")
        return self.line

    def _pump(self, stdout) -> None:  # type: ignore[no-untyped-def]
        """Reads the customer's events as they come (its own thread), keeping the newest."""
        with contextlib.suppress(OSError, ValueError):
            for line in stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                while True:
                    try:
                        self._inbox.put_nowait(event)
                        break
                    except queue.Full:
                        with contextlib.suppress(queue.Empty):
                            self._inbox.get_nowait()  # nobody reads them: drop the oldest

    def read_events(self, timeout: float = 0.0) -> list[dict]:
        """Events printed since the last read (waits up to ``timeout`` for the first one)."""
        out: list[dict] = []
        if self.proc is None:
            return out
        try:
            out.append(self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait())
            while True:
                out.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        self.events.extend(out)
        return out

    def wait_for(self, event: str, timeout: float, **match: object) -> dict | None:
        deadline = time.monotonic() + timeout
        for seen in self.events:
            if seen.get("event") == event and all(seen.get(k) == v for k, v in match.items()):
                self.events.remove(seen)
                return seen
        while time.monotonic() < deadline:
            for item in self.read_events(timeout=min(0.2, max(0.0, deadline - time.monotonic()))):
                if item.get("event") == event and all(item.get(k) == v for k, v in match.items()):
                    self.events.remove(item)
                    return item
        return None

    def command(self, line: str) -> None:
        if self.proc is not None and self.proc.stdin is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(line + "\n")
                self.proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
