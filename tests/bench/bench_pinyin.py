"""core.pinyin's table (core/data/pinyin_zh.bin) against pypinyin, the reference, in the same run.

Each measurement is a fresh interpreter (what an agent's app pays once, on its first sync with new
lead names): load + first key (wall time, and the longest pause a 1 ms ticker thread sees: the
GUI's freeze, since loading holds the GIL), RSS before/after, then keys for 100,000 names like
bench_sync's (cold caches). The reference is name_keys as it was before the table (pypinyin's
segmenter and lazy_pinyin, its fast per-character path included). Both must give the same keys.

    flock /tmp/seatmate-bench.lock .venv/bin/python -m tests.bench.bench_pinyin [--runs 3]

Writes bench-results/pinyin.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍海峰鹏辉斌宇浩凯"


def _names(n: int = 100_000) -> list[str]:
    rng = random.Random(20261205)
    return [rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
            for _ in range(n)]


# --- the reference: core.pinyin.name_keys before the table (pypinyin at run time) -------------

@lru_cache(maxsize=65536)
def _ref_word(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="default"))


@lru_cache(maxsize=65536)
def _ref_name_keys(name: str) -> tuple[str, str]:
    from pypinyin.constants import RE_HANS
    from pypinyin.core import _default_pinyin
    from pypinyin.seg import mmseg

    from core.pinyin import keys_from_syllables

    name = (name or "").strip()
    if not name:
        return "", ""
    prefixes = mmseg.p_set._set
    syl: list[str] = []
    if RE_HANS.match(name) and not any(name[i:i + 2] in prefixes for i in range(len(name) - 1)):
        for ch in name:
            syl.extend(_ref_word(ch))
    else:
        for word in _default_pinyin.seg(name):
            syl.extend(_ref_word(word) if RE_HANS.match(word) else [word.lower()])
    return keys_from_syllables(name, syl)


# --- one fresh interpreter ----------------------------------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _child(mode: str) -> dict:
    names = _names()
    base = _rss_mb()
    stop = threading.Event()
    gaps = [0.0]

    def tick() -> None:  # a stand-in for the GUI thread: how long it cannot run
        last = time.perf_counter()
        for _ in range(100_000):  # bounded: stopped within seconds
            if stop.is_set():
                return
            time.sleep(0.001)
            now = time.perf_counter()
            gaps[0] = max(gaps[0], now - last)
            last = now

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    time.sleep(0.05)
    gaps[0] = 0.0
    t0 = time.perf_counter()
    if mode == "table":
        from core.pinyin import name_keys
        name_keys("张三")
    else:
        name_keys = _ref_name_keys
        name_keys("张三")
    first = time.perf_counter() - t0
    time.sleep(0.01)
    stop.set()
    ticker.join()
    after_first = _rss_mb()
    t0 = time.perf_counter()
    keys = [name_keys(n) for n in names]
    bulk = time.perf_counter() - t0
    digest = hashlib.sha256("\n".join(f"{a}|{b}" for a, b in keys).encode()).hexdigest()[:16]
    return {"first_ms": first * 1000, "pause_ms": gaps[0] * 1000, "rss_delta_mb": after_first - base,
            "rss_after_100k_mb": _rss_mb(), "bulk_s": bulk, "digest": digest,
            "pypinyin_loaded": any(m.startswith("pypinyin") for m in sys.modules)}


def _run(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "tests.bench.bench_pinyin", "--child", mode], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=("table", "pypinyin"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    load = os.getloadavg()
    results: dict[str, list[dict]] = {"pypinyin": [], "table": []}
    for _ in range(max(1, min(args.runs, 10))):  # alternating: the same minutes for both
        for mode in ("pypinyin", "table"):
            results[mode].append(_run(mode))
    assert len({r["digest"] for rs in results.values() for r in rs}) == 1, "keys differ"
    assert not any(r["pypinyin_loaded"] for r in results["table"]), "the table loaded pypinyin"
    rows = []
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.runs} fresh interpreters each; "
          "same keys for all 100,000 names")
    print(f"{'':28}{'pypinyin (reference)':>24}{'table':>22}")
    for key, metric, label, unit in (
            ("first_ms", "pinyin_load_and_first_key", "load + first key", "ms"),
            ("pause_ms", "pinyin_load_longest_thread_pause", "longest 1 ms-ticker pause", "ms"),
            ("rss_delta_mb", "pinyin_load_rss_added", "RSS added by load", "MB"),
            ("bulk_s", "pinyin_keys_100000_names_cold", "100,000 names, cold", "s"),
            ("rss_after_100k_mb", "pinyin_rss_after_100000_keys", "RSS after 100,000 keys", "MB")):
        ref = [r[key] for r in results["pypinyin"]]
        new = [r[key] for r in results["table"]]
        fmt = "{:.3f}" if unit == "s" else "{:.1f}"

        def cell(v: list[float], f: str = fmt) -> str:
            return f"{f.format(statistics.median(v))} ({f.format(min(v))}–{f.format(max(v))})"

        print(f"{label:28}{cell(ref):>24}{cell(new):>22} {unit}")
        rows.append({"metric": metric, "value": round(statistics.median(new), 4), "unit": unit})
        rows.append({"metric": metric, "value": round(statistics.median(ref), 4), "unit": unit,
                     "peer": "pypinyin"})
    rows.append({"metric": "pinyin_loadavg_1min", "value": round(load[0], 2), "unit": "load"})
    from tests.bench.results import RESULTS_DIR, merge_results

    merge_results(rows, RESULTS_DIR / "pinyin.json")


if __name__ == "__main__":
    main()
