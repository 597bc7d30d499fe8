"""Runs the embedded demo's customer (``app.demo.customer``) as a child process.

The customer speaks SIP on 127.0.0.1 with its own pjsua2 Endpoint; a child
process keeps it apart from the app's own Endpoint (one per process). The
first stdout line tells its ports; after that it is left alone until stop().
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


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
        self.events: list[dict] = []

    def start(self, timeout: float = 15.0) -> DemoLine:
        cmd = [sys.executable, "-m", "app.demo.customer", "--port", "0", *self.args]
        env = dict(os.environ)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env)
        ready = self.wait_for("ready", timeout)
        if ready is None:
            self.stop()
            raise RuntimeError("the demo customer did not start")
        self.line = DemoLine(int(ready["port"]), int(ready["registrar_port"]))
        return self.line

    def read_events(self, timeout: float = 0.0) -> list[dict]:
        """Events printed since the last read (waits up to ``timeout`` for the first one)."""
        out: list[dict] = []
        if self.proc is None or self.proc.stdout is None:
            return out
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.proc.stdout], [], [], left if not out else 0)
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
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
