"""Frozen bundle benchmark: `python -m tests.bench.bench_installer [--rounds N]`.

Needs a build (scripts/build-installer.sh). Measures, in one run:

1. the one-folder bundle on disk (allocated blocks, as ``du`` counts them) and its files, with
   a breakdown by part (Qt modules, Qt plugins, FFmpeg, ICU, Python packages, system
   libraries, the executable with its compressed Python modules);
2. start-up, frozen against the reference in the same minutes: the same source tree started
   from the venv (``python -m app``). Each round starts both (alternating, each on its own
   warm cache: one cold start first) with ``--self-test`` on the embedded demo (offscreen):
   process start → the JSON report that says leads, workspace and phone are up (the
   self-test polls every 100 ms), its own ``ready_ms`` (from after the entry point's
   imports) and, from the log, "first leads on screen … after interpreter start".

``--before DIR`` (repeatable): other one-folder builds (a copy of dist/seatmate from before a
change; an untrimmed build of the same tree: ``SEATMATE_BUNDLE_TRIM=0``) measured in the same
run, size and start, as more columns.

Records ``os.getloadavg()``; merges its rows into bench-results/installer.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.results import RESULTS_DIR, merge_results

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "seatmate"
TARGET_DISK_MB = 150
TARGET_READY_S = 1.0
TIMEOUT_S = 120
_LEADS_LINE = re.compile(r"first \d+ leads on screen (\d+) ms after interpreter start")


def disk_bytes(path: Path) -> int:
    return path.lstat().st_blocks * 512


def part_of(rel: str) -> str:
    """The breakdown bucket of a file in the bundle."""
    if rel == "seatmate":
        return "executable + compressed Python modules (PYZ)"
    rel = rel.removeprefix("_internal/")
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith("PySide6/Qt/plugins/"):
        return "Qt plugins: " + rel.split("/")[3]
    if rel.startswith("PySide6/Qt/translations/"):
        return "Qt translations"
    if re.match(r"lib(av|sw)", name) or "FFmpeg" in name:
        return "FFmpeg (Qt Multimedia's media backend)"
    if name.startswith("libicu"):
        return "ICU (Qt Core)"
    if m := re.match(r"libQt6(\w+?)\.so", name):
        return "Qt lib: " + m[1]
    if rel.startswith("PySide6/") or rel.startswith("shiboken6/"):
        return "PySide6 bindings"
    if rel.startswith("numpy.libs/"):
        return "numpy.libs (OpenBLAS, gfortran)"
    if "/" not in rel:
        return "libpython" if name.startswith("libpython") else "system libraries"
    top = rel.split("/")[0]
    return "Python stdlib extensions" if top == "python3.11" else top


def breakdown(dist: Path) -> tuple[int, int, list[tuple[str, int]]]:
    parts: collections.Counter[str] = collections.Counter()
    total = files = 0
    for path in dist.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = disk_bytes(path)
        total += size
        files += 1
        parts[part_of(path.relative_to(dist).as_posix())] += size
    total += sum(disk_bytes(d) for d in dist.rglob("*") if d.is_dir() and not d.is_symlink())
    return total, files, parts.most_common()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "XDG_", "SEATMATE_", "QT_", "LD_"))}
    run = home / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
               XDG_CACHE_HOME=str(home / "cache"), QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8")
    return env


def start_once(cmd: list[str], home: Path, cwd: Path) -> dict[str, float]:
    """One ``--self-test`` start: wall s (process start → report), ready_ms, leads_ms."""
    log = home / "state" / "Seatmate" / "log" / "seatmate.log"
    seen = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "--self-test", "--self-test-timeout", "60"], env=_env(home), cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    wall = time.perf_counter() - t0
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{\"version\"")]
    if proc.returncode != 0 or not reports or not reports[-1].get("ok"):
        raise SystemExit(f"{cmd[0]} --self-test failed (exit {proc.returncode}): "
                         f"{reports[-1] if reports else proc.stderr[-2000:]}")
    new_log = log.read_text(encoding="utf-8", errors="replace")[len(seen):] if log.exists() else ""
    leads = _LEADS_LINE.search(new_log)
    return {"wall_s": wall, "ready_ms": float(reports[-1]["ready_ms"]),
            "leads_ms": float(leads[1]) if leads else float("nan")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument("--before", type=Path, action="append", default=[],
                        help="another build (its folder), measured in the same run; repeatable")
    args = parser.parse_args(argv)
    binary = args.dist / "seatmate"
    if not binary.exists():
        print(f"bench_installer: {binary} is missing: run scripts/build-installer.sh", file=sys.stderr)
        return 1
    load_before = os.getloadavg()
    total, files, parts = breakdown(args.dist)
    print(f"bundle {args.dist}: {total / 1e6:.1f} MB on disk in {files} files")
    for name, size in parts:
        if size >= 500_000:
            print(f"  {size / 1e6:7.1f} MB  {name}")
    before_sizes: dict[str, float] = {}
    cmds = {"frozen": [str(binary)], "venv": [sys.executable, "-m", "app"]}
    for i, other in enumerate(args.before, 1):
        kind = f"before{i}"
        other_total, other_files, other_parts = breakdown(other)
        before_sizes[kind] = other_total
        print(f"\n{kind} {other}: {other_total / 1e6:.1f} MB on disk in {other_files} files")
        for name, size in other_parts:
            if size >= 500_000:
                print(f"  {size / 1e6:7.1f} MB  {name}")
        cmds[kind] = [str(other / "seatmate")]
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in cmds}
    with tempfile.TemporaryDirectory(prefix="bench-installer-") as tmp:
        homes = {k: Path(tmp) / k for k in runs}
        for kind, cmd in cmds.items():
            start_once(cmd, homes[kind], ROOT if kind == "venv" else homes[kind])  # cold: cache made
        for _ in range(args.rounds):
            for kind, cmd in cmds.items():
                runs[kind].append(start_once(cmd, homes[kind], ROOT if kind == "venv" else homes[kind]))
    load_after = os.getloadavg()
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "ready_ms", "leads_ms")}
           for k, v in runs.items()}
    print(f"\nwarm start, median of {args.rounds} (load {load_before[0]:.1f} → {load_after[0]:.1f}):")
    print(f"{'':8}{'process→ready s':>17}{'ready_ms':>10}{'leads on screen ms':>20}")
    for kind, m in med.items():
        print(f"{kind:8}{m['wall_s']:>17.2f}{m['ready_ms']:>10.0f}{m['leads_ms']:>20.0f}")
    print(f"targets: bundle ≤ {TARGET_DISK_MB} MB on disk; frozen process → ready ≤ {TARGET_READY_S} s")
    rows = [
        {"metric": "bundle_disk_mb", "value": round(total / 1e6, 1), "unit": "MB"},
        {"metric": "bundle_files", "value": files, "unit": "files"},
        *({"metric": f"bundle_part_mb:{name}", "value": round(size / 1e6, 1), "unit": "MB"}
          for name, size in parts if size >= 1_000_000),
    ]
    peers = {"venv": "venv (python -m app), same run"}
    for i, other in enumerate(args.before, 1):
        peers[f"before{i}"] = f"{other} (--before), same run"
        rows += [{"metric": "bundle_disk_mb", "value": round(before_sizes[f"before{i}"] / 1e6, 1), "unit": "MB",
                  "peer": peers[f"before{i}"]}]
    for kind, m in med.items():
        peer = {"peer": peers[kind]} if kind in peers else {}
        rows += [{"metric": "warm_start_to_ready_s", "value": round(m["wall_s"], 2), "unit": "s", **peer},
                 {"metric": "warm_start_ready_ms", "value": round(m["ready_ms"]), "unit": "ms", **peer},
                 {"metric": "warm_start_leads_on_screen_ms", "value": round(m["leads_ms"]), "unit": "ms", **peer}]
    rows += [{"metric": "loadavg_1min_before", "value": round(load_before[0], 2), "unit": "load"},
             {"metric": "loadavg_1min_after", "value": round(load_after[0], 2), "unit": "load"}]
    merge_results(rows, RESULTS_DIR / "installer.json")
    print(f"wrote {RESULTS_DIR / 'installer.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
