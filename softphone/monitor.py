"""The monitoring bridge (监听 / 耳语 / 强插), both ends, plus the PBX feature-code strategy.

Agent side
    A TL's softphone calls the agent with a grant token in the
    ``X-Seatmate-Monitor`` header. The engine hands the token to a pluggable
    verifier (``core.grant_token.GrantVerifier``: Ed25519 signature, expiry,
    addressed agent, single use). Refused tokens get ``403 Forbidden`` and a log
    line; the agent's call is not touched. With no call in progress the monitor
    call gets ``480``. An admitted call is answered at once, silently (no ringer,
    no incoming-call signal), and mixed in the conference bridge by ``plan_links``:

    ======== ===================== ===================== ============
    mode     TL hears              agent hears TL        customer hears TL
    ======== ===================== ===================== ============
    listen   customer + agent      no                    no
    whisper  customer + agent      yes                   no
    barge    customer + agent      yes                   yes
    ======== ===================== ===================== ============

    **Mode change** = a re-INVITE on the same monitor call carrying a NEW token
    (signed for the new mode, same TL) in ``X-Seatmate-Monitor``. A valid one is
    answered 200 and the bridge is remixed; an invalid one is refused (pjsua
    answers a refused re-offer with 488 Not Acceptable Here) and the session
    keeps its old mode. (A new token per change means the server
    decides every escalation, e.g. listen -> barge.)
    The session ends when the TL hangs up or the monitored call ends (the engine
    hangs up the monitor leg then).

TL side
    ``SipEngine.monitor_start(agent_uri, token)`` places the call with the header;
    ``SipEngine.monitor_change(call_id, token)`` sends the re-INVITE.

PBX feature codes
    ``FeatureCodes`` turns a mode and an extension into the number to dial, for
    PBXs with ChanSpy-style features (``*222{ext}`` …).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from core.grant_token import MODES, SIP_HEADER, Grant, GrantError

log = logging.getLogger(__name__)

__all__ = ["MODES", "SIP_HEADER", "FeatureCodes", "GrantVerifierLike", "LegView", "MonitorGate",
           "PartyView", "plan_links", "sip_user_of"]

_USER = re.compile(r"sips?:([^@;>?:]+)@", re.IGNORECASE)
MIC = "mic"
SPEAKER = "speaker"


class GrantVerifierLike(Protocol):
    def verify(self, token: str | None) -> Grant: ...


class MonitorGate:
    """Wraps a verifier; with none configured every monitor request is refused."""

    def __init__(self, verifier: GrantVerifierLike | None) -> None:
        self.verifier = verifier

    def admit(self, token: str | None, *, tl: str | None = None, caller: str | None = None,
              call_ids: set[str] | None = None) -> Grant:
        """The grant, or GrantError. ``caller``: the SIP user the monitor call came from;
        ``call_ids``: the ids of the agent's call it would attach to (None: no call now)."""
        if self.verifier is None:
            raise GrantError("monitoring not configured")
        grant = self.verifier.verify(token)
        if tl is not None and grant.tl != tl:
            raise GrantError("token belongs to another team leader")
        problem = grant.binding_problem(caller, call_ids)
        if problem is not None:
            raise GrantError(problem)
        return grant


def sip_user_of(name_addr: str | None) -> str | None:
    """The user part of a From/To value (``"TL" <sip:3001@host>;tag=x`` → ``3001``)."""
    if not name_addr:
        return None
    m = _USER.search(name_addr)
    return m.group(1) if m else None


@dataclass(frozen=True)
class PartyView:
    """A normal (customer) call as the mixer sees it."""

    call_id: str
    active: bool   # media flowing and not on hold
    muted: bool


@dataclass(frozen=True)
class LegView:
    """A TL's monitor leg on the agent side."""

    call_id: str
    target: str    # the customer call it monitors
    mode: str
    active: bool


def plan_links(parties: Iterable[PartyView], legs: Iterable[LegView]) -> set[tuple[str, str]]:
    """Which conference links should exist: (source, sink) pairs of MIC, SPEAKER or call ids."""
    links: set[tuple[str, str]] = set()
    active = {p.call_id: p for p in parties if p.active}
    for p in active.values():
        if not p.muted:
            links.add((MIC, p.call_id))
        links.add((p.call_id, SPEAKER))
    for leg in legs:
        if not leg.active or leg.target not in active:
            continue
        links.add((leg.target, leg.call_id))      # TL hears the customer
        links.add((MIC, leg.call_id))             # TL hears the agent (even while muted to the customer)
        if leg.mode in ("whisper", "barge"):
            links.add((leg.call_id, SPEAKER))     # the agent hears the TL
        if leg.mode == "barge":
            links.add((leg.call_id, leg.target)) # the customer hears the TL
    return links


@dataclass(frozen=True)
class FeatureCodes:
    """Dial templates for the PBX feature-code strategy; ``{ext}`` is the agent's extension."""

    listen: str = "*222{ext}"
    whisper: str = "*223{ext}"
    barge: str = "*224{ext}"

    def target(self, mode: str, ext: str) -> str:
        if mode not in MODES:
            raise ValueError(f"unknown monitor mode {mode!r}")
        if not ext or not all(ch.isalnum() for ch in ext):
            raise ValueError("extension must be alphanumeric")
        return getattr(self, mode).format(ext=ext)
