"""The cache side of a first pull, without the server: `python -m tests.bench.bench_pull_apply [--leads N]`.

Pages of 5,000 synthetic leads (the server's lead shape, one phone each), converted as the
prefetch thread does (``prepare_leads``, not timed), then ``SyncStore.apply_page`` page by
page into an empty cache, as the sync thread does. Two ways, alternating, ``--rounds`` each:

- "now": what ``SyncEngine.pull_all`` does: the lead indexes deferred to the last page
  (``defer_indexes``), pages committed without fsync (``handle.write(durable=False)``);
- reference "per-row indexes, fsync": every page maintains all indexes and commits with
  ``synchronous=FULL`` (the behaviour before), in the same run.

Wall and CPU seconds (CPU does not move with the machine's load; the wall clock does).
Records ``os.getloadavg()``; merges into bench-results/sync.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from cache.db import open_cache
from cache.pull_apply import prepare_leads
from cache.sync_store import SyncStore
from core.contract import ChangeOp
from core.wire import Change
from tests.bench.results import RESULTS_DIR, merge_results

PAGE = 5000
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍海峰鹏辉斌宇浩凯"


def _pages(n: int) -> list[list[Change]]:
    rng = random.Random(1)
    ids = [f"{rng.getrandbits(64):016x}-{i}" for i in range(n)]  # the server's ids are not in order
    pages = []
    for start in range(0, n, PAGE):
        page = [Change("lead", ids[i], ChangeOp.UPSERT, {
            "id": ids[i], "campaign_id": "camp-1", "external_id": f"BENCH-{i:06d}",
            "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN), "gender": "男", "city": "武汉",
            "plate": f"鄂A{rng.randrange(10**5):05d}", "vehicle": "大众 朗逸",
            "policy_expiry": f"2026-12-{1 + i % 28:02d}", "last_premium": 2000 + i % 3000, "source": "续保名单",
            "priority": 1 + i % 5, "notes": "", "phones": [{"number": f"+86138{(i * 7919) % 10**8:08d}", "label": ""}],
            "status": "new", "assigned_to": "user-1", "next_callback_at": None, "last_attempt_at": None,
            "last_disposition": None, "updated_at": "2026-11-25T08:00:00.123Z"})
            for i in range(start, min(n, start + PAGE))]
        if start == 0:
            page.insert(0, Change("campaign", "camp-1", ChangeOp.UPSERT, {"name": "车险续保", "rules": {}}))
        pages.append(page)
    return pages


def apply_all(pages: list[list[Change]], work: Path, now: bool) -> tuple[float, float]:
    prepared = [prepare_leads(p) for p in pages]
    handle = open_cache(work / f"cache-{time.monotonic_ns()}.sqlite3")
    store = SyncStore(handle)
    if not now:  # the reference: every commit fsynced, as before
        durable_write = handle.write
        handle.write = lambda durable=True: durable_write(True)  # type: ignore[method-assign]
    wall, cpu = time.perf_counter(), time.process_time()
    for i, (page, prep) in enumerate(zip(pages, prepared, strict=True)):
        store.apply_page(page, str(i + 1), prepared=prep, defer_indexes=now and i < len(pages) - 1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    handle.close()
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    pages = _pages(args.leads)
    load = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {"now": [], "reference": []}
    with tempfile.TemporaryDirectory(prefix="bench-pull-apply-") as tmp:
        for _ in range(args.rounds):
            runs["now"].append(apply_all(pages, Path(tmp), now=True))
            runs["reference"].append(apply_all(pages, Path(tmp), now=False))
    load_after = os.getloadavg()
    print(f"cache writes of a first pull of {args.leads} leads, median of {args.rounds} "
          f"(load {load[0]:.1f} → {load_after[0]:.1f}):")
    rows = []
    for kind, values in runs.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        label = "deferred indexes, no fsync" if kind == "now" else "per-row indexes, fsync (reference)"
        print(f"  {label:<36} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
        peer = {} if kind == "now" else {"peer": "per-row indexes + fsync per page, same run"}
        rows += [{"metric": f"pull_apply_{args.leads}_leads_wall", "value": round(wall, 2), "unit": "s", **peer},
                 {"metric": f"pull_apply_{args.leads}_leads_cpu", "value": round(cpu, 2), "unit": "s", **peer}]
    rows += [{"metric": "pull_apply_loadavg_1min_before", "value": round(load[0], 2), "unit": "load"},
             {"metric": "pull_apply_loadavg_1min_after", "value": round(load_after[0], 2), "unit": "load"}]
    merge_results(rows, RESULTS_DIR / "sync.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
