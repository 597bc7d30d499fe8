"""Fixtures for monitoring with three real SIP parties through a private Kamailio on loopback.

The TL's Seatmate engine runs in this process (pjsua2: one Endpoint per process), the
agent's in a child process (tests/sip/engine_child.py), the customer is a pjsua2 peer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from softphone.engine import SipEngine  # noqa: E402
from tests.sip import fixtures as sip_fixtures  # noqa: E402
from tests.sip.agent import Agent  # noqa: E402
from tests.sip.kamailio import Kamailio  # noqa: E402
from tests.sip.monitor_parties import EngineChild  # noqa: E402

pytestmark = pytest.mark.sip

# the shared fixtures (tests/sip/fixtures.py)
kamailio = sip_fixtures.kamailio
peers = sip_fixtures.peers


@pytest.fixture
def tl_phone(kamailio: Kamailio, qapp) -> Iterator[Agent]:
    """The TL's softphone (in this process)."""
    a = Agent(SipEngine(), kamailio)
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def agent_child() -> Iterator[EngineChild]:
    child = EngineChild().start()
    try:
        yield child
    finally:
        child.stop()
