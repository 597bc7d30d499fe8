"""Hanging up a live event stream is prompt whatever the stream is doing.

Closing the app, logging out or switching user stops the TL's board / the agent's
feed; a slow server or proxy must not hold that up for the stream's timeouts
(5 s to connect, 40 s between events). Each test puts a real loopback TCP peer in
one phase — a listener whose accept queue is full (connect pending), a server that
reads the request and never answers (waiting for the headers), one that answers and
then goes quiet (reading events), one that always answers 503 (backing off) — and
checks that ``stop()`` returns within half a second with the stream's thread gone.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sync.supervisor import EventStream, StreamEvent, wait_until

PROMPT_S = 0.5


class SilentPeer:
    """A loopback TCP server: accepts, reads the request, then sends ``answer`` (maybe nothing) and
    keeps the connection open until closed. ``requests`` counts the requests it has read."""

    def __init__(self, answer: bytes = b"", *, backlog: int = 16, accept: bool = True) -> None:
        self.answer = answer
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self._conns: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True) if accept else None
        if self._thread is not None:
            self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self._closed.is_set():  # bounded by close()
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self._conns.append(conn)
            conn.settimeout(2.0)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests += 1
                if self.answer:
                    conn.sendall(self.answer)
            except OSError:
                pass  # the client hung up

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(2)
        for c in self._conns:
            c.close()
        self.listener.close()


@contextmanager
def peer(answer: bytes = b"", **kw) -> Iterator[SilentPeer]:
    p = SilentPeer(answer, **kw)
    try:
        yield p
    finally:
        p.close()


def _stream(url: str, events: queue.Queue[StreamEvent], **kw) -> EventStream:
    return EventStream(url, "/supervisor/board/stream", lambda force: "token", on_event=events.put, **kw)


def _stop_timed(stream: EventStream) -> float:
    started = time.monotonic()
    stream.stop()
    return time.monotonic() - started


def test_stop_while_waiting_for_the_response_headers():
    events: queue.Queue[StreamEvent] = queue.Queue()
    with peer() as p:
        stream = _stream(p.url, events).start()
        try:
            assert wait_until(lambda: p.requests == 1, 5), "the request never reached the peer"
            time.sleep(0.2)  # the stream's thread is now blocked reading the status line
            took = _stop_timed(stream)
        finally:
            stream.stop(0.1)
    assert took < PROMPT_S, f"stop() took {took:.2f} s waiting for headers"
    assert not stream.running
    assert p.requests == 1  # no reconnect after the hang-up
    assert events.empty()  # nothing was announced: no "disconnected" for a hang-up of our own


def test_stop_while_connecting():
    # A listener that never accepts, its one-place accept queue already taken: the next
    # connect's SYN goes unanswered, so the stream sits in connect for its whole timeout.
    with peer(backlog=0, accept=False) as p:
        filler = socket.create_connection(("127.0.0.1", p.port), timeout=1)
        events: queue.Queue[StreamEvent] = queue.Queue()
        stream = _stream(p.url, events, connect_timeout_s=5.0).start()
        try:
            time.sleep(0.3)
            assert stream.running and events.empty()  # still connecting
            took = _stop_timed(stream)
        finally:
            stream.stop(0.1)
            filler.close()
    assert took < PROMPT_S, f"stop() took {took:.2f} s while connecting"
    assert not stream.running


def test_stop_while_reading_events():
    answer = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    body = b'event: hello\ndata: {"n": 1}\n\n'
    answer += f"{len(body):x}\r\n".encode() + body + b"\r\n"
    events: queue.Queue[StreamEvent] = queue.Queue()
    with peer(answer) as p:
        stream = _stream(p.url, events).start()
        try:
            assert events.get(timeout=5).name == "connected"
            assert events.get(timeout=5) == StreamEvent("hello", {"n": 1})
            took = _stop_timed(stream)
        finally:
            stream.stop(0.1)
    assert took < PROMPT_S, f"stop() took {took:.2f} s while reading events"
    assert not stream.running


def test_stop_while_backing_off():
    answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    events: queue.Queue[StreamEvent] = queue.Queue()
    with peer(answer) as p:
        stream = _stream(p.url, events, max_backoff_s=15.0).start()
        try:
            # Two failures: the stream now waits 0.5–1 s before its third try.
            for _ in range(2):
                ev = events.get(timeout=5)
                assert ev.name == "disconnected" and "503" in (ev.error or "")
            took = _stop_timed(stream)
        finally:
            stream.stop(0.1)
        requests = p.requests
    assert took < PROMPT_S, f"stop() took {took:.2f} s while backing off"
    assert not stream.running
    assert requests == 2
