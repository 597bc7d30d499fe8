"""Fixtures for the softphone integration tests: a private Kamailio, pjsua2 peers, sipp, the engine.

Everything listens on 127.0.0.1 with ephemeral ports; every wait is event-driven and bounded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from softphone.engine import SipEngine  # noqa: E402
from tests.sip import fixtures as sip_fixtures  # noqa: E402
from tests.sip.agent import Agent  # noqa: E402
from tests.sip.kamailio import Kamailio  # noqa: E402
from tests.sip.sipp import SippUas  # noqa: E402

pytestmark = pytest.mark.sip

# the shared fixtures (tests/sip/fixtures.py)
kamailio = sip_fixtures.kamailio
peers = sip_fixtures.peers


@pytest.fixture
def agent(kamailio: Kamailio) -> Iterator[Agent]:
    a = Agent(SipEngine(), kamailio)
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def sipp() -> Iterator[Callable[..., SippUas]]:
    started: list[SippUas] = []

    def make(scenario: str, **kw: Any) -> SippUas:
        s = SippUas(scenario, **kw).start()
        started.append(s)
        return s

    try:
        yield make
    finally:
        for s in started:
            s.stop()
