"""Memory breakdown: `python -m tests.bench.bench_memory [--leads N]`.

Two fresh processes on the foundation benchmark's 100,000-lead cache, and the reference
(an empty PySide6 window) in the same run:

1. parts — what each piece costs, loaded one after the other in one process (RSS delta
   after each step; VmHWM shows the transient peak of the index build): PySide6 and an
   empty window, SQLAlchemy and the ORM models, the opened cache, numpy, the search index,
   pjsua2, phonenumbers, the card's region/carrier tables;
2. app — the real start-up (app.application.Application) sampled at its stages: window
   built, first page painted, index ready, workspace attached (softphone started), and 3 s
   later (first card, next lead, KPIs), with the peak (VmHWM).

Prints both tables with the machine's load and merges bench-results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_COMMON = r"""
import json, sys, time
def rss():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["VmRSS"].split()[0]) / 1024, int(f["VmHWM"].split()[0]) / 1024
ROWS = []
_last = [rss()[0]]
def step(name):
    now, peak = rss()
    ROWS.append({"step": name, "rss": now, "delta": now - _last[0], "peak": peak})
    _last[0] = now
step("python")
"""

_PARTS = _COMMON + r"""
from pathlib import Path
from PySide6.QtWidgets import QApplication, QMainWindow
from app import pyside_hook
pyside_hook.install()  # as the app does
qa = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1280, 800); w.show(); qa.processEvents()
step("qt")
import sqlalchemy, sqlalchemy.orm
import cache.models, cache.repository
step("sqlalchemy")
from cache.db import open_cache
from cache.repository import Repository
repo = Repository(open_cache(Path(sys.argv[1]) / "cache.sqlite3"))
step("cache_open")
import numpy
step("numpy")
repo.warm_up()
step("index")
import pjsua2
step("pjsua2_import")
import phonenumbers
step("phonenumbers")
from core.phone import region_and_carrier
region_and_carrier("+8613812345678"); region_and_carrier("+862787654321")
step("card_tables")
print("RESULT " + json.dumps(ROWS), flush=True)
"""

_APP = _COMMON + r"""
import argparse
from app.application import Application
from PySide6.QtCore import QEventLoop, QTimer
a = Application(argparse.Namespace(data_dir=sys.argv[1], number=None, lang="zh_CN", command=None))
assert a.start() is None
step("window_built")
loop = QEventLoop()
def until(cond, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        t = QTimer(singleShot=True, interval=5); t.timeout.connect(loop.quit); t.start(); loop.exec()
until(lambda: a.window.model.rowCount() > 0)
a.window.table.viewport().repaint()
step("first_page")
until(lambda: a.leads.index_ready)
step("index_ready")
until(lambda: a.workspace is not None and a.workspace.runtime.controller.phone is not None)
step("workspace")
t0 = time.monotonic()
until(lambda: time.monotonic() - t0 > 3.0, 5.0)
step("settled")
print("RESULT " + json.dumps(ROWS), flush=True)
a._shutdown()
"""

_PEER = _COMMON + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
qa = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1280, 800); w.show(); qa.processEvents()
step("empty_window")
print("RESULT " + json.dumps(ROWS), flush=True)
"""


def _child(code: str, *args: str) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"memory benchmark child failed:\n{proc.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seatmate memory breakdown")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "memory.json"))
    args = parser.parse_args(argv)
    from tests.bench.bench_foundation import build_cache
    from tests.bench.results import merge_results

    root = build_cache(args.leads)
    load_before = os.getloadavg()
    peer = _child(_PEER)
    parts = _child(_PARTS, str(root))
    app = _child(_APP, str(root))
    load_after = os.getloadavg()
    out: list[dict] = []
    print(f"\nMemory breakdown — {args.leads:,} leads; load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    print(f"{'part (loaded in this order)':32} {'RSS delta':>10} {'RSS':>8} {'peak':>8}")
    for r in parts[1:]:
        print(f"{r['step']:32} {r['delta']:>+8.1f} MB {r['rss']:>6.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"part_{r['step']}_mb", "value": round(r["delta"], 1), "unit": "MB"})
    index = next(r for r in parts if r["step"] == "index")
    before = next(r for r in parts if r["step"] == "numpy")
    out.append({"metric": "part_index_build_transient_mb", "value": round(index["peak"] - before["rss"]
                                                                         - index["delta"], 1), "unit": "MB"})
    print(f"{'app stage':32} {'RSS':>10} {'peak':>8}")
    for r in app[1:]:
        print(f"{r['step']:32} {r['rss']:>8.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"app_rss_{r['step']}_mb", "value": round(r["rss"], 1), "unit": "MB"})
    out.append({"metric": "app_rss_peak_mb", "value": round(app[-1]["peak"], 1), "unit": "MB"})
    ref = peer[-1]["rss"]
    print(f"{'reference: empty PySide6 window':32} {ref:>8.1f} MB")
    out.append({"metric": "app_rss_settled_mb", "value": round(ref, 1), "unit": "MB",
                "peer": "empty PySide6 window"})
    out += [{"metric": "load_avg_1min_start", "value": round(load_before[0], 2), "unit": "load"},
            {"metric": "load_avg_1min_end", "value": round(load_after[0], 2), "unit": "load"}]
    merge_results(out, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
