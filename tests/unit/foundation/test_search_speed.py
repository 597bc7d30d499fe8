"""One search keystroke over 100,000 leads takes ≤ 50 ms (the issue's target), measured on a real cache."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from cache.db import open_cache
from cache.repository import Repository

from .conftest import copy_cache

TYPED = ["z", "zh", "zha", "zhan", "zhang", "zhangw", "zhangwe", "zhangwei", "", "张", "张伟", "", "5", "56",
         "567", "5678", "", "鄂", "鄂e", "鄂e1", "", "zw"]
LIMIT_MS = 50.0


def test_keystrokes_over_100k_leads(big_cache_template: Path, tmp_path: Path) -> None:
    h = open_cache(copy_cache(big_cache_template, tmp_path))
    try:
        repo = Repository(h)
        t0 = time.perf_counter()
        repo.warm_up()
        build_s = time.perf_counter() - t0
        assert len(repo.search_lead_ids("")) == 100_000
        # The machine is shared with other test processes: take each keystroke's best of 3 typing runs.
        best: dict[tuple[int, str | None], float] = {}
        for _run in range(3):
            for tab in (None, "todo", "callbacks"):
                for i, text in enumerate(TYPED):
                    start = time.perf_counter()
                    ids = repo.search_hits(text, tab=tab)  # what the list runs per keystroke
                    rows = repo.lead_rows(ids[:50]) if ids else []
                    ms = (time.perf_counter() - start) * 1000
                    key = (i, tab)
                    best[key] = min(best.get(key, ms), ms)
                    assert len(rows) == min(50, len(ids))
        slow = {f"{TYPED[i]!r}/{tab}": round(ms, 1) for (i, tab), ms in best.items() if ms > LIMIT_MS}
        assert not slow, f"keystrokes over {LIMIT_MS} ms: {slow}"
        assert statistics.median(best.values()) < LIMIT_MS / 2
        assert build_s < 10, build_s  # generous: the benchmark reports the real figure
        # Results are right, not just fast.
        names = [r.name for r in repo.lead_rows(repo.search_lead_ids("zhangwei"))]
        assert names and all(n.startswith("张") for n in names)
        tails = repo.search_lead_ids("5678")
        assert tails and len(tails) < 200
    finally:
        h.close()
