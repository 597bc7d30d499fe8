"""Fixtures for the real-audio tests: a private PulseAudio daemon with fake
devices (see pulse.py), the pjsua2 customer peer process (tests/sip/peer.py), and the app's
AudioEngine wired to the real SIP engine.

Nothing is skipped: if PulseAudio cannot start, or Qt Multimedia does not see
its devices, the tests fail and say why.
"""

from __future__ import annotations

import atexit
import gc
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from softphone.account import AccountSettings
from softphone.audio.devices import DevicePreferences
from softphone.audio.qt_bridge import (
    AudioEngine,  # imported with the tests: Qt Multimedia's start-up warnings (no PipeWire here) come before any test
)
from softphone.engine import EngineConfig, SipEngine
from tests.sip.peer import PeerProcess

from .pulse import PulseDaemon

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


@pytest.fixture()
def peer_factory() -> Iterator[Callable[..., PeerProcess]]:
    peers: list[PeerProcess] = []

    def make(*args: str) -> PeerProcess:
        peer = PeerProcess(*args)
        peers.append(peer)
        return peer.start()

    yield make
    for peer in peers:
        peer.stop(timeout=5)


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


def end_call_and_stop(engine: Any, audio: Any, call_id: str | None, player: subprocess.Popen[bytes]) -> None:
    """A test's teardown: hang up (the engine must not stop with a call up), stop the SIP
    engine, close the audio engine (gc: its Qt streams go with their wrappers) and the tone
    player that fed the microphone."""
    if call_id is not None:
        engine.hangup(call_id).result(5)
        wait_until(lambda: engine.snapshot(call_id) is None, 10, "the call to end")
    engine.stop()
    audio.close()
    gc.collect()
    player.kill()
    player.wait(5)


def start_narrowband_agent(peer: PeerProcess) -> tuple[Any, Any]:
    """The agent's SIP and audio engines at 8 kHz on the built-in mic and speakers, registered
    nowhere and ready to dial ``peer`` (a pjsua2 peer process on loopback), on G.711 as a
    telesales trunk is (pjsua's defaults would pick Speex, a vocoder that mangles test tones)."""
    audio = AudioEngine(prefs=DevicePreferences(microphone=("Built-in Mic",), speaker=("Speakers",)),
                        clock_rate=8000)
    engine = SipEngine()
    port = peer.uri.rsplit(":", 1)[1]
    engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", log_level=1, clock_rate=8000),
                 AccountSettings(user="agent", domain=f"127.0.0.1:{port}", codecs=("PCMU",)),
                 audio.agent_audio_factory())
    return engine, audio
