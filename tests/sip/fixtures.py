"""The pytest fixtures the SIP test folders share; a conftest imports the ones it uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sip.agent import USERS
from tests.sip.kamailio import Kamailio
from tests.sip.peer import PeerProcess


@pytest.fixture(scope="module")
def kamailio() -> Iterator[Kamailio]:
    """A private Kamailio on loopback with tests.sip.agent's USERS, for one test module."""
    k = Kamailio(USERS)
    k.start()
    try:
        yield k
    finally:
        k.stop()


@pytest.fixture
def peers(kamailio: Kamailio) -> Iterator[Callable[..., PeerProcess]]:
    """make(user=None, *args): a pjsua2 peer process, registered (and waited for) when a user is given."""
    started: list[PeerProcess] = []

    def make(user: str | None = None, *args: str) -> PeerProcess:
        argv = list(args)
        if user is not None:
            argv = ["--user", user, "--register", kamailio.uri, "--password", USERS[user], *argv]
        p = PeerProcess(*argv).start()
        started.append(p)
        if user is not None:
            p.wait("reg", active=True, timeout=15)
        return p

    try:
        yield make
    finally:
        for p in started:
            p.stop()
