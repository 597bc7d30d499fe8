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
