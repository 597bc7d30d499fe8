"""TLS signalling with server certificate verification (custom CA) and SRTP, through Kamailio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from softphone.account import Srtp, Transport
from softphone.types import CallState
from tests.sip.agent import CUSTOMER_HZ, USERS, Agent
from tests.sip.certs import TlsFiles, make_tls_files
from tests.sip.kamailio import Kamailio
from tests.sip.peer import dominant_hz

pytestmark = pytest.mark.sip


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def kamailio(tls_files: TlsFiles) -> Iterator[Kamailio]:  # overrides conftest's: this one speaks TLS
    k = Kamailio(USERS, tls=tls_files)
    k.start()
    try:
        yield k
    finally:
        k.stop()


def tls_settings(agent: Agent, ca: Path, **kw):
    k = agent.kamailio
    return agent.settings(transport=Transport.TLS, domain=f"127.0.0.1:{k.tls_port}", tls_ca_file=str(ca), **kw)


def test_tls_registers_with_custom_ca(agent: Agent, tls_files: TlsFiles) -> None:
    agent.start(tls_settings(agent, tls_files.ca_cert))
    reg = agent.wait_registered()
    assert "transport=tls" in reg.registrar


def test_tls_refuses_a_server_signed_by_an_unknown_ca(agent: Agent, tmp_path) -> None:
    rogue = make_tls_files(tmp_path / "rogue", ca_name="Someone Else")
    agent.start(tls_settings(agent, rogue.ca_cert))  # verification is on by default
    reg = agent.events.wait_for(lambda e: e[0] == "registration" and not e[1].registered and e[1].code != 100,
                                15, "TLS failure")[1]
    assert reg.registered is False
    assert not agent.events.find(lambda e: e[0] == "registration" and e[1].registered)


def test_srtp_mandatory_over_tls_talks_to_an_srtp_peer(agent: Agent, peers, tls_files: TlsFiles) -> None:
    cust = peers("2001", "--auto-answer", "200", "--tone", str(CUSTOMER_HZ), "--srtp", "optional")
    agent.start(tls_settings(agent, tls_files.ca_cert, srtp=Srtp.MANDATORY))
    agent.wait_registered()
    call_id = agent.engine.dial("2001").result(5)
    agent.wait_call(CallState.ANSWERED, call_id)
    media = agent.wait_event("media", lambda m: m.call_id == call_id and m.active)
    assert media.srtp
    assert agent.audio is not None
    assert abs(dominant_hz(agent.audio.capture(0.8)) - CUSTOMER_HZ) < 15
    agent.engine.hangup(call_id).result(5)
    agent.wait_call(CallState.ENDED, call_id)
    cust.wait("state", state="DISCONNECTED")


def test_srtp_mandatory_refuses_a_plain_rtp_peer(agent: Agent, peers, tls_files: TlsFiles) -> None:
    peers("2002", "--auto-answer", "200", "--srtp", "off")
    agent.start(tls_settings(agent, tls_files.ca_cert, srtp=Srtp.MANDATORY))
    agent.wait_registered()
    call_id = agent.engine.dial("2002").result(5)
    ended = agent.wait_call(CallState.ENDED, call_id)
    assert ended.answered_at is None
    assert ended.suggested_disposition == "FAILED"

