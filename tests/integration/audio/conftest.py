"""Fixtures for the real-audio tests: a private PulseAudio daemon with fake
devices (see pulse.py), the pjsua2 customer peer process, and the app's
AudioEngine wired to the real SIP engine.

Nothing is skipped: if PulseAudio cannot start, or Qt Multimedia does not see
its devices, the tests fail and say why.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .pulse import PulseDaemon

ROOT = Path(__file__).resolve().parents[3]
PEER = ROOT / "tests" / "peers" / "pjsua_peer.py"


# Qt Multimedia reads PULSE_SERVER once, when it first connects, which may be in
# any earlier test of the session: so the private daemon's address is fixed and
# exported here, at collection, and the daemon is started there when needed.
_DAEMON = PulseDaemon()
_DAEMON.apply()
atexit.register(shutil.rmtree, _DAEMON.root, True)  # if no test here ran


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseDaemon]:
    """One private PulseAudio per test session (fails, never skips, if it cannot start)."""
    _DAEMON.start()
    try:
        yield _DAEMON
    finally:
        _DAEMON.stop()


@pytest.fixture()
def qt_audio(pulse: PulseDaemon, qapp):  # type: ignore[no-untyped-def]
    """The session's pulse daemon with Qt Multimedia verified to see its devices."""
    from softphone.audio.devices import list_devices

    _inputs, outputs = list_devices()
    names = {d.name for d in outputs}
    if "USB Headset" not in names:
        pytest.fail(f"Qt Multimedia does not see the private PulseAudio sinks (it sees {sorted(names)}); "
                    f"was Qt Multimedia initialised before PULSE_SERVER was set?")
    return pulse


class PeerProcess:
    """tests/peers/pjsua_peer.py as the customer; JSON events read on a thread."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, str(PEER), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.events: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.uri = self.wait_for("ready", timeout=20)["uri"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                pass

    def wait_for(self, name: str, timeout: float = 10.0,
                 match: Callable[[dict], bool] = lambda e: True) -> dict:
        for event in self.seen:
            if event.get("event") == name and match(event):
                self.seen.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event.get("event") == name and match(event):
                return event
            self.seen.append(event)
        raise AssertionError(f"peer sent no {name!r} within {timeout} s; saw {self.seen[-10:]}")

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture()
def peer_factory() -> Iterator[Callable[..., PeerProcess]]:
    peers: list[PeerProcess] = []

    def make(*args: str) -> PeerProcess:
        peer = PeerProcess(*args)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


def wait_until(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> None:
    """Bounded wait that keeps the Qt event loop turning (queued signals arrive)."""
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
