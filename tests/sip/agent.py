"""The engine under test as the integration tests drive it (shared by the softphone tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from softphone.account import AccountSettings
from softphone.engine import EngineConfig, SipEngine
from softphone.tone_audio import ToneAudio, ToneProbe
from softphone.types import CallInfo, CallState, RegInfo

from .kamailio import Kamailio
from .peer import EventLog

USERS = {
    "1001": "agent-pw-1001",      # the agent (engine under test)
    "1002": "agent-pw-1002",
    "2001": "cust-pw-2001",       # customers (peers)
    "2002": "cust-pw-2002",
    "2003": "cust-pw-2003",
    "3001": "tl-pw-3001",         # team leader (peer)
}
AGENT_HZ = 1000
CUSTOMER_HZ = 440
TL_HZ = 1700



@dataclass
class Agent:
    """The engine under test plus what it has reported. Holds no pjsua2 object: ``audio`` is
    the plain probe of the headless audio (the pjsua2 ports stay with the SIP thread)."""

    engine: SipEngine
    kamailio: Kamailio
    events: EventLog = field(default_factory=EventLog)
    audio: ToneProbe | None = None
    unsubscribe: Callable[[], None] | None = None

    def start(self, settings: AccountSettings | None = None, config: EngineConfig | None = None,
              mic_hz: int = AGENT_HZ, **kw: Any) -> Agent:
        def factory(ep: Any) -> ToneAudio:
            audio = ToneAudio(ep, mic_hz)
            self.audio = audio.probe
            return audio
        self.unsubscribe = self.engine.subscribe(lambda kind, payload: self.events.add((kind, payload)))
        self.engine.start(config or engine_config(), settings if settings is not None else self.settings(),
                          factory, **kw)
        return self

    def settings(self, user: str = "1001", **kw: Any) -> AccountSettings:
        base: dict[str, Any] = {"user": user, "domain": self.kamailio.domain, "password": USERS.get(user, ""),
                                "keepalive_s": 2, "probe_timeout_s": 1.0, "reg_retry_s": 5}
        base.update(kw)
        return AccountSettings(**base)

    def wait_registered(self, timeout: float = 15.0, registered: bool = True, start: int = 0) -> RegInfo:
        return self.events.wait_for(
            lambda e: e[0] == "registration" and e[1].registered is registered, timeout,
            f"registered={registered}", start=start)[1]

    def wait_call(self, state: CallState, call_id: str | None = None, timeout: float = 15.0,
                  start: int = 0) -> CallInfo:
        return self.events.wait_for(
            lambda e: e[0] == "call" and e[1].state is state and (call_id is None or e[1].call_id == call_id),
            timeout, f"call {state} {call_id and call_id[:8]}", start=start)[1]

    def wait_event(self, kind: str, pred: Callable[[Any], bool] = lambda p: True, timeout: float = 15.0,
                   start: int = 0) -> Any:
        return self.events.wait_for(lambda e: e[0] == kind and pred(e[1]), timeout, kind, start=start)[1]

    def run(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        return self.engine.call_soon(fn).result(timeout)

    def stop(self) -> None:
        self.engine.stop()
        if self.unsubscribe:
            self.unsubscribe()


def engine_config(**kw: Any) -> EngineConfig:
    base: dict[str, Any] = {"bind_address": "127.0.0.1", "public_address": "127.0.0.1",
                            "no_answer_timeout_s": 20.0}
    base.update(kw)
    return EngineConfig(**base)


