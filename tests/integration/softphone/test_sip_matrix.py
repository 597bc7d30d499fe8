"""The SIP answer matrix over the wire (sip_matrix.py): for every answer — 180/183 with and without
SDP, a redirect, 401/407 challenge loops, 403 … 603, no answer at all, BYE before ACK, a re-INVITE
with a new codec, a malformed SDP — the engine's final state, the SIP code, the message the agent
sees, the suggested disposition, no call left behind, and the next call answered."""

from __future__ import annotations

import pytest

from tests.integration.softphone.sip_matrix import CASES, Case, run_case
from tests.sip.agent import Agent, engine_config

pytestmark = pytest.mark.sip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sip_answer(agent: Agent, sipp, case: Case) -> None:
    agent.start(config=engine_config(no_answer_timeout_s=20.0))
    agent.wait_registered()
    row = run_case(agent, case, sipp)
    print(row)
    assert row.state == "ended", row
    assert row.answered is case.answered, row
    if case.code is not None:
        assert row.sip_code == case.code, row
    assert row.disposition == case.disposition, row
    assert (row.message or None) == case.message, row
    assert row.stuck == 0, row
    assert row.next_call_ok, row
    if case.scenario == "uas_challenge_loop":
        assert row.invites is not None and 2 <= row.invites <= 8, row  # retried, then gave up: no loop
    if case.scenario == "uas_reinvite_codec":
        assert any(n.startswith("media ") and n.endswith("PCMA") for n in row.notes), row  # the new codec
    if case.sipp_ok and case.scenario is not None:
        assert row.sipp_exit == 0, row
