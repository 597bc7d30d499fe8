"""Monitor grant tokens: only a fresh, signed token for this agent, once."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.grant_token import GrantError, GrantVerifier, load_public_key, public_key_b64, sign

NOW = 1_800_000_000


@pytest.fixture()
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _verifier(key: Ed25519PrivateKey, agent: str = "1001") -> GrantVerifier:
    return GrantVerifier(load_public_key(public_key_b64(key)), expected_agent=agent)


def test_valid_token_accepted_once(key: Ed25519PrivateKey) -> None:
    token = sign(key, agent="1001", tl="tl-7", mode="whisper", now=NOW)
    verifier = _verifier(key)
    grant = verifier.verify(token, now=NOW + 1)
    assert (grant.agent, grant.tl, grant.mode) == ("1001", "tl-7", "whisper")
    with pytest.raises(GrantError, match="replayed"):
        verifier.verify(token, now=NOW + 2)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda k: sign(Ed25519PrivateKey.generate(), agent="1001", tl="t", mode="listen", now=NOW), "signature"),
        (lambda k: sign(k, agent="1001", tl="t", mode="listen", now=NOW - 120), "expired"),
        (lambda k: sign(k, agent="1002", tl="t", mode="listen", now=NOW), "another agent"),
        (lambda k: "", "no grant"),
        (lambda k: "not-a-token", "malformed"),
        (lambda k: sign(k, agent="1001", tl="t", mode="listen", now=NOW)[:-3] + "AAA", "signature"),
    ],
)
def test_bad_tokens_refused(key: Ed25519PrivateKey, make, reason: str) -> None:
    with pytest.raises(GrantError, match=reason):
        _verifier(key).verify(make(key), now=NOW)


def test_lifetime_capped(key: Ed25519PrivateKey) -> None:
    with pytest.raises(GrantError):
        sign(key, agent="1001", tl="t", mode="barge", lifetime_s=600)


def test_bindings_to_the_caller_and_the_call(key: Ed25519PrivateKey) -> None:
    """``from`` and ``call`` claims: checked by the agent's softphone (softphone.monitor.MonitorGate)."""
    from softphone.monitor import MonitorGate, sip_user_of

    bound = sign(key, agent="1001", tl="tl-7", mode="listen", now=NOW, caller="3001", call="c-1")
    grant = _verifier(key).verify(bound, now=NOW)
    assert (grant.caller, grant.call) == ("3001", "c-1")
    assert grant.binding_problem("3001", {"c-1", "x"}) is None
    assert grant.binding_problem("3002", {"c-1"}) == "sent by another team leader"
    assert grant.binding_problem("3001", {"c-2"}) == "issued for another call"
    # A grant without the claims (an older server) is not bound.
    free = _verifier(key).verify(sign(key, agent="1001", tl="tl-7", mode="listen", now=NOW), now=NOW)
    assert free.binding_problem("anyone", {"any"}) is None

    class Clocked:
        def __init__(self) -> None:
            self.inner = _verifier(key)

        def verify(self, token):
            return self.inner.verify(token, now=NOW)

    gate = MonitorGate(Clocked())
    with pytest.raises(GrantError, match="another team leader"):
        gate.admit(sign(key, agent="1001", tl="tl-7", mode="listen", now=NOW, caller="3001", jti="a"),
                   caller="3002", call_ids={"c-1"})
    with pytest.raises(GrantError, match="another call"):
        gate.admit(sign(key, agent="1001", tl="tl-7", mode="listen", now=NOW, call="c-1", jti="b"),
                   caller="3001", call_ids={"c-9"})
    assert gate.admit(bound, caller="3001", call_ids={"c-1"}).mode == "listen"
    assert sip_user_of('"张伟" <sip:3001@127.0.0.1:5060>;tag=ab') == "3001"
    assert sip_user_of("<sips:tl.a@example.org>") == "tl.a"
    assert sip_user_of(None) is None and sip_user_of("garbage") is None
