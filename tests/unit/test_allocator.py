"""app/allocator.py: freed memory goes back to the system in the app's process.

Each case runs in a fresh interpreter (glibc's settings are per process and the
mmap threshold's history matters) and reads the process's own RssAnon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")

# Big blocks are freed while smaller ones between them stay (too big to land in the holes the
# imports left, so nothing merges into the heap's top): with glibc's defaults (the mmap
# threshold raised by the first 8 MB free) they came from the heap and stay resident.
_BIG_BLOCKS = r"""
import json, sys
def anon():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["RssAnon"].split()[0]) / 1024
if sys.argv[1] == "app":
    import app.application  # noqa: F401 — what the app does at start (app.allocator.tune())
warm = bytearray(8 << 20); del warm  # glibc would now serve blocks below 8 MB from the heap
base = anon()
blocks, pins = [], []
for _ in range(24):
    blocks.append(bytearray(2 << 20)); pins.append(bytearray(100_000))
held = anon()
del blocks
freed = anon()
print(json.dumps({"held": held - base, "freed": freed - base}))
"""

# Blocks below the mmap threshold, freed in the middle of the heap: trim() hands them back.
_TRIM = r"""
import json
from app import allocator
def anon():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["RssAnon"].split()[0]) / 1024
base = anon()
blocks, pins = [], []
for _ in range(800):
    blocks.append(bytearray(60_000)); pins.append(bytearray(2000))
del blocks
freed = anon()
trimmed = allocator.trim()
print(json.dumps({"freed": freed - base, "after_trim": anon() - base, "trimmed": trimmed}))
"""


def _run(code: str, *args: str, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, QT_QPA_PLATFORM="offscreen", **env))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_process_returns_freed_big_blocks_to_the_system():
    tuned = _run(_BIG_BLOCKS, "app")
    default = _run(_BIG_BLOCKS, "app", SEATMATE_MALLOC_TUNE="0")
    # 48 MB (24 × 2 MB) were really held in both; only the tuned process gave them back on free.
    assert tuned["held"] > 40 and default["held"] > 40, (tuned, default)
    assert default["freed"] > 40, default  # the reference: glibc's defaults keep them
    assert tuned["freed"] < 8, tuned


def test_trim_hands_back_free_heap_pages():
    result = _run(_TRIM)
    assert result["freed"] > 30, result  # 48 MB freed in the heap's middle stay resident …
    assert result["trimmed"] is True
    assert result["after_trim"] < result["freed"] - 30, result  # … until trimmed
