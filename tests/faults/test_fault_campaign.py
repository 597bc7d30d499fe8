"""The fault campaign, short: ~100 faults against the real server and two client processes."""

from __future__ import annotations

from tests.faults.campaign import run_campaign


def test_short_fault_campaign_loses_nothing_and_applies_nothing_twice(tmp_path):
    result = run_campaign(100, tmp_path, seed=5, deadline_s=150)
    print(result.table())
    assert result.total_faults >= 100, result.table()
    assert result.events_created > 0
    assert result.lost == 0, result.table()
    assert result.applied_twice == 0, result.table()
    assert result.pending_left == 0, result.table()
    assert result.crashes == 0, result.table()
    assert result.events_on_server == result.events_created, result.table()
