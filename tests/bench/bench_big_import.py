"""Lead-list import speed and memory through the real CLI (``seatmate import-leads``), in a child
process per run: rows/s and the child's peak RSS for 20,000 and 200,000 rows, with a 1,000-row
reference measured in the same minutes (start-up dominates it).

    python -m tests.bench.bench_big_import                       # 20,000 and 200,000 rows
    python -m tests.bench.bench_big_import --rows 20000 --before /path/to/old/tree

``--before DIR`` also imports each list with the code in DIR (a copy of app/ core/ cache/ … from
before a change), alternating with the current tree, so before/after share the machine's load.
Writes bench-results/reliability.json (big_import_rows_per_s, big_import_peak_rss_mb).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.unit.big_import import write_list

ROOT = Path(__file__).resolve().parents[2]
_CHILD = ("import resource, runpy, sys; sys.argv = ['seatmate'] + sys.argv[1:]\n"
          "try:\n    runpy.run_module('app', run_name='__main__')\n"
          "finally:\n    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")


def measure(path: Path, rows: int, tree: Path, data: Path) -> dict:
    load = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _CHILD, "import-leads", "--data-dir", str(data),
                           "--campaign", "大名单", "--json", str(path)], capture_output=True, text=True, cwd=tree,
                          timeout=1800, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["imported"] != rows:
        raise RuntimeError(f"imported {report['imported']} of {rows}")
    peak_kb = next(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("peak_kb"))
    return {"rows": rows, "seconds": round(wall, 2), "rows_per_s": round(rows / wall),
            "peak_mb": round(peak_kb / 1024), "load": round(load, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--before", type=Path, help="an older tree to measure alternately (same minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "reliability.json")
    args = parser.parse_args()
    trees = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="seatmate-bench-import-") as tmp:
        for rows in [1_000, *args.rows]:
            path = Path(tmp) / f"leads-{rows}.csv"
            write_list(path, rows)
            for label, tree in trees:
                run = measure(path, rows, tree, Path(tmp) / f"data-{label}-{rows}")
                run["tree"] = label
                results.append(run)
                print(json.dumps(run))
    from tests.bench.results import merge_results

    rows_out: list[dict] = []
    for r in results:
        peer = f"{r['rows']:,} rows" + ("" if r["tree"] == "after" else ", code before the fix") + \
            f", load {r['load']}"
        rows_out += [{"metric": "big_import_rows_per_s", "value": r["rows_per_s"], "unit": "rows/s", "peer": peer},
                     {"metric": "big_import_peak_rss_mb", "value": r["peak_mb"], "unit": "MB", "peer": peer}]
    rows_out.append({"metric": "big_import_loadavg_1m", "value": round(os.getloadavg()[0], 2), "unit": "load"})
    merge_results(rows_out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
