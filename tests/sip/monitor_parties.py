"""The three parties of a monitoring session through Kamailio, for tests and the benchmark.

- the customer: a pjsua2 peer (tests/peers/pjsua_peer.py) answering with a 440 Hz tone;
- the AGENT: a Seatmate engine in a child process (tests/sip/engine_child.py) with the
  app's grant verifier and a 1000 Hz "voice";
- the TL: a Seatmate engine in this process (``tests.sip.agent.Agent`` with a 1700 Hz
  voice) driven by the app's ``MonitorService``.

``LocalGrants`` stands in for the server where a test is about SIP only: it signs grants
with a key the agent's verifier trusts and records the session calls in order.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import grant_token
from softphone.tone_audio import CLOCK_RATE, FRAME_MS, ToneProbe
from tests.sip.agent import CUSTOMER_HZ
from tests.sip.peer import EventLog, PeerProcess

CHILD_SCRIPT = Path(__file__).resolve().parent / "engine_child.py"


class EngineChild(PeerProcess):
    """tests/sip/engine_child.py as a child process; same event handling as the pjsua2 peer."""

    name = "seatmate engine (child)"

    def __init__(self, python: str = sys.executable) -> None:
        super().__init__(python=python)
        self._argv = [python, str(CHILD_SCRIPT)]

    def ready(self, timeout: float) -> None:
        self.wait("hello", timeout=timeout)

    def cmd(self, cmd: str, **fields: Any) -> None:
        self.send(json.dumps({"cmd": cmd, **fields}))

    def request_stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cmd("quit")

    # -- conveniences --------------------------------------------------------------------
    def start_agent(self, user: str, domain: str, password: str, key_b64: str | None,
                    timeout: float = 20.0) -> None:
        m = self.events.mark()
        self.cmd("start", user=user, domain=domain, password=password, key=key_b64)
        self.wait("started", timeout=timeout, start=m)
        self.wait("registration", timeout=timeout, start=m, registered=True)

    def dial_answered(self, target: str, timeout: float = 15.0) -> str:
        m = self.events.mark()
        self.cmd("dial", target=target)
        call_id = self.wait("dialled", timeout=timeout, start=m)["call_id"]
        self.wait("call", timeout=timeout, start=m, call_id=call_id, state="answered")
        self.wait("media", timeout=timeout, start=m, call_id=call_id, active=True)
        return call_id

    def capture(self, seconds: float, freqs: list[float]) -> dict[float, float]:
        m = self.events.mark()
        self.cmd("capture", seconds=seconds, freqs=freqs)
        ev = self.wait("captured", timeout=seconds + 10, start=m)
        return {float(k): v for k, v in ev["levels"].items()}


@dataclass
class _Grant:
    token: str
    expires_at: str
    agent_sip_user: str
    jti: str


@dataclass
class _Session:
    session_id: str
    agent_id: str
    mode: str
    grant: _Grant | None = None
    call_id: str | None = None


@dataclass
class LocalGrants:
    """The server's monitor endpoints, in-process: signs with ``key`` for ``tl``."""

    key: Any
    tl: str = "3001"
    sip_users: dict[str, str] = field(default_factory=dict)  # agent_id -> SIP user
    calls: EventLog = field(default_factory=EventLog)
    sessions: dict[str, _Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _grant(self, agent_id: str, mode: str) -> _Grant:
        user = self.sip_users.get(agent_id, agent_id)
        jti = uuid.uuid4().hex
        tok = grant_token.sign(self.key, agent=user, tl=self.tl, mode=mode, jti=jti)
        return _Grant(tok, "", user, jti)

    def request_grant(self, agent_id: str, mode: str) -> _Grant:
        g = self._grant(agent_id, mode)
        with self._lock:
            self.sessions[g.jti] = _Session("", agent_id, mode)
        self.calls.add(("grant", agent_id, mode))
        return g

    def start_monitor(self, jti: str) -> _Session:
        with self._lock:
            s = self.sessions[jti]
            s.session_id = uuid.uuid4().hex
            self.sessions[s.session_id] = s
        self.calls.add(("start", s.session_id, s.mode))
        return s

    def change_monitor_mode(self, session_id: str, mode: str) -> _Session:
        with self._lock:
            s = self.sessions[session_id]
            s.mode = mode
            s.grant = self._grant(s.agent_id, mode)
        self.calls.add(("mode", session_id, mode))
        return s

    def end_monitor(self, session_id: str, reason: str | None = None) -> _Session:
        self.calls.add(("end", session_id, reason))
        return self.sessions[session_id]


class FirstToneProbe(ToneProbe):
    """A ToneProbe that also times the customer's voice (``hz``) in what it receives, per
    20 ms frame (Goertzel share of the frame's energy; fed on the SIP thread):

    - ``first_at``: the first frame in which ``hz`` carries more than ``threshold`` of the
      energy (the customer is audible, next to the agent);
    - ``trace``: (ms since ``arm()``, share) of the first ``TRACE_FRAMES`` frames with sound,
      for :meth:`steady_ms` (from when on the customer stays audible).
    """

    TRACE_FRAMES = 150

    def __init__(self, mic_hz: int = 0, hz: float = float(CUSTOMER_HZ), threshold: float = 0.1) -> None:
        super().__init__(mic_hz)
        n = CLOCK_RATE * FRAME_MS // 1000
        t = np.arange(n) / CLOCK_RATE
        self._window = np.hanning(n)
        self._basis = np.exp(-2j * np.pi * hz * t) * self._window
        self.threshold = threshold
        self.armed_at: float | None = None
        self.first_at: float | None = None
        self.first_sound_at: float | None = None  # the first frame with any energy
        self.first_event = threading.Event()
        self.trace: list[tuple[float, float]] = []

    def arm(self) -> None:
        self.first_at = None
        self.first_sound_at = None
        self.trace = []
        self.first_event.clear()
        self.armed_at = time.monotonic()
        self._capturing = True  # every frame goes through add_frame

    def disarm(self) -> None:
        self.armed_at = None
        self.capture_stop()

    def add_frame(self, data: bytes) -> None:
        armed = self.armed_at
        if armed is not None and data and len(self.trace) < self.TRACE_FRAMES:
            x = np.frombuffer(data, dtype="<i2").astype(float)
            if len(x) == len(self._basis):
                energy = float(((x * self._window) ** 2).sum())
                if energy > 1e5:
                    now = time.monotonic()
                    share = abs(complex((x * self._basis).sum())) ** 2 / (len(x) * 0.375) / energy
                    self.trace.append(((now - armed) * 1000, share))
                    if self.first_sound_at is None:
                        self.first_sound_at = now
                    if self.first_at is None and share > self.threshold:
                        self.first_at = now
                        self.first_event.set()
        if self._capturing and armed is None:
            super().add_frame(data)

    def steady_ms(self, frames: int = 10) -> float | None:
        """ms after arm() from which ``frames`` frames in a row carry the tone (None: never seen)."""
        shares = [s for _t, s in self.trace]
        for i in range(len(shares) - frames + 1):
            if all(s > self.threshold for s in shares[i:i + frames]):
                return self.trace[i][0]
        return None


def use_probe(audio: Any, probe: ToneProbe) -> None:
    """Swap a ToneAudio's probe for ``probe`` (its speaker feeds the new one from now on)."""
    audio.probe = probe
    audio._speaker.probe = probe
