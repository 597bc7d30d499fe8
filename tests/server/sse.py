"""A Server-Sent Events reader on a thread, for tests and benchmarks: every event lands in
a queue with the monotonic time it arrived; ``wait_for`` picks the first that matches."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    name: str
    data: Any
    at: float  # time.monotonic() when the event's last line arrived


class SseReader:
    def __init__(self, url: str, path: str, headers: dict[str, str], params: dict[str, Any] | None = None,
                 seconds: float = 30.0) -> None:
        self.url, self.path, self.headers = url, path, headers
        self.params = {"max_seconds": seconds, **(params or {})}
        self.seconds = seconds
        self.events: queue.Queue[Event] = queue.Queue()
        self.status: int | None = None
        self.error: str | None = None
        self.seen: list[Event] = []
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, wait: float = 10.0) -> SseReader:
        self._thread.start()
        if not self._opened.wait(wait):
            raise AssertionError(f"stream {self.path} did not answer within {wait} s")
        return self

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=httpx.Timeout(10, read=self.seconds + 20)) as c:
                with c.stream("GET", self.path, headers=self.headers, params=self.params) as r:
                    self._response = r
                    self.status = r.status_code
                    self._opened.set()
                    if r.status_code != 200:
                        r.read()
                        return
                    name = "message"
                    for line in r.iter_lines():
                        if self._stop.is_set():
                            return
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            self.events.put(Event(name, json.loads(line[6:]), time.monotonic()))
                            name = "message"
        except Exception as exc:  # closed by stop(), or a real error
            if not self._stop.is_set():
                self.error = repr(exc)
        finally:
            self._opened.set()

    def wait_for(self, match: Callable[[Event], bool], timeout: float = 5.0) -> Event:
        """The first event (from now on, skipping earlier ones) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event on {self.path} within {timeout} s; "
                                     f"saw {[(e.name, e.data) for e in self.seen[-5:]]} error={self.error}")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if match(ev):
                return ev

    def drain(self) -> list[Event]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        """Hang up now (closing the connection unblocks the reading thread)."""
        self._stop.set()
        r = self._response
        stream = r.extensions.get("network_stream") if r is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=self.seconds + 30)


def agent_patch(agent_id: str, **fields: Any) -> Callable[[Event], bool]:
    """Matches an ``agent`` board patch for this agent whose fields include these values
    (``presence_state=…`` matches presence.state)."""
    def match(ev: Event) -> bool:
        if ev.name != "agent" or ev.data.get("agent_id") != agent_id:
            return False
        for k, v in fields.items():
            if k == "presence_state":
                if (ev.data.get("presence") or {}).get("state") != v:
                    return False
            elif k not in ev.data or (v is not ... and ev.data[k] != v):
                return False
        return True
    return match
