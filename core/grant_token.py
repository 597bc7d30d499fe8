"""Monitor grant tokens: the server signs them, the agent's softphone verifies them.

Format (also in docs/monitoring.md): ``base64url(payload_json) + "." +
base64url(ed25519_signature(payload_bytes))`` without padding. The payload is a
JSON object with ``agent`` (the agent's SIP user), ``tl`` (the team leader's
user id), ``mode`` (listen | whisper | barge), ``iat`` and ``exp`` (Unix
seconds, exp - iat <= 60) and ``jti`` (a unique id, accepted once). Two optional claims bind
a grant further (the server sets both when it knows them): ``from`` (the SIP user the monitor
call must come from: the TL's softphone — a grant lifted from another TL is refused) and
``call`` (the agent's call it was issued for — a grant kept from an earlier call is refused).

No Qt here: the server imports this module too.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: cryptography costs ~7 MB and ~25 ms, and the
    # softphone imports this module at start-up although most agents never see a grant
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MODES = ("listen", "whisper", "barge")
MAX_LIFETIME_S = 60
SIP_HEADER = "X-Seatmate-Monitor"


class GrantError(ValueError):
    """Why a token was refused; the message is safe to log."""


@dataclass(frozen=True)
class Grant:
    agent: str
    tl: str
    mode: str
    iat: int
    exp: int
    jti: str
    caller: str = ""  # the ``from`` claim: the SIP user the monitor call must come from ("" = any)
    call: str = ""  # the ``call`` claim: the agent's call this grant is for ("" = any)

    def binding_problem(self, caller: str | None, call_ids: set[str] | None) -> str | None:
        """Why this grant may not be used by ``caller`` on the agent's call known by ``call_ids``
        (None: it may). Only the claims the grant carries are checked."""
        if self.caller and caller is not None and caller != self.caller:
            return "sent by another team leader"
        if self.call and call_ids is not None and self.call not in call_ids:
            return "issued for another call"
        return None


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64e(raw)


def load_public_key(b64: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(_b64d(b64))


def sign(private_key: Ed25519PrivateKey, *, agent: str, tl: str, mode: str,
         lifetime_s: int = MAX_LIFETIME_S, now: float | None = None, jti: str | None = None,
         caller: str | None = None, call: str | None = None) -> str:
    if mode not in MODES:
        raise GrantError(f"unknown mode {mode!r}")
    if not 0 < lifetime_s <= MAX_LIFETIME_S:
        raise GrantError("lifetime must be 1..60 s")
    iat = int(now if now is not None else time.time())
    payload = {"agent": agent, "tl": tl, "mode": mode, "iat": iat, "exp": iat + lifetime_s,
               "jti": jti or uuid.uuid4().hex}
    if caller:
        payload["from"] = caller
    if call:
        payload["call"] = call
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return _b64e(body) + "." + _b64e(private_key.sign(body))


class GrantVerifier:
    """Checks signature, expiry, target and single use. Not thread-safe: one owner thread."""

    def __init__(self, public_key: Ed25519PublicKey, expected_agent: str, clock_skew_s: int = 5) -> None:
        self._key = public_key
        self._agent = expected_agent
        self._skew = clock_skew_s
        self._seen: dict[str, int] = {}  # jti -> exp, pruned as they expire

    def verify(self, token: str | None, now: float | None = None) -> Grant:
        if not token:
            raise GrantError("no grant token")
        now_i = int(now if now is not None else time.time())
        try:
            body_b64, sig_b64 = token.strip().split(".", 1)
            body, sig = _b64d(body_b64), _b64d(sig_b64)
        except (ValueError, TypeError) as exc:
            raise GrantError("malformed token") from exc
        from cryptography.exceptions import InvalidSignature

        try:
            self._key.verify(sig, body)
        except InvalidSignature as exc:
            raise GrantError("bad signature") from exc
        try:
            data = json.loads(body)
            grant = Grant(agent=str(data["agent"]), tl=str(data["tl"]), mode=str(data["mode"]),
                          iat=int(data["iat"]), exp=int(data["exp"]), jti=str(data["jti"]),
                          caller=str(data.get("from") or ""), call=str(data.get("call") or ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise GrantError("malformed payload") from exc
        if grant.mode not in MODES:
            raise GrantError("unknown mode")
        if grant.exp - grant.iat > MAX_LIFETIME_S:
            raise GrantError("lifetime too long")
        if now_i > grant.exp + self._skew:
            raise GrantError("expired")
        if grant.iat > now_i + self._skew:
            raise GrantError("issued in the future")
        if grant.agent != self._agent:
            raise GrantError("addressed to another agent")
        self._seen = {j: e for j, e in self._seen.items() if e + self._skew >= now_i}
        if grant.jti in self._seen:
            raise GrantError("replayed")
        self._seen[grant.jti] = grant.exp
        return grant
