"""The compliance gate by property, short version (the long one: ``python -m tests.unit.compliance_campaign``).

Hypothesis dials through the app's real call loop (controller → cache → gate) against an
oracle written from the design's compliance rules; see tests/unit/compliance_campaign.py.
The two scenarios below are what the campaign found, kept as fixed regressions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.unit.compliance_campaign import Campaign, Rules, Scenario, Step, report, run_campaign, scratch_dir

# 100 examples (~280 dials) reach every rule with seed 15; the long campaign runs 4,000.
SUITE_EXAMPLES = int(os.environ.get("SEATMATE_COMPLIANCE_EXAMPLES", "100"))
ALL_DAY = Rules(((0, 1440),), None, 5, 0, "Asia/Shanghai")


def _step(**changes) -> Step:
    base = dict(advance_s=60, sync=None, network="keep", agent="ready", callback_in_min=None, mode="manual",
                answered=False, code="DNC")
    return Step(**{**base, **changes})


def test_property_campaign_places_no_call_the_rules_forbid(qapp) -> None:
    started = time.monotonic()
    with scratch_dir() as folder:
        camp = run_campaign(SUITE_EXAMPLES, 15, Path(folder))
    rep = report(camp, SUITE_EXAMPLES, 15, time.monotonic() - started)
    print({k: rep[k] for k in ("attempts", "placed", "refused", "seconds", "reasons")})
    assert rep["attempts"] >= 2 * SUITE_EXAMPLES and rep["placed"] > 30 and rep["refused"] > 50
    assert camp.failures == []
    for key in ("placed_outside_window", "placed_to_blocked", "over_limit", "placed_when_not_allowed",
                "refusals_unexplained", "refused_but_allowed"):
        assert rep[key] == 0, key
    # The campaign reached every rule, not only the easy ones.
    codes = " ".join(rep["reasons"])
    for code in ("gate.hard_window", "gate.window", "gate.dnc_local", "gate.dnc_server", "gate.attempts",
                 "gate.gap", "dial.paused", "dial.offline"):
        assert code in codes, code


def test_a_sync_tombstone_does_not_lift_the_customers_own_refusal(qapp, tmp_path: Path) -> None:
    """The customer says 拒绝再联系 on a call; then a pulled page removes the number's
    do-not-call entry (an older server change). The number stays blocked."""
    camp = Campaign(tmp_path)
    try:
        camp.run(Scenario(ALL_DAY, 0, 10 * 60, 0, 1, (),
                          (_step(answered=True), _step(sync=("delete", 0, 10)), _step())))
        # The server first sends an entry of its own for the number (it used to turn the
        # refusal into a "server" entry), then withdraws it.
        camp.run(Scenario(ALL_DAY, 0, 10 * 60, 0, 1, (),
                          (_step(mode="manual_other", answered=True), _step(mode="manual_other", sync=("upsert", 2, -300)),
                           _step(mode="manual_other", sync=("delete", 2, 0)), _step(mode="manual_other"))))
    finally:
        camp.close()
    assert camp.failures == [] and camp.counts["placed_to_blocked"] == 0
    assert camp.counts["placed"] == 2 and camp.reasons["gate.dnc_local"] == 5


def test_a_dialpad_call_without_a_lead_can_be_wrapped_up_and_its_refusal_blocks(qapp, tmp_path: Path) -> None:
    """A number no lead has, dialled from the dialpad: the wrap-up saves (it used to fail on
    the disposition's missing lead and block every later dial) and 拒绝再联系 blocks it."""
    camp = Campaign(tmp_path)
    try:
        camp.run(Scenario(ALL_DAY, 0, 10 * 60, 0, 1, (),
                          (_step(mode="manual_other", answered=True), _step(mode="manual_other"),
                           _step(mode="preview"))))
    finally:
        camp.close()
    assert camp.failures == []
    assert camp.counts["placed"] == 2  # the number, then the lead (the blocked number refused between)
    assert camp.reasons["gate.dnc_local"] == 1 and camp.counts["placed_to_blocked"] == 0


def test_a_refusal_on_a_number_the_server_had_blocked_survives_its_tombstone(qapp, tmp_path: Path) -> None:
    """The server's entry for the number arrives; the customer calls in and says 拒绝再联系; the
    server later withdraws its old entry. The refusal (now the customer's own) still blocks."""
    camp = Campaign(tmp_path)
    try:
        camp.run(Scenario(ALL_DAY, 0, 10 * 60, 0, 1, (),
                          (_step(sync=("upsert", 0, 17), mode="inbound", answered=True),
                           _step(sync=("delete", 0, 300)))))
    finally:
        camp.close()
    assert camp.failures == [] and camp.counts["placed"] == 0 and camp.reasons["gate.dnc_local"] == 1


def test_a_callback_tried_days_ago_gives_no_second_waiver(qapp, tmp_path: Path) -> None:
    """The callback fell due three days ago and was tried two and a half days ago: today's call
    keeps to the campaign's window (the waiver is for the first try after it fell due)."""
    camp = Campaign(tmp_path)
    morning_only = Rules(((9 * 60, 12 * 60),), None, 5, 0, "Asia/Shanghai")
    try:
        camp.run(Scenario(morning_only, 0, 15 * 60, 0, 1, ((int(2.5 * 1440), "out"),),
                          (_step(advance_s=0, callback_in_min=-3 * 1440, mode="preview"),)))
    finally:
        camp.close()
    assert camp.failures == [] and camp.counts["placed"] == 0 and camp.reasons["gate.window"] == 1
