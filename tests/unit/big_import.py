"""A big lead list through the real CLI (``seatmate import-leads``) in a child process: wall
time and the child's peak memory.

    python -m tests.unit.big_import --rows 200000

prints the numbers and merges them into bench-results/reliability.json; the suite runs
3,000 rows against a 300-row reference (tests/unit/test_bad_input.py). Before/after numbers for 20,000 and
200,000 rows: ``python -m tests.bench.bench_big_import``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["外部编号", "姓名", "手机", "城市", "上年保费", "车牌", "保单到期日", "优先级"]


def write_list(path: Path, rows: int, seed: int = 15) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow([f"L{i:07d}", f"客户{i}", f"13{rnd.randrange(5, 10)}{i:08d}", "武汉",
                        str(rnd.randrange(2000, 6000)), f"鄂A{i % 100000:05d}",
                        f"2026-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}", str(rnd.randrange(1, 4))])


def measure(rows: int, folder: Path) -> dict:
    """Generate the list, import it into a fresh data folder; wall seconds and peak RSS (MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"leads-{rows}.csv"
    write_list(path, rows)
    code = ("import resource, runpy, sys; sys.argv = ['seatmate'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('app', run_name='__main__')\n"
            "finally:\n    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "import-leads", "--data-dir", str(folder / "data"),
                           "--campaign", "大名单", "--json", str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=1800, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kb = next(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("peak_kb"))
    return {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1), "imported": report["imported"],
            "skipped": len(report["skipped"]), "seconds": round(wall, 1), "rows_per_s": round(rows / wall),
            "peak_mb": round(peak_kb / 1024), "load": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "reliability.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seatmate-big-import-") as tmp:
        reference = measure(1_000, Path(tmp) / "ref")  # same machine, same moment: the small-size cost
        result = measure(args.rows, Path(tmp) / "big")
    print(json.dumps({"reference_1000": reference, "result": result}, ensure_ascii=False))
    from tests.bench.results import merge_results

    merge_results([
        {"metric": "lead_import_rows", "value": result["rows"], "unit": "rows"},
        {"metric": "lead_import_seconds", "value": result["seconds"], "unit": "s"},
        {"metric": "lead_import_rows_per_s", "value": result["rows_per_s"], "unit": "rows/s"},
        {"metric": "lead_import_peak_rss", "value": result["peak_mb"], "unit": "MB"},
        {"metric": "lead_import_rows_per_s_1000", "value": reference["rows_per_s"], "unit": "rows/s",
         "peer": "1,000-row import in the same run"},
        {"metric": "lead_import_loadavg_1m", "value": result["load"], "unit": "load"},
    ], args.out)
    return 0 if result["imported"] == args.rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
