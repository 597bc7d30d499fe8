"""Runs the suite as a few pytest processes and adds up their results.

pjsua2 keeps one library instance per process, so each area that drives SIP
gets a process of its own; everything else shares one. Exit status is non-zero
if any group failed or if no test ran at all.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS: dict[str, list[str]] = {
    "core": ["tests/unit", "tests/ui", "tests/server", "tests/integration/sync", "tests/faults", "tests/frozen"],
    "softphone": ["tests/integration/softphone"],
    # two Seatmate engines (agent in a child process, TL here) and the server: monitoring
    "supervisor_sip": ["tests/supervisor_sip"],
    # the app's SIP path: settings.json → runtime → engine, on the wire at Kamailio
    "sip_settings": ["tests/sip_settings"],
    "audio": ["tests/integration/audio"],
    "workspace": ["tests/workspace"],
    # The short floor-day: server, demo customer and 3 real app processes (each its own pjsua2
    # Endpoint); this pytest process starts none.
    "floorday": ["tests/floorday"],
    # The TL's board and floor control; the whole-app test starts the workspace's softphone.
    "supervisor": ["tests/supervisor"],
    # Two server instances + nginx + PostgreSQL: fan-out, failover, shared recordings, authz.
    "scaleout": ["tests/scaleout"],
}
COUNTED = ("tests", "failures", "errors", "skipped")


def _totals(xml_path: Path) -> dict[str, int]:
    totals = dict.fromkeys(COUNTED, 0)
    if not xml_path.exists():
        return totals
    root = ET.parse(xml_path).getroot()
    for suite in root.iter("testsuite"):
        for key in COUNTED:
            totals[key] += int(suite.get(key, 0))
    return totals


def main(extra: list[str]) -> int:
    results_dir = ROOT / "build" / "test-results"
    results_dir.mkdir(parents=True, exist_ok=True)
    grand = dict.fromkeys(COUNTED, 0)
    worst = 0
    for name, paths in GROUPS.items():
        xml_path = results_dir / f"{name}.xml"
        xml_path.unlink(missing_ok=True)
        started = time.monotonic()
        print(f"\n=== test group {name}: {' '.join(paths)}", flush=True)
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={xml_path}", *extra, *paths],
            cwd=ROOT,
        )
        totals = _totals(xml_path)
        print(f"=== group {name}: exit {code}, {totals} in {time.monotonic() - started:.0f} s", flush=True)
        for key in COUNTED:
            grand[key] += totals[key]
        if code != 0:
            worst = code if worst == 0 else worst
    failed = grand["failures"] + grand["errors"]
    passed = grand["tests"] - failed - grand["skipped"]
    print(f"\ntotal: {passed} passed, {failed} failed, {grand['skipped']} skipped", flush=True)
    if grand["tests"] == 0:
        print("no test ran", flush=True)
        return 5
    return worst or (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
