"""Memory breakdown: `python -m tests.bench.bench_memory [--leads N]`.

Two fresh processes on the foundation benchmark's 100,000-lead cache, and the reference
(an empty PySide6 window) in the same run:

1. parts — what each piece costs, loaded one after the other in one process (RSS delta
   after each step; VmHWM shows the transient peak of the index build): PySide6 and an
   empty window, SQLAlchemy and the ORM models, the opened cache, the search index (and
   whether it loaded numpy: it no longer does), pjsua2, phonenumbers, the card's region/carrier tables;
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
def anon_file():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["RssAnon"].split()[0]) / 1024, int(f["RssFile"].split()[0]) / 1024
def split():
    # /proc/self/smaps by kind: anonymous memory (heap, Python objects, Qt's data: private
    # dirty) vs pages mapped from files (libraries, fonts: clean, shared with every process
    # that maps the same file, dropped and re-read by the kernel under memory pressure).
    out = dict.fromkeys(("anon", "private_dirty", "file", "fonts", "qt", "pjsua2", "python", "system"), 0)
    name = ""
    for line in open("/proc/self/smaps"):
        head = line.split(None, 6)
        if "-" in head[0] and not head[0].endswith(":"):
            name = head[5].strip() if len(head) > 5 else ""
        elif head[0] == "Private_Dirty:":
            out["private_dirty"] += int(head[1])
        elif head[0] == "Rss:":
            kb = int(head[1])
            if not name.startswith("/"):
                out["anon"] += kb
                continue
            out["file"] += kb
            kind = ("fonts" if name.lower().endswith((".ttc", ".ttf", ".otf")) else
                    "pjsua2" if "pjsua2" in name else "qt" if "/PySide6/" in name or "/shiboken6/" in name else
                    "python" if "python3" in name or "site-packages" in name else "system")
            out[kind] += kb
    return {k: round(v / 1024, 1) for k, v in out.items()}
ROWS = []
_last = [rss()[0], *anon_file()]
def step(name):
    now, peak = rss()
    anon, file = anon_file()
    ROWS.append({"step": name, "rss": now, "delta": now - _last[0], "peak": peak,
                 "anon": anon - _last[1], "file": file - _last[2]})
    _last[:] = [now, anon, file]
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
repo.warm_up()
step("index")
ROWS[-1]["numpy_loaded"] = "numpy" in sys.modules  # the search index used to bring numpy (~11 MB)
import pjsua2
step("pjsua2_import")
import phonenumbers
step("phonenumbers")
from core.phone import region_and_carrier
region_and_carrier("+8613812345678"); region_and_carrier("+862787654321")
step("card_tables")
# The app's own window over the open cache, zh_CN, its style: widgets, CJK fonts, a painted page.
from app.i18n import Translations
from app.lead_service import LeadService
from ui.main_window import MainWindow
from ui.style import apply_style
Translations.of(qa).apply("zh_CN"); apply_style(qa)
leads = LeadService(repo); mw = MainWindow(leads, language="zh_CN"); mw.resize(1280, 800); mw.show(); mw.refresh()
for _ in range(400):  # bounded: ~4 s
    qa.processEvents()
    if mw.model.rowCount():
        break
    time.sleep(0.01)
mw.table.viewport().repaint(); qa.processEvents()
step("window_fonts")
import app.workspace.runtime, ui.workspace.wiring, app.session_service, ui.login_dialog, softphone.engine
step("workspace_modules")
ROWS[-1]["split"] = split()
leads.shutdown()
print("RESULT " + json.dumps(ROWS), flush=True)
"""

_APP = _COMMON + r"""
import argparse, os
if os.environ.get("BENCH_ATTACH_DURING_INDEX"):  # the same-run reference: the workspace no longer waits
    import app.workspace.attach as _attach
    _attach.INDEX_WAIT_MS = 0
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
ROWS[-1]["split"] = split()
ROWS[-1]["numpy_loaded"] = "numpy" in sys.modules
print("RESULT " + json.dumps(ROWS), flush=True)
a._shutdown()
"""

_PEER = _COMMON + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
qa = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1280, 800); w.show(); qa.processEvents()
step("empty_window")
print("RESULT " + json.dumps(ROWS), flush=True)
"""


def _child(code: str, *args: str, **env_extra: str) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), **env_extra)
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
    # Same run, glibc's malloc defaults (app/allocator.py switched off): what the tuning saves.
    untuned = _child(_APP, str(root), SEATMATE_MALLOC_TUNE="0")
    # … and with the workspace attached while the index builds (app.workspace.attach._after_index).
    overlapped = _child(_APP, str(root), BENCH_ATTACH_DURING_INDEX="1")
    load_after = os.getloadavg()
    out: list[dict] = []
    print(f"\nMemory breakdown — {args.leads:,} leads; load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    print(f"{'part (loaded in this order)':32} {'RSS delta':>10} {'anon':>8} {'files':>8} {'RSS':>8} {'peak':>8}")
    for r in parts[1:]:
        print(f"{r['step']:32} {r['delta']:>+8.1f} MB {r['anon']:>+6.1f} MB {r['file']:>+6.1f} MB "
              f"{r['rss']:>6.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"part_{r['step']}_mb", "value": round(r["delta"], 1), "unit": "MB"})
    index = next(r for r in parts if r["step"] == "index")
    before = parts[parts.index(index) - 1]
    out.append({"metric": "part_index_build_transient_mb", "value": round(index["peak"] - before["rss"]
                                                                         - index["delta"], 1), "unit": "MB"})
    print(f"{'app stage':32} {'RSS':>10} {'peak':>8}")
    for r in app[1:]:
        print(f"{r['step']:32} {r['rss']:>8.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"app_rss_{r['step']}_mb", "value": round(r["rss"], 1), "unit": "MB"})
    out.append({"metric": "app_rss_peak_mb", "value": round(app[-1]["peak"], 1), "unit": "MB"})
    # The highest RSS until the index was ready: the index build's peak (the workspace comes after it).
    build_peak = next(r for r in app if r["step"] == "index_ready")["peak"]
    print(f"{'peak until the index was ready':32} {build_peak:>17.1f} MB")
    out.append({"metric": "app_rss_peak_until_index_ready_mb", "value": round(build_peak, 1), "unit": "MB"})
    print(f"numpy loaded: by the search index {index.get('numpy_loaded')}, "
          f"in the app after start-up {app[-1].get('numpy_loaded')}")
    out += [{"metric": "part_index_loads_numpy", "value": int(bool(index.get("numpy_loaded"))), "unit": "bool"},
            {"metric": "app_numpy_loaded", "value": int(bool(app[-1].get("numpy_loaded"))), "unit": "bool"}]
    print(f"{'glibc malloc defaults (same run)':32} {untuned[-1]['rss']:>8.1f} MB {untuned[-1]['peak']:>6.1f} MB")
    out += [{"metric": "app_rss_settled_mb", "value": round(untuned[-1]["rss"], 1), "unit": "MB",
             "peer": "glibc malloc defaults (SEATMATE_MALLOC_TUNE=0)"},
            {"metric": "app_rss_peak_mb", "value": round(untuned[-1]["peak"], 1), "unit": "MB",
             "peer": "glibc malloc defaults (SEATMATE_MALLOC_TUNE=0)"}]
    print(f"{'workspace during the index build':32} {overlapped[-1]['rss']:>8.1f} MB {overlapped[-1]['peak']:>6.1f} MB")
    out += [{"metric": "app_rss_settled_mb", "value": round(overlapped[-1]["rss"], 1), "unit": "MB",
             "peer": "workspace attached during the index build"},
            {"metric": "app_rss_peak_mb", "value": round(overlapped[-1]["peak"], 1), "unit": "MB",
             "peer": "workspace attached during the index build"}]
    print("settled, by kind (MB): anonymous = private dirty; file-backed = libraries and fonts, shared/reclaimable")
    for label, rows in (("app", app), ("glibc malloc defaults", untuned), ("parts, all loaded", parts)):
        sp = rows[-1]["split"]
        print(f"  {label:22} " + "  ".join(f"{k} {v:.1f}" for k, v in sp.items()))
    out += [{"metric": f"app_settled_{k}_mb", "value": v, "unit": "MB"} for k, v in app[-1]["split"].items()]
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
