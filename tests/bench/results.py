"""bench-results/<area>.json: a list of {"metric", "value", "unit"} rows ("peer" on reference rows).

Several benchmarks share one area file (supervisor.json: the board, the board's UI, monitoring),
so each merges its rows by metric name instead of rewriting the file.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench-results"


def merge_results(rows: list[dict], out: Path) -> None:
    """Replace this benchmark's rows in ``out`` (same metric names) and keep everyone else's."""
    existing: list[dict] = []
    if out.exists():
        try:
            existing = json.loads(out.read_text(encoding="utf-8"))
        except ValueError:
            existing = []  # a half-written file from a killed run: start over
    mine = {r["metric"] for r in rows}
    kept = [r for r in existing if r.get("metric") not in mine]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kept + rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
