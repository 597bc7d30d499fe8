"""Sync client benchmarks: ``.venv/bin/python -m tests.bench.bench_sync [--leads 100000 --events 10000]``.

Against the real server (``seatmate-server serve``, SQLite) on loopback:

Each timed part also reports CPU seconds of the client process and of the server process
(``*_client_cpu``, ``*_server_cpu``): on this shared 2-core machine the wall clock moves with
the other jobs, CPU seconds much less.

1. initial pull of N leads (default 100,000) into an empty cache — target ≤ 4 s (#16; was ≤ 10 s);
   reference ("naive"): the same pages applied with one ORM ``merge`` per lead,
   on the first 10,000 leads; and the whole pull again right after into a second empty cache the way
   it was before the lead indexes were deferred and page commits relaxed ("before": every page
   maintains all indexes and is fsynced);
2. push of M events (default 10,000) queued offline — target ≤ 2 s (#16; was ≤ 5 s);
   reference ("naive"): one event per request, on 1,000 events;
3. an idle sync round (nothing changed) — target: 1 request, ≤ 2 KB on the
   wire, counted byte by byte by a pass-through proxy; reference ("naive"):
   a round that pulls everything again without a cursor.

While the pull and the push run, a stand-in for the GUI thread (``GilProbe``: wakes every 2 ms
and needs the interpreter, as the app's Python slots do) records how long it waited: the
``*_gui_probe_wait_*`` rows (one frame = 16.7 ms). Its reference in the same run: one more first
pull the way it was before the pages came in lines, with each 5,000-lead page parsed in one call
and Python's 5 ms switch interval (peer "before: JSON pages, 5 ms switch interval").

Writes bench-results/sync.json: [{"metric", "value", "unit", "peer"?}].
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from cache import models as m
from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core.pinyin import clear_caches as clear_pinyin_caches
from core.timeutil import format_iso, parse_iso
from sync import client as sync_client
from sync import engine as sync_engine
from sync.client import ApiClient, MemoryVault
from sync.engine import SyncEngine
from tests.bench.results import merge_results
from tests.faults.harness import ROOT, ServerProcess
from tests.faults.proxy import FaultProxy

CAMPAIGN = "车险续保 2026Q4"
BENCH_USER, BENCH_PASSWORD = "bench", "bench-pass-2026"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍海峰鹏辉斌宇浩凯"
_PREFIXES = ("135", "136", "137", "138", "139", "158", "159", "186", "187", "188")
_CITIES = ("武汉", "宜昌", "襄阳", "荆州", "黄石", "十堰", "孝感", "荆门")


def _write_leads_csv(path: Path, n: int, rng: random.Random) -> None:
    # Numbers are unique (the server refuses a number that is already another lead's).
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "name", "phone", "gender", "city", "plate", "vehicle", "policy_expiry",
                    "last_premium", "source", "priority", "notes"])
        base = dt.date(2026, 12, 1)
        for i in range(n):
            name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
            w.writerow([f"BENCH-{i:06d}", name, f"{_PREFIXES[i % len(_PREFIXES)]}{(i * 7919 + 1234567) % 10**8:08d}",
                        rng.choice("男女"), rng.choice(_CITIES), f"鄂A{rng.randrange(10**5):05d}", "大众 朗逸",
                        (base + dt.timedelta(days=i % 60)).isoformat(), 2000 + i % 3000, "续保名单",
                        1 + i % 5, ""])


def _setup_server(work: Path, n_leads: int) -> ServerProcess:
    srv = ServerProcess(work / "server")
    srv.cli("demo")
    srv.cli("create-user", BENCH_USER, "--role", "tsr", "--team", "续保一组", input=BENCH_PASSWORD + "\n")
    leads_csv = work / "leads.csv"
    _write_leads_csv(leads_csv, n_leads, random.Random(42))
    t0 = time.perf_counter()
    srv.cli("import-leads", "--campaign", CAMPAIGN, str(leads_csv), timeout=1800)
    srv.cli("assign-leads", "--campaign", CAMPAIGN, "--to", BENCH_USER, "--count", str(n_leads), timeout=1800)
    print(f"  (setup: {n_leads} leads imported and assigned in {time.perf_counter() - t0:.1f} s)", flush=True)
    srv.start()
    return srv


class GilProbe:
    """A stand-in for the GUI thread while a pull runs: wakes every 2 ms and needs the GIL each
    time, as the app's Python slots and the lead model's data() calls do. How late it wakes is
    how long the GUI thread would wait for the interpreter (the sync threads hold it otherwise).
    A proxy: it does not paint; a frame is 16.7 ms at 60 Hz."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        #: Per wake, how much of the wait the thread spent runnable on the OS run queue (other
        #: processes had the cores: not the GIL's doing); Linux's schedstat, else 0.
        self.queued_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gui-probe", daemon=True)

    def _run(self) -> None:
        try:
            stat = open("/proc/thread-self/schedstat", "rb", buffering=0)  # closed in the finally below
        except OSError:
            stat = None

        def queued_ns() -> int:
            if stat is None:
                return 0
            stat.seek(0)
            return int(stat.read().split()[1])

        try:
            for _ in range(10_000_000):  # bounded: 2 ms ticks for ~5 hours at most
                if self._stop.is_set():
                    return
                q = queued_ns()
                t = time.perf_counter()
                time.sleep(0.002)
                self.late_ms.append((time.perf_counter() - t - 0.002) * 1000)
                self.queued_ms.append((queued_ns() - q) / 1e6)
        finally:
            if stat is not None:
                stat.close()

    def __enter__(self) -> GilProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def rows(self, prefix: str) -> list[dict]:
        late = sorted(self.late_ms) or [0.0]
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        n = min(len(self.late_ms), len(self.queued_ms))
        worst = max(range(n), key=self.late_ms.__getitem__, default=None)
        return [{"metric": f"{prefix}_gui_probe_wait_p99", "value": round(p99, 1), "unit": "ms"},
                {"metric": f"{prefix}_gui_probe_wait_max", "value": round(late[-1], 1), "unit": "ms"},
                # Of the longest wait, the time on the OS run queue (a loaded machine, not the GIL).
                {"metric": f"{prefix}_gui_probe_wait_max_os_queue",
                 "value": round(self.queued_ms[worst], 1) if worst is not None else 0.0, "unit": "ms"},
                {"metric": f"{prefix}_gui_probe_wait_median", "value": round(statistics.median(late), 2),
                 "unit": "ms"}]


def _proc_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 without a pid. Unlike the wall
    clock, hardly moved by the other jobs on this shared machine."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of this process (the client: sync + prefetch threads) and of the server."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> CpuMeter:
        self._client, self._server = time.process_time(), _proc_cpu_s(self.server_pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client_s = time.process_time() - self._client
        self.server_s = _proc_cpu_s(self.server_pid) - self._server

    def rows(self, prefix: str) -> list[dict]:
        rows = [{"metric": f"{prefix}_client_cpu", "value": round(self.client_s, 2), "unit": "s"}]
        if self.server_pid is not None:
            rows.append({"metric": f"{prefix}_server_cpu", "value": round(self.server_s, 2), "unit": "s"})
        return rows


def _client(url: str) -> ApiClient:
    return ApiClient(url, MemoryVault(), device_id=str(uuid.uuid4()), timeout=120, connect_timeout=10)


def _agent(path: Path, url: str) -> tuple[ApiClient, SyncStore, SyncEngine]:
    handle = open_cache(path)
    store = SyncStore(handle)
    client = _client(url)
    identity = client.login(BENCH_USER, BENCH_PASSWORD)
    store.save_identity(identity.to_json(), url)
    return client, store, SyncEngine(client, store)


def bench_pull(work: Path, url: str, n_leads: int, results: list[dict],
               server_pid: int | None = None) -> tuple[ApiClient, SyncStore, SyncEngine]:
    client, store, engine = _agent(work / "bench-cache.sqlite3", url)
    # Where the time goes: HTTP (server + transfer + JSON) on the prefetch thread,
    # cache writes on the sync thread; they overlap, so the total is less than the sum.
    spent = {"http": 0.0, "write": 0.0}

    def timed(fn, key):
        def run(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t
        return run

    clear_pinyin_caches()  # an app's first pull starts with no pinyin cached (the next pull is "before")
    client.pull = timed(client.pull, "http")
    store.apply_page = timed(store.apply_page, "write")
    with GilProbe() as probe, CpuMeter(server_pid) as cpu:
        t0 = time.perf_counter()
        pages, _summary = engine.pull_all()
        took = time.perf_counter() - t0
    del client.pull, store.apply_page
    with store.handle.session() as s:
        count = s.scalar(select(func.count()).select_from(m.Lead).where(m.Lead.assigned_to.is_not(None)))
    assert count is not None and count >= n_leads, f"pulled {count} leads, expected {n_leads}"
    results += [
        {"metric": f"initial_pull_{n_leads}_leads", "value": round(took, 2), "unit": "s"},
        {"metric": "initial_pull_rate", "value": round(count / took), "unit": "leads/s"},
        {"metric": "initial_pull_pages", "value": pages, "unit": "requests"},
        {"metric": "initial_pull_http_time", "value": round(spent["http"], 2), "unit": "s"},
        {"metric": "initial_pull_cache_write_time", "value": round(spent["write"], 2), "unit": "s"},
        {"metric": "initial_pull_bytes_received", "value": client.stats.bytes_received, "unit": "B"},
        *cpu.rows("initial_pull"),
        *probe.rows("initial_pull"),
    ]
    return client, store, engine


def bench_pull_before(work: Path, url: str, n_leads: int, results: list[dict]) -> None:
    """The same first pull the way it was written before the lead indexes were deferred and the
    page commits relaxed: every page maintains all indexes and is fsynced (same run, same server)."""
    client, store, engine = _agent(work / "before-cache.sqlite3", url)
    durable_write = store.handle.write
    store.handle.write = lambda durable=True: durable_write(True)
    apply_page = store.apply_page
    store.apply_page = lambda *a, defer_indexes=False, **kw: apply_page(*a, **kw)
    clear_pinyin_caches()  # not the names the pull above cached (runs second: the server is warm)
    t0 = time.perf_counter()
    engine.pull_all()
    took = time.perf_counter() - t0
    client.close()
    store.handle.close()
    results.append({"metric": f"initial_pull_{n_leads}_leads", "value": round(took, 2), "unit": "s",
                    "peer": "before: per-row indexes, fsync"})


def bench_pull_gui_before(work: Path, url: str, n_leads: int, results: list[dict]) -> None:
    """The GUI probe's reference in the same run: the same first pull with each page as one JSON
    object (parsed in one call, as before the pages came in lines: core/pull_lines.py) and
    Python's default switch interval (5 ms) instead of the pull's 1 ms."""
    client, store, engine = _agent(work / "gui-before-cache.sqlite3", url)
    accept, interval = sync_client._PULL_ACCEPT, sync_engine.PULL_SWITCH_INTERVAL_S
    sync_client._PULL_ACCEPT = {"Accept": "application/json"}
    sync_engine.PULL_SWITCH_INTERVAL_S = sys.getswitchinterval()
    clear_pinyin_caches()
    try:
        with GilProbe() as probe:
            t0 = time.perf_counter()
            engine.pull_all()
            took = time.perf_counter() - t0
    finally:
        sync_client._PULL_ACCEPT, sync_engine.PULL_SWITCH_INTERVAL_S = accept, interval
        client.close()
        store.handle.close()
    peer = "before: JSON pages, 5 ms switch interval"
    results += [{"metric": f"initial_pull_{n_leads}_leads", "value": round(took, 2), "unit": "s", "peer": peer},
                *({**r, "peer": peer} for r in probe.rows("initial_pull"))]


def bench_pull_naive(work: Path, url: str, limit_leads: int, results: list[dict]) -> None:
    """The textbook ORM way: ``session.merge`` one lead (and its phones) at a time."""
    handle = open_cache(work / "naive-cache.sqlite3")
    client = _client(url)
    client.login(BENCH_USER, BENCH_PASSWORD)
    cursor, done = None, 0
    t0 = time.perf_counter()
    while done < limit_leads:
        page = client.pull(cursor, limit=1000)
        with handle.write() as s:
            for c in page.changes:
                if c.entity == "campaign":
                    s.merge(m.Campaign(id=c.id, name=c.data["name"], rules=c.data.get("rules") or {}))
                elif c.entity == "lead" and c.op == "upsert":
                    d = c.data
                    s.merge(m.Campaign(id=d["campaign_id"], name=d["campaign_id"]))
                    lead = s.merge(m.Lead(id=c.id, campaign_id=d["campaign_id"], external_id=d["external_id"],
                                          name=d["name"], status=d["status"], assigned_to=d.get("assigned_to"),
                                          policy_expiry=dt.date.fromisoformat(d["policy_expiry"])
                                          if d.get("policy_expiry") else None,
                                          updated_at=parse_iso(d.get("updated_at"))))
                    lead.phones = [m.LeadPhone(number_e164=p["number"], tail4=p["number"][-4:], position=i)
                                   for i, p in enumerate(d.get("phones") or [])]
                    done += 1
        cursor = page.next_cursor
        if not page.has_more:
            break
    took = time.perf_counter() - t0
    client.close()
    handle.close()
    results += [
        {"metric": f"initial_pull_{done}_leads", "value": round(took, 2), "unit": "s", "peer": "naive"},
        {"metric": "initial_pull_rate", "value": round(done / took), "unit": "leads/s", "peer": "naive"},
    ]


def _queue_events(store: SyncStore, n_events: int) -> None:
    """A day offline: calls recorded as the wrap-up flow does (3 events per call)."""
    rng = random.Random(7)
    with store.handle.session() as s:
        leads = [(r.id, r.number_e164) for r in s.execute(
            select(m.Lead.id, m.LeadPhone.number_e164).join(m.LeadPhone, m.LeadPhone.lead_id == m.Lead.id)
            .where(m.Lead.assigned_to.is_not(None)).limit(5000))]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=8)
    made = 0
    with store.handle.write() as s:
        while made < n_events:
            lead_id, number = rng.choice(leads)
            call_id = str(uuid.uuid4())
            at = now + dt.timedelta(seconds=made)
            Repository.append_event(s, "call_attempted", lead_id,
                                    {"call_id": call_id, "number_e164": number, "direction": "out"}, occurred_at=at)
            Repository.append_event(s, "call_ended", lead_id, {
                "call_id": call_id, "dialed_at": format_iso(at), "ended_at": format_iso(at),
                "sip_status": 480, "talk_seconds": 0}, occurred_at=at)
            Repository.append_event(s, "disposition_recorded", lead_id, {"call_id": call_id, "code": "NO_ANSWER"},
                                    occurred_at=at)
            made += 3
    # Trim to exactly n_events pending (the last call may overshoot).
    extra = store.pending_count() - n_events
    if extra > 0:
        with store.handle.write() as s:
            ids = list(s.scalars(select(m.OutboxEvent.id).where(m.OutboxEvent.status == "pending")
                                 .order_by(m.OutboxEvent.seq.desc()).limit(extra)))
            s.execute(m.OutboxEvent.__table__.delete().where(m.OutboxEvent.id.in_(ids)))


def bench_push(store: SyncStore, engine: SyncEngine, n_events: int, results: list[dict],
               server_pid: int | None = None) -> None:
    _queue_events(store, n_events)
    assert store.pending_count() == n_events
    with GilProbe() as probe, CpuMeter(server_pid) as cpu:
        t0 = time.perf_counter()
        pushed, acked, rejected = engine.push_pending()
        took = time.perf_counter() - t0
    assert (pushed, acked + rejected) == (n_events, n_events) and rejected == 0, (pushed, acked, rejected)
    results += [
        {"metric": f"push_{n_events}_offline_events", "value": round(took, 2), "unit": "s"},
        {"metric": "push_rate", "value": round(n_events / took), "unit": "events/s"},
        *cpu.rows("push"),
        *probe.rows("push"),
    ]


def bench_push_naive(store: SyncStore, engine: SyncEngine, n_events: int, results: list[dict]) -> None:
    _queue_events(store, n_events)
    naive = SyncEngine(engine.client, store, push_batch=1)
    t0 = time.perf_counter()
    naive.push_pending()
    took = time.perf_counter() - t0
    results += [
        {"metric": f"push_{n_events}_offline_events", "value": round(took, 2), "unit": "s", "peer": "naive"},
        {"metric": "push_rate", "value": round(n_events / took), "unit": "events/s", "peer": "naive"},
    ]


def bench_idle(work: Path, server: ServerProcess, results: list[dict]) -> None:
    """An idle round through a pass-through proxy that counts every byte on the wire."""
    proxy = FaultProxy(server.port).start()
    try:
        handle = open_cache(work / "idle-cache.sqlite3")
        store = SyncStore(handle)
        client = ApiClient(proxy.url, MemoryVault(), device_id=str(uuid.uuid4()))
        identity = client.login("lina", "demo-2026")
        store.save_identity(identity.to_json(), proxy.url)
        engine = SyncEngine(client, store)
        engine.run_round()  # first sync: everything
        engine.run_round()  # settle
        before = (proxy.stats.requests, proxy.stats.bytes_from_client, proxy.stats.bytes_to_client)
        engine.run_round()  # idle
        reqs = proxy.stats.requests - before[0]
        up = proxy.stats.bytes_from_client - before[1]
        down = proxy.stats.bytes_to_client - before[2]
        # Naive: no cursor, everything again each round.
        before = (proxy.stats.requests, proxy.stats.bytes_from_client, proxy.stats.bytes_to_client)
        page = client.pull(None, limit=5000)
        while page.has_more:
            page = client.pull(page.next_cursor, limit=5000)
        n_reqs = proxy.stats.requests - before[0]
        n_bytes = proxy.stats.bytes_from_client - before[1] + proxy.stats.bytes_to_client - before[2]
        client.close()
        handle.close()
    finally:
        proxy.stop()
    results += [
        {"metric": "idle_round_requests", "value": reqs, "unit": "requests"},
        {"metric": "idle_round_bytes_on_wire", "value": up + down, "unit": "B"},
        {"metric": "idle_round_bytes_sent", "value": up, "unit": "B"},
        {"metric": "idle_round_bytes_received", "value": down, "unit": "B"},
        {"metric": "idle_round_requests", "value": n_reqs, "unit": "requests", "peer": "naive"},
        {"metric": "idle_round_bytes_on_wire", "value": n_bytes, "unit": "B", "peer": "naive"},
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Sync client benchmarks")
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--naive-leads", type=int, default=10_000)
    ap.add_argument("--naive-events", type=int, default=1_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "sync.json")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="seatmate-bench-sync-"))
    results: list[dict] = []
    server = None
    load_before = os.getloadavg()  # the machine is shared: the wall-clock figures move with it
    try:
        print(f"setting up the server with {args.leads} leads…", flush=True)
        server = _setup_server(work, args.leads)
        pid = server.proc.pid if server.proc is not None else None
        client, store, engine = bench_pull(work, server.url, args.leads, results, server_pid=pid)
        bench_pull_before(work, server.url, args.leads, results)
        bench_pull_gui_before(work, server.url, args.leads, results)
        bench_push(store, engine, args.events, results, server_pid=pid)
        bench_push_naive(store, engine, args.naive_events, results)
        client.close()
        bench_pull_naive(work, server.url, args.naive_leads, results)
        bench_idle(work, server, results)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    results += [{"metric": "sync_loadavg_1min_before", "value": round(load_before[0], 2), "unit": "load"},
                {"metric": "sync_loadavg_1min_after", "value": round(os.getloadavg()[0], 2), "unit": "load"}]
    targets = {f"initial_pull_{args.leads}_leads": "≤ 4 s", f"push_{args.events}_offline_events": "≤ 2 s",
               "idle_round_requests": "1", "idle_round_bytes_on_wire": "≤ 2048 B",
               "initial_pull_gui_probe_wait_max": "≤ 16.7 ms", "push_gui_probe_wait_max": "≤ 16.7 ms"}
    print(f"\n{'metric':<42}{'value':>12}  {'unit':<10}{'peer':<30}target")
    for r in results:
        target = targets.get(r["metric"], "") if "peer" not in r else ""
        print(f"{r['metric']:<42}{r['value']:>12}  {r['unit']:<10}{r.get('peer', '')[:28]:<30}{target}")
    merge_results(results, args.out)  # bench_pull_apply's rows share the file
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
