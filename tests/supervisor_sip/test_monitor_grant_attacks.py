"""Bad monitor grants, each sent over SIP to the agent's real Seatmate softphone (child
process, the app's ``MonitorKeyVerifier``) through Kamailio, each refused there.

The agent (1001) talks to a customer (2001); the TL's softphone (3001, this process) calls
the agent's bridge with ``X-Seatmate-Monitor: <grant>``. For every variant — issued in the
future, a lifetime over 60 s, another TL's, another agent's, another call's, replayed, a bit
flipped in the signature and in the payload — the TL's call ends with 403, the agent's engine
reports the refusal with its reason, nothing rings on the agent's side and no TL audio is ever
bridged into the agent's call. A good grant, bound the same way, is admitted (the control).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import grant_token
from softphone.types import CallState
from tests.sip.agent import AGENT_HZ, CUSTOMER_HZ, TL_HZ, USERS

pytestmark = pytest.mark.sip

FREQS = [float(CUSTOMER_HZ), float(AGENT_HZ), float(TL_HZ)]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed(key: Ed25519PrivateKey, **claims) -> str:
    """A token with exactly these claims, signed with ``key`` (``sign`` refuses a long lifetime)."""
    body = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return _b64(body) + "." + _b64(key.sign(body))


def flip(token: str, part: int, byte: int = 5) -> str:
    """The token with one bit flipped in its payload (part 0) or its signature (part 1)."""
    pieces = token.split(".")
    raw = bytearray(_unb64(pieces[part]))
    raw[byte] ^= 0x01
    pieces[part] = _b64(bytes(raw))
    return ".".join(pieces)


def test_bad_grants_are_refused_by_the_agents_softphone_over_sip(kamailio, agent_child, tl_phone, peers) -> None:
    key = Ed25519PrivateKey.generate()
    agent_child.start_agent("1001", kamailio.domain, USERS["1001"], grant_token.public_key_b64(key))
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    first_call = agent_child.dial_answered("2001")
    tl_phone.start(tl_phone.settings(user="3001"), mic_hz=TL_HZ)
    tl_phone.wait_registered()
    uri = f"sip:1001@{kamailio.domain}"

    def grant(**over) -> str:
        claims = {"agent": "1001", "tl": "tl-a", "mode": "listen", "caller": "3001", "call": call} | over
        return grant_token.sign(key, **claims)

    # A grant for the call the agent is on now; that call ends, the agent takes the next one.
    call = first_call
    earlier = grant()
    m = agent_child.events.mark()
    agent_child.cmd("hangup", call_id=first_call)
    agent_child.wait("call", start=m, call_id=first_call, state="ended")
    call = agent_child.dial_answered("2001")
    assert call != first_call

    def place(token: str) -> tuple[int, dict]:
        """The TL's monitor call with this token: its final SIP code and the agent's report."""
        m_tl, m_agent = tl_phone.events.mark(), agent_child.events.mark()
        leg = tl_phone.engine.monitor_start(uri, token).result(5)
        info = tl_phone.events.wait_for(
            lambda e: e[0] == "call" and e[1].call_id == leg and e[1].state in (CallState.ANSWERED, CallState.ENDED),
            15, "monitor leg answered or ended", start=m_tl)[1]
        report = agent_child.events.wait_for(
            lambda e: e.get("event") == "monitor" and (e["active"] or e["reason"].startswith("refused")),
            10, "agent's monitor report", start=m_agent)
        if info.state is CallState.ANSWERED:
            tl_phone.engine.hangup(leg).result(5)
            tl_phone.wait_call(CallState.ENDED, leg, start=m_tl)
            agent_child.events.wait_for(lambda e: e.get("event") == "monitor" and not e["active"], 10,
                                        "the admitted leg's end", start=m_agent)
            return 200, report
        return info.sip_code, report

    # The control: a grant bound to this TL and this call is admitted (and then spent).
    good = grant()
    code, report = place(good)
    assert code == 200 and report["active"] and report["mode"] == "listen" and report["tl"] == "tl-a", report

    now = int(time.time())
    long_lived = {"agent": "1001", "tl": "tl-a", "mode": "barge", "iat": now, "exp": now + 3600,
                  "jti": "long-lived", "from": "3001", "call": call}
    cases = {
        "future-issued": (grant(now=time.time() + 600), "issued in the future"),
        "over-long lifetime": (signed(key, **long_lived), "lifetime too long"),
        "another TL's": (grant(tl="tl-b", caller="3002"), "sent by another team leader"),
        "another agent's": (grant(agent="1002"), "addressed to another agent"),
        "another call's": (earlier, "issued for another call"),
        "replayed": (good, "replayed"),
        "bit-flipped signature": (flip(grant(), 1), "bad signature"),
        "bit-flipped payload": (flip(grant(mode="barge"), 0, byte=12), "bad signature"),
    }
    for case, (token, reason) in cases.items():
        code, report = place(token)
        assert code == 403, (case, code)
        assert not report["active"] and report["reason"] == f"refused: {reason}", (case, report)

    # Nothing rang and nothing was bridged: the agent's call is up, the agent hears the customer
    # and never the TL, and the customer never hears the TL.
    events = agent_child.events.since(0)
    assert not [e for e in events if e.get("event") == "incoming"]
    assert not [e for e in events if e.get("event") == "call" and e.get("call_id") == call
                and e.get("state") == "ended"]
    admitted = [e for e in events if e.get("event") == "monitor" and e.get("active")]
    assert len(admitted) == 1, admitted  # the control only
    heard = agent_child.capture(0.6, FREQS)
    assert heard[float(CUSTOMER_HZ)] > 0.05 and heard[float(TL_HZ)] < 0.01, heard
    cust.send("hangup")
