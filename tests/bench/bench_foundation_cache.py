"""Benchmark of the local cache under the lead list: 100,000 generated leads.

Run: ``.venv/bin/python -m tests.bench.bench_foundation_cache [--leads N]``
Prints a table and writes bench-results/foundation_cache.json.

Measured in a fresh child process (as the app would start): time from
process start to a searchable index with the first page of rows, each
search keystroke (typed name, pinyin, number tail, plate; with the lead
list's first page of rows), a customer card, and the process's RSS.
The whole-window figures (start to usable window) are in the UI's benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TYPED = ["z", "zh", "zha", "zhan", "zhang", "zhangw", "zhangwe", "zhangwei", "", "张", "张伟", "", "5", "56",
         "567", "5678", "", "鄂", "鄂e", "鄂e1", "", "zw", "l", "li", "liu", "liuy", "liuya", "liuyan"]

CHILD = r"""
import json, sys, time
t_spawn = float(sys.argv[2])
from pathlib import Path
from cache.db import open_cache
from cache.repository import Repository
t_imports = time.time()
h = open_cache(Path(sys.argv[1]))
repo = Repository(h)
t_open = time.time()
s = time.perf_counter()
total, first = repo.first_page_ids("todo", 100)
repo.lead_rows(first)
first_page_sql_ms = (time.perf_counter() - s) * 1000
repo.warm_up()
ids = repo.search_lead_ids("", tab="todo")
rows = repo.lead_rows(ids[:100])
t_ready = time.time()
cpu_ready = time.process_time()  # CPU used since the process started: robust on a busy machine
keys = []
for run in range(3):
    for tab in ("todo", None, "callbacks"):
        for text in sys.argv[3].split("|"):
            s = time.perf_counter()
            found = repo.search_lead_ids(text, tab=tab)
            repo.lead_rows(found[:100])
            keys.append((time.perf_counter() - s) * 1000)
s = time.perf_counter()
detail = repo.lead_detail(ids[0])
detail_ms = (time.perf_counter() - s) * 1000
s = time.perf_counter()
repo.lead_rows(ids[5000:5100])
page_ms = (time.perf_counter() - s) * 1000
status = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith(("VmRSS", "VmHWM")))
mb = lambda k: int(status[k].split()[0]) / 1024
print(json.dumps({"imports_ms": (t_imports - t_spawn) * 1000, "open_ms": (t_open - t_imports) * 1000,
                  "index_ms": (t_ready - t_open) * 1000, "ready_ms": (t_ready - t_spawn) * 1000,
                  "cpu_ready_ms": cpu_ready * 1000,
                  "keys": keys, "detail_ms": detail_ms, "first_page_sql_ms": first_page_sql_ms, "page_ms": page_ms,
                  "rss_mb": mb("VmRSS"), "peak_rss_mb": mb("VmHWM"), "rows": len(rows)}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=100_000)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from app.demo.generated import generate_leads
    from cache.db import open_cache

    with tempfile.TemporaryDirectory(prefix="seatmate-bench-") as tmp:
        path = Path(tmp) / "cache.sqlite3"
        t = time.perf_counter()
        h = open_cache(path)
        generate_leads(h, args.leads)
        with h.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        h.close()
        gen_s = time.perf_counter() - t
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), repr(time.time()), "|".join(TYPED)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        r = json.loads(proc.stdout)
    keys = sorted(r["keys"])
    p95 = keys[int(len(keys) * 0.95) - 1]
    results = [
        ("leads", args.leads, "count"),
        ("generate_cache", round(gen_s, 1), "s"),
        ("start_imports", round(r["imports_ms"]), "ms"),
        ("open_cache", round(r["open_ms"]), "ms"),
        ("first_page_from_sql_before_index", round(r["first_page_sql_ms"]), "ms"),
        ("build_search_index_and_first_page", round(r["index_ms"]), "ms"),
        ("process_start_to_first_page", round(r["ready_ms"]), "ms"),
        ("process_start_to_first_page_cpu", round(r["cpu_ready_ms"]), "ms"),
        ("keystroke_median", round(statistics.median(keys), 1), "ms"),
        ("keystroke_p95", round(p95, 1), "ms"),
        ("keystroke_max", round(keys[-1], 1), "ms"),
        ("lead_rows_page_of_100", round(r["page_ms"], 1), "ms"),
        ("lead_detail", round(r["detail_ms"], 1), "ms"),
        ("rss_after_index", round(r["rss_mb"]), "MB"),
        ("peak_rss", round(r["peak_rss_mb"]), "MB"),
    ]
    print(f"{'metric':40} {'value':>10} unit")
    for metric, value, unit in results:
        print(f"{metric:40} {value:>10} {unit}")
    out = ROOT / "bench-results" / "foundation_cache.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([{"metric": m, "value": v, "unit": u} for m, v, u in results], indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
