"""The TL's live board under load: ``.venv/bin/python -m tests.bench.bench_supervisor [--quick]``.

200 simulated agents in one team (a separate client process, async httpx) post a
state change every 2–6 s (ready → on_call → wrap_up → ready, now and then 小休)
plus the 5-second heartbeat, against the real server (``seatmate-server serve``,
one worker process), on embedded SQLite and on PostgreSQL. Every change carries
a unique marker in ``reason``, so each one is matched where it arrives.

Phases of ``--duration`` seconds each, the agent load running throughout:

- ``idle``: no board open (the agents' own cost, the baseline);
- ``push×1``, ``push×10``: 1 and 10 boards on ``/supervisor/board/stream`` (SSE);
- ``poll×1``, ``poll×10`` (reference, "peer"): a naive polled board —
  ``GET /presence`` every 0.5 s per board, what the old stream did server-side.

Per phase: state change → seen at each board, p50/p99 (wall clock of one host);
server CPU (% of one core, the whole process), its RSS, DB statements/s (the
server's own counter, ``/admin/diagnostics``). Writes bench-results/supervisor.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")  # cheap hashes for 200 bench accounts

import httpx

from tests.bench.results import merge_results
from tests.server.live import ROOT, start_postgres, start_server

PASSWORD = "bench-pass-2026"
TEAM = "bench-floor"
TL = "benchtl"
POLL_S = 0.5
PEER = "polled board: GET /presence every 0.5 s per board (the old stream's per-connection DB poll)"


def seed(db_url: str, agents: int) -> None:
    from server import admin, changes, migrate
    from server import demo as demo_mod
    from server.db import make_engine, make_sessionmakers

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    writer, _ = make_sessionmakers(engine)
    with writer() as s:
        demo_mod.load(s)
        admin.create_team(s, TEAM)
        admin.create_user(s, TL, PASSWORD, "tl", TEAM, display_name="压测组长", sip_user="6999")
        for i in range(agents):
            admin.create_user(s, f"floor{i:04d}", PASSWORD, "tsr", TEAM, display_name=f"坐席{i}", sip_user=f"6{i:03d}")
        changes.commit(s)
    engine.dispose()


# -- the agents (own process) ------------------------------------------------------------------

async def _agent(i: int, url: str, until: float, sent: dict[str, float], sem: asyncio.Semaphore,
                 errors: dict[str, int]) -> None:
    rng = random.Random(i)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1)) as c:
        async with sem:
            r = await c.post("/api/v1/auth/login", json={"username": f"floor{i:04d}", "password": PASSWORD})
        if r.status_code != 200:
            errors["login"] = errors.get("login", 0) + 1
            return
        c.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        state, seq = "ready", 0
        body = {"state": state, "reason": f"m{i}-0"}
        cycle = {"ready": "on_call", "on_call": "wrap_up", "wrap_up": "ready", "paused": "ready"}

        async def post(b: dict) -> None:
            try:
                resp = await c.post("/api/v1/presence", json=b)
                if resp.status_code != 200:
                    errors["presence"] = errors.get("presence", 0) + 1
            except httpx.HTTPError:
                errors["presence"] = errors.get("presence", 0) + 1

        async def heartbeat() -> None:
            await asyncio.sleep(rng.uniform(0, 5))
            while time.time() < until:
                await post(dict(body))
                await asyncio.sleep(5)

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(rng.uniform(0, 4))
        while time.time() < until:
            state = "paused" if state == "ready" and rng.random() < 0.1 else cycle[state]
            seq += 1
            marker = f"m{i}-{seq}"
            body = {"state": state, "reason": marker}
            if state == "on_call":
                body["call_id"] = f"c{i}-{seq}"
                body["number_e164"] = "+8613812345678"
            sent[marker] = time.time()
            await post(dict(body))
            await asyncio.sleep(rng.uniform(2, 6))
        beat.cancel()


def _agents_process(n: int, url: str, until: float, out: mp.Queue) -> None:
    async def main() -> tuple[dict, dict]:
        sent: dict[str, float] = {}
        errors: dict[str, int] = {}
        sem = asyncio.Semaphore(8)
        await asyncio.gather(*(_agent(i, url, until, sent, sem, errors) for i in range(n)))
        return sent, errors

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    out.put(asyncio.run(main()))


# -- boards (main process) ------------------------------------------------------------------------

async def _push_board(url: str, headers: dict, until: float, seen: dict[str, float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10, read=60)) as c:
        async with c.stream("GET", "/api/v1/supervisor/board/stream", headers=headers,
                            params={"max_seconds": max(1, until - time.time())}) as r:
            name = ""
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "agent":
                    now = time.time()
                    reason = (json.loads(line[6:]).get("presence") or {}).get("reason")
                    if reason and reason not in seen:
                        seen[reason] = now
                if time.time() > until:
                    return


async def _poll_board(url: str, headers: dict, until: float, seen: dict[str, float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        await asyncio.sleep(random.uniform(0, POLL_S))
        while time.time() < until:
            t0 = time.time()
            r = await c.get("/api/v1/presence", headers=headers)
            now = time.time()
            for a in r.json():
                reason = a.get("reason")
                if reason and reason not in seen:
                    seen[reason] = now
            await asyncio.sleep(max(0.0, POLL_S - (time.time() - t0)))


def _proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds user+sys, RSS MiB) of a process and its children."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(path.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(path.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    cpu = rss = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except OSError:
            continue
    return cpu, rss


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def _phase(url: str, tl: dict, admin: dict, kind: str, boards: int, duration: float,
                 server_pid: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        seen: list[dict[str, float]] = [{} for _ in range(boards)]
        until = time.time() + duration + 1.0
        runner = _push_board if kind == "push" else _poll_board
        tasks = [asyncio.create_task(runner(url, tl, until, s)) for s in seen]
        await asyncio.sleep(1.0)  # boards connected, snapshots sent: measure from here
        q0 = (await c.get("/api/v1/admin/diagnostics", headers=admin)).json()["db_queries"]
        cpu0, _ = _proc_stat(server_pid)
        t0 = time.time()
        await asyncio.sleep(duration)
        t1 = time.time()
        cpu1, rss = _proc_stat(server_pid)
        q1 = (await c.get("/api/v1/admin/diagnostics", headers=admin)).json()["db_queries"]
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"kind": kind, "boards": boards, "t0": t0, "t1": t1, "seen": seen,
            "cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100, "rss_mb": rss, "queries_per_s": (q1 - q0 - 1) / (t1 - t0)}


def run_backend(backend: str, args, pg) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix=f"seatmate-bench-sup-{backend}-"))
    db_url = f"sqlite:///{tmp / 'server.sqlite3'}" if backend == "sqlite" else pg.create_database()
    t = time.monotonic()
    seed(db_url, args.agents)
    print(f"[{backend}] seeded {args.agents} agents in {time.monotonic() - t:.1f} s", flush=True)
    srv = start_server(db_url, tmp / "data", workers=1, demo=False)
    phases = [("idle", 0), ("push", 1), ("push", 10), ("poll", 1), ("poll", 10)]
    try:
        tl = srv.headers(TL, PASSWORD)
        admin = srv.headers("admin", "admin-demo-2026")
        warmup = max(8.0, args.agents / 25)
        total = warmup + len(phases) * (args.duration + 3) + 5
        ctx = mp.get_context("spawn")
        q: mp.Queue = ctx.Queue()
        until = time.time() + total
        proc = ctx.Process(target=_agents_process, args=(args.agents, srv.url, until, q))
        proc.start()
        time.sleep(warmup)  # logins and the first states
        results = []
        for kind, boards in phases:
            if kind == "idle":
                r = asyncio.run(_phase(srv.url, tl, admin, "push", 0, args.duration, srv.proc.pid))
                r["kind"] = "idle"
            else:
                r = asyncio.run(_phase(srv.url, tl, admin, kind, boards, args.duration, srv.proc.pid))
            results.append(r)
            print(f"[{backend}] {kind}x{boards}: cpu {r['cpu_pct']:.1f} %, {r['queries_per_s']:.1f} queries/s",
                  flush=True)
        sent, errors = q.get(timeout=total + 120)
        proc.join(timeout=30)
        alive = srv.proc.poll() is None
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out = []
    for r in results:
        window = {m: ts for m, ts in sent.items() if r["t0"] <= ts <= r["t1"] - 1.0}
        lat: list[float] = []
        missed = 0
        for seen in r["seen"]:
            for m, ts in window.items():
                if m in seen:
                    lat.append((seen[m] - ts) * 1000)
                else:
                    missed += 1
        out.append({**{k: v for k, v in r.items() if k != "seen"}, "backend": backend, "changes": len(window),
                    "deliveries": len(lat), "missed": missed, "p50": pct(lat, 50), "p99": pct(lat, 99),
                    "mean": statistics.fmean(lat) if lat else float("nan"), "errors": errors, "alive": alive})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--quick", action="store_true", help="10 s phases, SQLite only")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.backends = min(args.duration, 10.0), "sqlite"
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    pg = start_postgres() if "postgresql" in backends else None
    rows: list[dict] = []
    try:
        for b in backends:
            rows += run_backend(b, args, pg)
    finally:
        if pg:
            pg.stop()
    print()
    print(f"Live board: {args.agents} agents, a state change every 2-6 s each + heartbeats, "
          f"{args.duration:g} s per phase, 1 server worker")
    print(f"{'backend':<11}{'phase':<10}{'changes':>8}{'p50 ms':>9}{'p99 ms':>9}{'missed':>8}"
          f"{'CPU %':>8}{'board CPU %':>12}{'RSS MB':>8}{'queries/s':>10}")
    metrics = []
    for b in backends:
        mine = [r for r in rows if r["backend"] == b]
        idle = next(r for r in mine if r["kind"] == "idle")
        for r in mine:
            phase = "idle" if r["kind"] == "idle" else f"{r['kind']}x{r['boards']}"
            extra = r["cpu_pct"] - idle["cpu_pct"]
            p50 = "" if r["kind"] == "idle" else f"{r['p50']:.1f}"
            p99 = "" if r["kind"] == "idle" else f"{r['p99']:.1f}"
            print(f"{b:<11}{phase:<10}{r['changes']:>8}{p50:>9}{p99:>9}{r['missed']:>8}{r['cpu_pct']:>8.1f}"
                  f"{extra:>12.1f}{r['rss_mb']:>8.0f}{r['queries_per_s']:>10.1f}")
            peer = {"peer": PEER} if r["kind"] == "poll" else {}
            tag = f"supervisor_{b}_{phase.replace('x', '_')}{'boards' if r['boards'] > 1 else 'board' if r['boards'] else ''}"
            if r["kind"] != "idle":
                metrics += [
                    {"metric": f"{tag}_change_to_board_p50_ms", "value": round(r["p50"], 1), "unit": "ms", **peer},
                    {"metric": f"{tag}_change_to_board_p99_ms", "value": round(r["p99"], 1), "unit": "ms", **peer},
                    {"metric": f"{tag}_missed", "value": r["missed"], "unit": "deliveries", **peer},
                    {"metric": f"{tag}_board_cpu_percent", "value": round(extra, 1), "unit": "% of a core", **peer},
                ]
            metrics += [
                {"metric": f"{tag}_server_cpu_percent", "value": round(r["cpu_pct"], 1), "unit": "% of a core", **peer},
                {"metric": f"{tag}_server_rss_mb", "value": round(r["rss_mb"], 1), "unit": "MiB", **peer},
                {"metric": f"{tag}_db_queries_per_s", "value": round(r["queries_per_s"], 1), "unit": "queries/s", **peer},
            ]
        errs = mine[0]["errors"]
        if errs:
            print(f"  client errors: {errs}")
    metrics.append({"metric": "supervisor_agents", "value": args.agents, "unit": "agents"})
    metrics.append({"metric": "supervisor_phase_s", "value": args.duration, "unit": "s"})
    out = ROOT / "bench-results" / "supervisor.json"
    merge_results(metrics, out)
    print(f"\nwrote {out.relative_to(ROOT)}")
    ok = all(r["p99"] <= 1000 for r in rows if r["kind"] == "push")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
