"""A minimal STUN server (RFC 5389 Binding only) on loopback, to prove the engine uses STUN."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

MAGIC = 0x2112A442


class StunServer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stun")

    def start(self) -> StunServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) < 20:
                continue
            mtype, _length, magic = struct.unpack("!HHI", data[:8])
            if mtype != 0x0001 or magic != MAGIC:
                continue
            self.requests += 1
            tid = data[8:20]
            ip = struct.unpack("!I", socket.inet_aton(addr[0]))[0] ^ MAGIC
            port = addr[1] ^ (MAGIC >> 16)
            attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, port, ip)  # XOR-MAPPED-ADDRESS
            resp = struct.pack("!HHI", 0x0101, len(attr), MAGIC) + tid + attr
            with contextlib.suppress(OSError):
                self.sock.sendto(resp, addr)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
