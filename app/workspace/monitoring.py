"""The agent's side of monitoring (监听 / 耳语 / 强插): who may listen, and whether the agent sees it.

- :class:`MonitorKeyVerifier` is the grant verifier the softphone is started with
  (``SipEngine.start(monitor_verifier=…)``). It checks tokens against the monitor
  public key the server sends with every pull (``sync_state.monitor_public_key``)
  and the agent's own SIP user. The key can change (the server's key rotated, another
  server): :meth:`MonitorKeyVerifier.refresh` swaps it in at any time; the single-use
  memory (jti) is carried over, so a token seen before the swap stays spent. With no
  key yet (a first start before the first pull, the embedded demo) every request is
  refused — the softphone answers 403. Expiry is judged on the SERVER's clock (the pull's
  ``server_clock_offset_s``): a desktop clock a few minutes off would otherwise refuse
  every 60-second grant as expired or "issued in the future".
- :class:`AgentMonitorNotice` turns the engine's ``MonitorInfo`` events into "show
  the indicator or not" for the status bar, following the campaign's policy
  ``monitor_indicator`` (campaign rules, pulled with the campaign):

  ========= ==================================================================
  ``auto``  default: shown while the TL can be heard (耳语 / 强插), hidden for 监听
  ``show``  shown in every mode
  ``hide``  never shown (where the law and the works council allow silent monitoring)
  ========= ==================================================================
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from core.grant_token import Grant, GrantError, GrantVerifier, load_public_key

log = logging.getLogger(__name__)

INDICATOR_POLICIES = ("auto", "show", "hide")
DEFAULT_INDICATOR_POLICY = "auto"


def read_monitor_key(cache: Any) -> str | None:
    """The monitor public key of the last pull (None before the first one)."""
    return read_monitor_state(cache)[0]


def read_monitor_state(cache: Any) -> tuple[str | None, float]:
    """(the monitor public key, server clock − this clock in seconds) of the last pull."""
    from cache.sync_state import CLOCK_OFFSET, MONITOR_PUBLIC_KEY, read_state

    if cache is None:
        return None, 0.0
    try:
        with cache.session() as s:
            key, offset = read_state(s, MONITOR_PUBLIC_KEY), read_state(s, CLOCK_OFFSET)
    except Exception:
        log.exception("reading the monitor key failed")
        return None, 0.0
    try:
        return key, float(offset) if offset else 0.0
    except ValueError:
        return key, 0.0


class MonitorKeyVerifier:
    """A ``GrantVerifierLike`` whose key and SIP user can be replaced while the softphone runs.

    ``verify`` runs on the SIP thread, ``refresh`` on any other: a lock covers the swap.
    """

    def __init__(self, public_key_b64: str | None = None, sip_user: str = "") -> None:
        self._lock = threading.Lock()
        self._key_b64: str | None = None
        self._user = ""
        self._inner: GrantVerifier | None = None
        self.clock_offset_s = 0.0  # server clock − this clock (grants carry the server's time)
        self.refresh(public_key_b64, sip_user)

    @property
    def key(self) -> str | None:
        return self._key_b64

    @property
    def sip_user(self) -> str:
        return self._user

    @property
    def configured(self) -> bool:
        return self._inner is not None

    def refresh(self, public_key_b64: str | None, sip_user: str | None = None,
                clock_offset_s: float | None = None) -> bool:
        """Use this key (and SIP user, and server clock offset); True when the key or the user
        changed. A key that cannot be read is logged and leaves monitoring refused."""
        user = self._user if sip_user is None else sip_user
        with self._lock:
            if clock_offset_s is not None:
                self.clock_offset_s = float(clock_offset_s)
            if public_key_b64 == self._key_b64 and user == self._user:
                return False
            inner: GrantVerifier | None = None
            if public_key_b64 and user:
                try:
                    inner = GrantVerifier(load_public_key(public_key_b64), user)
                except (ValueError, TypeError):
                    log.warning("the server's monitor key is not a valid Ed25519 key: monitoring refused")
            if inner is not None and self._inner is not None:
                inner._seen = dict(self._inner._seen)  # spent tokens stay spent across a key change
            self._key_b64, self._user, self._inner = public_key_b64, user, inner
        log.info("monitor grants: %s", f"verified for SIP user {user}" if inner else "refused (no key yet)")
        return True

    def verify(self, token: str | None, now: float | None = None) -> Grant:
        with self._lock:
            inner = self._inner
            if inner is None:
                raise GrantError("monitoring not configured (no key from the server yet)")
            return inner.verify(token, now if now is not None else time.time() + self.clock_offset_s)


def indicator_visible(policy: str | None, mode: str) -> bool:
    """Whether the agent sees that a TL is on their call (see the module docstring)."""
    policy = policy if policy in INDICATOR_POLICIES else DEFAULT_INDICATOR_POLICY
    if policy == "show":
        return True
    if policy == "hide":
        return False
    return mode in ("whisper", "barge")


@dataclass(frozen=True)
class AgentMonitorState:
    """What the agent's status bar shows: nothing (``active`` False) or a TL in some mode."""

    active: bool
    mode: str = ""
    tl: str = ""
    since: float = 0.0   # time.time() of the session's start
    visible: bool = False


class AgentMonitorNotice(QObject):
    """The engine's monitor events → the indicator's state (GUI thread)."""

    changed = Signal(object)  # AgentMonitorState

    def __init__(self, policy_of_call: Callable[[], str | None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._policy_of_call = policy_of_call or (lambda: None)
        self._sessions: dict[str, AgentMonitorState] = {}
        self.state = AgentMonitorState(False)

    def attach(self, engine: Any) -> None:
        engine.monitor_changed.connect(self.on_monitor)

    @Slot(object)
    def on_monitor(self, info: Any) -> None:
        if getattr(info, "role", "agent") != "agent":
            return
        if info.active and info.mode:
            before = self._sessions.get(info.session_id)
            try:
                policy = self._policy_of_call()
            except Exception:
                log.exception("reading the campaign's monitor policy failed")
                policy = None
            self._sessions[info.session_id] = AgentMonitorState(
                True, info.mode, info.tl, before.since if before else time.time(),
                indicator_visible(policy, info.mode))
        elif not info.active:
            self._sessions.pop(info.session_id, None)
        else:
            return
        self._publish()

    def _publish(self) -> None:
        state = next(iter(self._sessions.values()), None) or AgentMonitorState(False)
        if state != self.state:
            self.state = state
            self.changed.emit(state)


__all__ = ["DEFAULT_INDICATOR_POLICY", "INDICATOR_POLICIES", "AgentMonitorNotice", "AgentMonitorState",
           "MonitorKeyVerifier", "indicator_visible", "read_monitor_key", "read_monitor_state"]
