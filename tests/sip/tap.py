"""A SIP wire tap on loopback UDP: records every datagram a UA sends to it.

Two roles:
- ``SipTap(upstream=(host, port))``: a minimal outbound proxy — requests from the UA are
  recorded and relayed to the upstream (Kamailio), its answers go back to the UA. CRLF
  keep-alives are recorded (with their arrival time) and not relayed.
- ``SipTap(answer=488)``: a UAS that records each INVITE (its SDP) and answers it with
  100 Trying and the given final status.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid


class SipTap:
    def __init__(self, upstream: tuple[str, int] | None = None, answer: int = 486) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.upstream = upstream
        self.answer = answer
        self.messages: list[str] = []          # SIP messages from the UA, in order
        self.keepalives: list[float] = []      # monotonic arrival times of CRLF keep-alives
        self._client: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sip-tap")

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def start(self) -> SipTap:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def requests(self, method: str) -> list[str]:
        with self._lock:
            return [m for m in self.messages if m.startswith(method + " ")]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            if self.upstream is not None and addr == self.upstream:
                if self._client is not None:
                    with contextlib.suppress(OSError):
                        self.sock.sendto(data, self._client)
                continue
            if not data.strip(b"\r\n"):
                with self._lock:
                    self.keepalives.append(time.monotonic())
                continue
            text = data.decode(errors="replace")
            with self._lock:
                self.messages.append(text)
            self._client = addr
            if self.upstream is not None:
                with contextlib.suppress(OSError):
                    self.sock.sendto(data, self.upstream)
            elif text.startswith("INVITE "):
                for status, reason in ((100, "Trying"), (self.answer, "Refused by the tap")):
                    with contextlib.suppress(OSError):
                        self.sock.sendto(_response(text, status, reason), addr)


def _response(request: str, status: int, reason: str) -> bytes:
    head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    keep = []
    for line in head:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            keep.append(line)
        elif name in ("to", "t"):
            keep.append(line if status == 100 or ";tag=" in line else f"{line};tag={uuid.uuid4().hex[:8]}")
    return (f"SIP/2.0 {status} {reason}\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


def sdp_of(message: str) -> str:
    return message.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in message else ""


def audio_payloads(sdp: str) -> list[int]:
    """The payload types of the SDP's m=audio line, in the offered order."""
    for line in sdp.splitlines():
        if line.startswith("m=audio "):
            return [int(p) for p in line.split()[3:]]
    return []
