"""The server refuses a presence claim about a lead that is not the caller's (403 not_your_lead,
server/payload_rules.py); the client then sends the state without the lead instead of going offline."""

from __future__ import annotations

from sync.client import RequestRejected
from sync.presence import PresenceReporter


class FakeClient:
    def __init__(self, mine: set[str]) -> None:
        self.mine = mine
        self.sent: list[tuple[str, str | None]] = []

    def presence(self, state, *, reason=None, call_id=None, lead_id=None):
        if lead_id is not None and lead_id not in self.mine:
            raise RequestRejected(403, "lead is not assigned to you", "not_your_lead")
        self.sent.append((state, lead_id))


def test_a_reclaimed_lead_is_dropped_from_presence_not_the_state():
    client = FakeClient(mine={"L1"})
    rep = PresenceReporter(client)  # type: ignore[arg-type]
    assert rep.set_state("on_call", call_id="c1", lead_id="L1")
    assert rep.set_state("on_call", call_id="c2", lead_id="L2")  # reclaimed meanwhile
    assert client.sent == [("on_call", "L1"), ("on_call", None)]
    assert rep.reachable is True and rep.current.lead_id is None
    assert rep.beat() and client.sent[-1] == ("on_call", None)


def test_other_refusals_still_count_as_not_sent():
    class Refusing(FakeClient):
        def presence(self, state, **kw):
            raise RequestRejected(422, "bad state", "invalid_request")

    rep = PresenceReporter(Refusing(set()))  # type: ignore[arg-type]
    assert not rep.set_state("ready")
    assert rep.reachable is False
