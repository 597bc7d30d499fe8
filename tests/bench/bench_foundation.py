"""Foundation benchmark: `python -m tests.bench.bench_foundation [--leads N] [--keystrokes K]`.

1. Builds a cache of 100,000 generated leads once (kept in the temp dir, keyed
   by the schema revision, reused by later runs).
2. In a fresh subprocess, measures process start → main window shown with a
   populated, usable lead list (real rows painted, pending events handled) and
   the process CPU time at that moment; the first customer card; the moment the
   whole list is searchable from the in-memory index (the first screen may come
   from a cheap SQL page while the index builds); then ~50 search keystrokes
   (each: key press → new result on screen, painted; every query starts in an
   empty box, every second one right after a write shaped like a wrap-up save);
   then the process RSS.
3. Measures the physical reference in the same run: an empty PySide6 window
   (start → shown, RSS).
Prints a table and writes bench-results/foundation.json.
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
# Issue #16's targets (the earlier floors were 1500 ms, 50 ms and 250 MB).
TARGETS = {"start_to_usable_window_ms": 500, "keystroke_p99_ms": 16, "keystroke_max_ms": 33, "rss_mb": 150,
           "rss_peak_mb": 170, "keystroke_first_max_ms": 33, "keystroke_after_save_max_ms": 33}

# Queries an agent types: names, pinyin initials, number tails, plates.
KEYSTROKE_QUERIES = ("张伟", "wang", "zw", "lx", "1234", "5678", "8001", "鄂E", "刘", "chen", "139", "liu")

_CHILD = r"""
import json, os, sys, time
T0 = time.perf_counter()
import argparse
from app.application import Application
from PySide6.QtCore import QEventLoop, QTimer, Qt
from ui.typing import type_char
from PySide6.QtWidgets import QApplication

def rss_mb():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

app = Application(argparse.Namespace(data_dir=sys.argv[1], number=None, lang="zh_CN", command=None))
assert app.start() is None
w = app.window
loop = QEventLoop()

SHOWN_AT = [0.0]
def wait_shown(timeout_ms=20000):
    done = []
    timer = QTimer(singleShot=True, interval=timeout_ms)
    timer.timeout.connect(loop.quit)
    conn = w.leadsShown.connect(lambda n: (done.append(n), SHOWN_AT.__setitem__(0, time.perf_counter()), loop.quit()))
    timer.start()
    loop.exec()
    timer.stop()
    w.leadsShown.disconnect(conn)
    if not done:
        raise SystemExit("no search result within %d ms" % timeout_ms)
    return done[0]

count = w.model.rowCount() or wait_shown()
w.table.viewport().repaint()
painted_ms = (time.perf_counter() - T0) * 1000  # the first page is on screen
QApplication.processEvents()  # … and what was queued behind it has run (usable)
ready_ms = (time.perf_counter() - T0) * 1000
cpu = os.times()
print("READY", json.dumps({"ready_ms_in_process": ready_ms, "painted_ms_in_process": painted_ms, "cpu_ms": (cpu.user + cpu.system) * 1000, "rows": w.model.rowCount(),
      "first_name": w.model.data(w.model.index(0, 0))}), flush=True)
rss_ready = rss_mb()[0]
# Let the first customer card arrive (its first read loads phonenumbers' region data,
# ~0.3 s of GIL-bound work) so the keystrokes below measure typing, not start-up.
if not w.card.title.text() or w._current_lead is None or w.card._detail is None:
    timer = QTimer(singleShot=True, interval=10000)
    timer.timeout.connect(loop.quit)
    conn = w.leadDetailShown.connect(lambda _id: loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    w.leadDetailShown.disconnect(conn)
card_ms = (time.perf_counter() - T0) * 1000
# The first screen may come from a cheap SQL page while the search index builds on the
# worker; typing works meanwhile (answered once the index exists). Measure when the
# whole list is searchable from memory, and type only after that.
if not getattr(app.leads, "index_ready", True):  # (True: a build without the first-page path)
    timer = QTimer(singleShot=True, interval=20000)
    timer.timeout.connect(loop.quit)
    conn = app.leads.indexReady.connect(loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    app.leads.indexReady.disconnect(conn)
    if not app.leads.index_ready:
        raise SystemExit("the search index was not built within 20 s")
if w.model.rowCount() > len(getattr(w.model, "_ids", ())) > 0:  # the full list replaces the first page
    wait_shown()
full_ms = (time.perf_counter() - T0) * 1000
# Type once the app has settled (workspace attached, phone up, the first card, KPIs and next
# lead read: an agent's day, not its start-up), bounded; keystrokes during start-up measured
# the start-up's GIL-bound work (another item of issue #16) rather than the search.
deadline = time.monotonic() + 20
while time.monotonic() < deadline and not (getattr(app, "workspace", None) is not None
                                            and app.workspace.runtime.controller.phone is not None):
    timer = QTimer(singleShot=True, interval=20); timer.timeout.connect(loop.quit); timer.start(); loop.exec()
# The index's remaining start-up work (its pair lists, made a slice at a time after the full
# list is shown): an agent's day starts after it, as after the workspace; when it ended is reported.
index_done_ms = None
deadline = time.monotonic() + 20
while time.monotonic() < deadline and getattr(app.leads._search_repo, "index_pending", False):
    timer = QTimer(singleShot=True, interval=20); timer.timeout.connect(loop.quit); timer.start(); loop.exec()
if hasattr(app.leads._search_repo, "index_pending"):
    index_done_ms = (time.perf_counter() - T0) * 1000
settle_until = time.monotonic() + 1.0
while time.monotonic() < settle_until:
    timer = QTimer(singleShot=True, interval=20); timer.timeout.connect(loop.quit); timer.start(); loop.exec()

from tests.bench.paint_watch import PaintWatch
from sqlalchemy import text as sql
watch = PaintWatch(w.table.viewport())
times = []
kinds = []  # per keystroke: "first" (into an empty box), "after_save", "next"
worker_ms = []  # per keystroke: search + first rows on the worker thread (the repository's share)
LAST = [0.0]
on_result = lambda r: LAST.__setitem__(0, r.elapsed_ms)
typed = []
app.leads.searchFinished.connect(on_result)
queries = json.loads(sys.argv[2])
n_keys = int(sys.argv[3])
saved = []  # (id, status, next_callback_at, last_attempt_at) to put back at the end

def save_like_wrapup():
    # What a wrap-up save does to the list's data: the shown lead gets a callback and an
    # attempt (status, dates) in one write; the change journal tells the index. Then the
    # list refreshes (the app's refresh_soon) and the agent types the next search.
    repo = app.leads._repo
    lead_id = w.model.lead_id(0)
    with repo.handle.write() as s:
        row = s.execute(sql("SELECT id, status, next_callback_at, last_attempt_at FROM leads WHERE id=:i"),
                        {"i": lead_id}).one()
        saved.append(tuple(row))
        s.execute(sql("UPDATE leads SET status='callback', next_callback_at=datetime('now', '+1 day'), "
                      "last_attempt_at=datetime('now') WHERE id=:i"), {"i": lead_id})
    w.refresh()
    wait_shown()
    # The agent types the next search after the saved list is on screen (hundreds of ms
    # later), so its paint is not counted in the next keystroke.
    watch.ensure_painted_since(SHOWN_AT[0])

n_query = 0
while len(times) < n_keys:
    for q in queries:
        if w.search.text():
            w.search.clear()
            wait_shown()
            watch.ensure_painted_since(SHOWN_AT[0])
        after_save = n_query % 2 == 1
        if after_save:
            save_like_wrapup()
        n_query += 1
        for i, ch in enumerate(q):
            t = time.perf_counter()
            type_char(w.search, ch)
            wait_shown()
            watch.ensure_painted_since(SHOWN_AT[0])  # the result is painted, not only computed
            times.append((time.perf_counter() - t) * 1000)
            kinds.append("next" if i else "after_save" if after_save else "first")
            worker_ms.append(LAST[0])
            typed.append(q[: i + 1])
        if len(times) >= n_keys:
            break
rss, hwm = rss_mb()
app.leads.searchFinished.disconnect(on_result)
if saved:  # the bench's cache is reused by later runs: put the saved leads back
    with app.leads._repo.handle.write() as s:
        for lead_id, status, callback, attempt in saved:
            s.execute(sql("UPDATE leads SET status=:s, next_callback_at=:c, last_attempt_at=:a WHERE id=:i"),
                      {"s": status, "c": callback, "a": attempt, "i": lead_id})
print("RESULT", json.dumps({"card_ms_in_process": card_ms, "full_list_ms_in_process": full_ms, "index_done_ms_in_process": index_done_ms, "keystrokes_ms": times, "keystroke_kinds": kinds, "keystroke_texts": typed, "worker_ms": worker_ms, "rss_mb": rss, "rss_ready_mb": rss_ready, "rss_peak_mb": hwm}),
      flush=True)
app._shutdown()
"""

_PEER = r"""
import os, sys, time, json
T0 = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.resize(1280, 800); w.show()
app.processEvents()
ms = (time.perf_counter() - T0) * 1000
cpu = os.times()
fields = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print("READY", json.dumps({"ready_ms_in_process": ms, "cpu_ms": (cpu.user + cpu.system) * 1000, "rss_mb": int(fields["VmRSS"].split()[0]) / 1024}), flush=True)
"""


def _python_env() -> dict:
    return dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                PYTHONDONTWRITEBYTECODE="1")


def build_cache(n: int) -> Path:
    from app.demo.generated import generate_leads
    from app.paths import AppPaths
    from cache import db
    from cache.db import open_cache

    root = Path(tempfile.gettempdir()) / f"seatmate-bench-{n}-{db.HEAD_REVISION}"
    marker = root / "built.ok"
    if marker.exists():
        return root
    paths = AppPaths.resolve(root).ensure()
    start = time.perf_counter()
    handle = open_cache(paths.cache_db)
    try:
        generate_leads(handle, n)
    finally:
        handle.close()
    marker.write_text(f"{n} leads in {time.perf_counter() - start:.1f} s\n")
    print(f"built a cache of {n:,} leads in {time.perf_counter() - start:.1f} s at {root}")
    return root


def _run(code: str, *args: str, timeout: float = 180) -> tuple[float, dict, dict | None]:
    """Run code in a fresh interpreter; return (wall ms to READY, READY data, RESULT data)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=_python_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready_ms, ready, result = None, {}, None
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            if line.startswith("READY "):
                ready_ms = (time.perf_counter() - start) * 1000
                ready = json.loads(line[6:])
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
            if time.monotonic() > deadline:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
    if ready_ms is None:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr.read()[-3000:]}")
    return ready_ms, ready, result


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seatmate foundation benchmark")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--keystrokes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="start-up runs (median is reported)")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "foundation.json"))
    args = parser.parse_args(argv)

    root = build_cache(args.leads)
    load_start = os.getloadavg()
    cpus, starts, fulls, cards, keys, worker, rss, rss_peak = [], [], [], [], [], [], [], []
    index_done: list[float] = []
    key_kinds: list[str] = []
    slowest: list[tuple] = []
    paints: list[float] = []
    for i in range(args.runs):
        data_dir = root  # same cache each run: an agent's second start of the day
        ms, ready, result = _run(_CHILD, str(data_dir), json.dumps(KEYSTROKE_QUERIES),
                                 str(args.keystrokes if i == 0 else 1))
        if ready.get("rows", 0) <= 0:
            raise SystemExit("the window showed no leads")
        starts.append(ms)
        paints.append(ms - ready["ready_ms_in_process"] + ready.get("painted_ms_in_process", ready["ready_ms_in_process"]))
        cpus.append(ready["cpu_ms"])
        if result:
            cards.append(ms - ready["ready_ms_in_process"] + result["card_ms_in_process"])
            fulls.append(ms - ready["ready_ms_in_process"] + result["full_list_ms_in_process"])
            if result.get("index_done_ms_in_process") is not None:
                index_done.append(ms - ready["ready_ms_in_process"] + result["index_done_ms_in_process"])
        if i == 0 and result:
            keys = result["keystrokes_ms"]
            key_kinds = result.get("keystroke_kinds", [])
            worker = result["worker_ms"]
            slowest = sorted(zip(keys, worker, key_kinds, result.get("keystroke_texts", []), strict=False),
                             reverse=True)[:5]
        if result:
            rss.append(result["rss_mb"])
            rss_peak.append(result["rss_peak_mb"])
    peer_starts, peer_cpus, peer_rss = [], [], []
    for _ in range(args.runs):
        ms, ready, _ = _run(_PEER)
        peer_starts.append(ms)
        peer_cpus.append(ready["cpu_ms"])
        peer_rss.append(ready["rss_mb"])

    rows = [
        ("start_to_first_page_painted_ms", statistics.median(paints), "ms", None),
        ("start_to_usable_window_ms", statistics.median(starts), "ms", statistics.median(peer_starts)),
        ("start_cpu_time_ms", statistics.median(cpus), "ms", statistics.median(peer_cpus)),
        ("start_to_full_list_searchable_ms", statistics.median(fulls), "ms", None),
        ("start_to_first_customer_card_ms", statistics.median(cards), "ms", None),
        # The index's start-up work done (its pair lists for 2-character texts): typing starts after.
        *((("start_to_index_complete_ms", statistics.median(index_done), "ms", None),) if index_done else ()),
        ("keystroke_p50_ms", _pct(keys, 50), "ms", None),
        ("keystroke_p99_ms", _pct(keys, 99), "ms", None),
        ("keystroke_max_ms", max(keys), "ms", None),
        # The hard cases: the first character into an empty box, the first after a save.
        *((f"keystroke_{kind}_max_ms", max(k for k, c in zip(keys, key_kinds, strict=True) if c == kind), "ms", None)
          for kind in ("first", "after_save") if kind in key_kinds),
        ("keystroke_repository_p50_ms", _pct(worker, 50), "ms", None),
        ("keystroke_repository_p99_ms", _pct(worker, 99), "ms", None),
        ("rss_mb", max(rss), "MB", statistics.median(peer_rss)),
        ("rss_peak_mb", max(rss_peak), "MB", None),
    ]
    load_end = os.getloadavg()
    print("slowest keystrokes (painted ms, worker ms, kind, text): "
          + "; ".join(f"{k:.1f}/{w:.1f} {kind} {t!r}" for k, w, kind, t in slowest))
    if keys and len(worker) == len(keys):  # where a keystroke's time goes: the worker, or the GUI thread
        gui = [k - w for k, w in zip(keys, worker, strict=True)]
        print(f"per keystroke: worker p50/p99/max {_pct(worker, 50):.1f}/{_pct(worker, 99):.1f}/{max(worker):.1f} ms; "
              f"the rest (GUI thread: result handled, model, paint) {_pct(gui, 50):.1f}/{_pct(gui, 99):.1f}/"
              f"{max(gui):.1f} ms")
    rows += [("load_avg_1min_start", load_start[0], "load", None), ("load_avg_1min_end", load_end[0], "load", None)]
    out = []
    print(f"\nSeatmate foundation benchmark — {args.leads:,} leads, {len(keys)} keystrokes, "
          f"{args.runs} start-ups (median), {os.cpu_count()} CPUs, load average {load_start[0]:.1f} → {load_end[0]:.1f}")
    print(f"{'metric':30} {'value':>10} {'target':>8} {'empty PySide6 window':>22}")
    for metric, value, unit, peer in rows:
        target = TARGETS.get(metric)
        print(f"{metric:30} {value:>8.1f} {unit:<2}{('≤' + str(target)) if target else '':>8} "
              f"{(f'{peer:.1f} {unit}') if peer is not None else '':>22}")
        out.append({"metric": metric, "value": round(value, 2), "unit": unit})
        if peer is not None:
            out.append({"metric": metric, "value": round(peer, 2), "unit": unit, "peer": "empty PySide6 window"})
    from tests.bench.results import merge_results

    merge_results(out, Path(args.out))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
