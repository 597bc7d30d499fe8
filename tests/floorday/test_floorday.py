"""The floor-day, short: 2 agents × 10 calls and the TL, each the real app in its own process driven
through its UI, a network cut for each agent and one kill -9 + restart; the server's daily report
must equal each agent's KPI strip and what the driver did (see tests/floorday/run.py)."""

from __future__ import annotations

import pytest

from tests.floorday.run import run_floorday, table


@pytest.mark.timeout(300)
def test_short_floor_day_report_equals_kpi_strip_equals_what_was_done(tmp_path):
    lines: list[str] = []
    result = run_floorday(2, 10, seed=3, restart=True, tl=True, workdir=tmp_path / "day",
                          out=tmp_path / "floorday.json", log=lines.append)
    rows = result.get("rows", [])
    summary = "\n".join([*lines, table(rows), *result.get("problems", [])])
    print(summary)
    assert result["ok"], summary
    assert len(rows) == 2 and all(r["driver"]["calls_made"] == 10 for r in rows), summary
    assert sum(r["restarts"] for r in rows) == 1, summary
    assert all(r["offline_calls"] > 0 for r in rows), summary  # worked through the network cut
    assert all(r["dnc_blocked"] == 2 for r in rows) and result["tl_dnc_blocked"] == 2, summary
    assert sum(r["questions"] for r in rows) == 2, summary
