"""Server CPU per request, path by path: the cost the load benchmark multiplies by 500 req/s.

One real server (``seatmate-server serve --workers 1``, one process) on SQLite and on
PostgreSQL; one client sends N sequential keep-alive requests of one kind, and the CPU the
server process (and the PostgreSQL cluster) used meanwhile is read from /proc, divided by N:

- ``presence``: ``POST /presence`` heartbeat, state unchanged (``ready``);
- ``presence_call``: heartbeat during a call (``on_call`` + call id + the agent's lead),
  unchanged — the path with the lead-ownership rule;
- ``pull``: ``GET /sync/pull`` from the latest cursor, nothing new;
- ``push``: ``POST /sync/push`` with one small event (a note on the agent's lead);
- ``presence_write``: heartbeat whose state changes every time (``ready`` ↔ ``paused``): the
  write path (row lock, version, board patch published) that ~45 % of a floor's heartbeats
  take (a state change, or ``last_seen`` older than 14 s);
- ``push_call``: a push of one call's three events (attempted, ended with talk time, a
  disposition) — what the load benchmark's agents push, with the board's numbers recomputed.

Sequential requests leave the server idle between them, so this is CPU per request, not
throughput. Run: ``.venv/bin/python -m tests.bench.bench_request_cpu [--n 400] [--backends sqlite,pg]``
(~35 s). Writes ``request_cpu_*`` rows to bench-results/server.json.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.bench.results import RESULTS_DIR, merge_results
from tests.server.live import start_postgres, start_server


def _tree(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            kids.setdefault(int(path.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(path.parent.name))
    out, todo = [], [pid]
    while todo and len(out) < 10_000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _cpu_s(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
    return total


def _lead_of(c: httpx.Client, h: dict[str, str]) -> tuple[str, str | None]:
    """(a lead of this agent, the latest cursor): pulls to the end."""
    cursor, lead = None, None
    for _ in range(200):
        r = c.get("/api/v1/sync/pull", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}, headers=h)
        r.raise_for_status()
        body = r.json()
        for ch in body["changes"]:
            if ch["entity"] == "lead" and ch["op"] == "upsert" and lead is None:
                lead = ch["id"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert lead is not None
    return lead, cursor


def measure(server, pg_pid: int | None, n: int, kinds_wanted: set[str]) -> dict[str, dict[str, float]]:
    srv_pids = _tree(server.proc.pid)
    h = server.headers("lina")
    out: dict[str, dict[str, float]] = {}
    with server.client() as c:
        lead, _ = _lead_of(c, h)
        call_id = uuid.uuid4().hex

        def note() -> dict:
            return {"events": [{"id": str(uuid.uuid4()), "type": "note_added", "lead_id": lead,
                                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "payload": {"text": "bench"}}]}

        kinds = {
            "presence": lambda: c.post("/api/v1/presence", json={"state": "ready"}, headers=h),
            "presence_call": lambda: c.post("/api/v1/presence", json={
                "state": "on_call", "call_id": call_id, "lead_id": lead}, headers=h),
            "push": lambda: c.post("/api/v1/sync/push", json=note(), headers=h),
            "presence_write": lambda: c.post("/api/v1/presence", json={"state": next(flip)}, headers=h),
            "push_call": lambda: c.post("/api/v1/sync/push", json=call(), headers=h),
        }
        flip = itertools.cycle(["paused", "ready"])

        def call() -> dict:
            cid, now = uuid.uuid4().hex, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            ev = [("call_attempted", {"call_id": cid, "direction": "out", "number_e164": "+8613800000000"}),
                  ("call_ended", {"call_id": cid, "dialed_at": now, "ended_at": now, "answered_at": now,
                                  "sip_status": 200, "talk_seconds": 35}),
                  ("disposition_recorded", {"call_id": cid, "code": "REFUSED"})]
            return {"events": [{"id": str(uuid.uuid4()), "type": t, "occurred_at": now, "lead_id": lead,
                                "payload": pl} for t, pl in ev]}

        for kind in [k for k in ("presence", "presence_call", "presence_write", "push", "push_call", "pull")
                     if k in kinds_wanted]:
            if kind == "pull":
                _lead, cursor = _lead_of(c, h)  # after the pushes: nothing new from here on
                kinds["pull"] = lambda cur=cursor: c.get("/api/v1/sync/pull", params={"limit": 1000, "cursor": cur},
                                                          headers=h)
            fn = kinds[kind]
            for _ in range(20):  # warm: first write of the state, caches, connections
                r = fn()
                assert r.status_code == 200, (kind, r.status_code, r.text[:300])
            if kind.startswith("push"):
                assert r.json()["results"][0]["status"] == "accepted", r.text[:300]
            # PostgreSQL backends opened during the warm-up (the server's event-loop
            # connections open on first use) belong to the measurement too.
            pg_pids = _tree(pg_pid) if pg_pid else []
            s0, p0, t0 = _cpu_s(srv_pids), _cpu_s(pg_pids), time.perf_counter()
            for _ in range(n):
                r = fn()
                assert r.status_code == 200, (kind, r.status_code)
            wall = time.perf_counter() - t0
            s1, p1 = _cpu_s(srv_pids), _cpu_s(pg_pids)
            out[kind] = {"server_ms": (s1 - s0) / n * 1000, "pg_ms": (p1 - p0) / n * 1000,
                         "wall_ms": wall / n * 1000}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=400, help="requests per kind")
    ap.add_argument("--backends", default="sqlite,pg")
    ap.add_argument("--kinds", default="presence,presence_call,presence_write,push,push_call,pull")
    args = ap.parse_args()
    load0 = os.getloadavg()
    rows, report = [], {}
    with tempfile.TemporaryDirectory(prefix="seatmate-reqcpu-") as tmp:
        for backend in args.backends.split(","):
            pg = None
            try:
                if backend == "pg":
                    pg = start_postgres()
                    url = pg.create_database()
                else:
                    url = f"sqlite:///{tmp}/{backend}.db"
                server = start_server(url, Path(tmp) / backend)
                try:
                    res = measure(server, pg.proc.pid if pg else None, args.n, set(args.kinds.split(",")))
                finally:
                    server.stop()
            finally:
                if pg is not None:
                    pg.stop()
            report[backend] = res
            for kind, v in res.items():
                print(f"{backend:6s} {kind:14s} server {v['server_ms']:6.2f} ms  postgres {v['pg_ms']:5.2f} ms  "
                      f"round trip {v['wall_ms']:6.2f} ms", flush=True)
                rows.append({"metric": f"request_cpu_{backend}_{kind}_server", "value": round(v["server_ms"], 3),
                             "unit": "ms"})
                if backend == "pg":
                    rows.append({"metric": f"request_cpu_{backend}_{kind}_postgres", "value": round(v["pg_ms"], 3),
                                 "unit": "ms"})
    load1 = os.getloadavg()
    print(f"load average {load0[0]:.2f} → {load1[0]:.2f}")
    rows.append({"metric": "request_cpu_loadavg_1min", "value": round(max(load0[0], load1[0]), 2), "unit": "load"})
    merge_results(rows, RESULTS_DIR / "server.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
