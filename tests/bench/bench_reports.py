"""Supervisor mode, part 2, on the server: ``.venv/bin/python -m tests.bench.bench_reports [--backends sqlite postgresql]``.

Per backend (embedded SQLite, PostgreSQL), against the real server over loopback:

- ``report``: the 日报表 of a team of 50 agents over 30 days of events (≈ 100,000 calls,
  one disposition each), ``GET /reports/summary`` as the TL: server time to the JSON
  (the ``Server-Timing`` header) and the client's wall time, median of 5 (target ≤ 1 s;
  paint time is the UI's and measured there); the XLSX export too.
- ``seek``: a recording seek → first bytes: a ``Range`` request at a random offset of a
  30 MB recording, time to the first body byte, p50 / p95 of 30 (target ≤ 200 ms).
- ``distribute``: 10,000 unassigned leads to the 50 agents, evenly (one commit), wall time
  (target ≤ 2 s); and its preview.

Merges its rows into bench-results/supervisor.json (list of {"metric", "value", "unit"}).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")

import httpx

from tests.bench.results import merge_results
from tests.server.live import ROOT, start_postgres, start_server

RESULTS = ROOT / "bench-results" / "supervisor.json"
PASSWORD = "bench-pass-2026"
TEAM, TL, AGENTS, DAYS, CALLS = "bench-report", "reporttl", 50, 30, 100_000
LEADS = 10_000
REC_BYTES = 30 * 1024 * 1024


def seed(db_url: str, data_dir: Path) -> tuple[str, str, dt.date, dt.date]:
    """Team, 50 agents, 100,000 calls + dispositions over 30 days, 10,000 unassigned leads,
    one 30 MB recording. Returns (campaign id, recorded call id, first day, last day)."""
    from sqlalchemy import insert

    from server import admin, changes, migrate
    from server import demo as demo_mod
    from server.config import ServerConfig
    from server.db import make_engine, make_sessionmakers
    from server.models import Call, Disposition, Lead, Recording, User

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    writer, _ = make_sessionmakers(engine)
    rnd = random.Random(7)
    last = dt.date.today() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=DAYS - 1)
    with writer() as s:
        demo_mod.load(s)
        admin.create_team(s, TEAM)
        admin.create_user(s, TL, PASSWORD, "tl", TEAM, display_name="报表组长")
        ids = [admin.create_user(s, f"rep{i:02d}", PASSWORD, "tsr", TEAM, display_name=f"坐席{i:02d}").id
               for i in range(AGENTS)]
        camp = admin.create_campaign(s, "报表压测")
        s.flush()
        codes = [("SALE", True), ("REFUSED", False), ("CALLBACK", False), ("NO_ANSWER", False),
                 ("INTERESTED", False), ("BUSY", False)]
        calls, disps = [], []
        per_day = CALLS // (AGENTS * DAYS) + 1
        n = 0
        for d in range(DAYS):
            day0 = dt.datetime.combine(first + dt.timedelta(days=d), dt.time(1, 0))  # 09:00 Shanghai in UTC
            for uid in ids:
                for _k in range(per_day):
                    if n >= CALLS:
                        break
                    t0 = day0 + dt.timedelta(seconds=rnd.randrange(0, 9 * 3600))
                    answered = rnd.random() < 0.45
                    talk = rnd.randrange(5, 400) if answered else 0
                    cid = f"b{n:07d}"
                    end = t0 + dt.timedelta(seconds=talk + 15)
                    calls.append({"id": cid, "user_id": uid, "lead_id": None, "dialed_at": t0,
                                  "answered_at": t0 + dt.timedelta(seconds=10) if answered else None,
                                  "ended_at": end, "sip_status": 200 if answered else 480, "talk_seconds": talk})
                    code, conv = codes[rnd.randrange(len(codes))] if answered else ("NO_ANSWER", False)
                    disps.append({"id": str(uuid.uuid4()), "user_id": uid, "lead_id": f"L{n}", "call_id": cid,
                                  "code": code, "is_conversion": conv,
                                  "callback_at": end + dt.timedelta(days=1) if code == "CALLBACK" else None,
                                  "supersedes": None, "occurred_at": end + dt.timedelta(seconds=rnd.randrange(5, 90))})
                    n += 1
        for start in range(0, len(calls), 5000):
            s.execute(insert(Call), calls[start:start + 5000])
            s.execute(insert(Disposition), disps[start:start + 5000])
        now = dt.datetime.utcnow()
        leads = [{"id": uuid.uuid4().hex, "campaign_id": camp.id, "external_id": f"BR-{i:05d}", "name": f"客户{i}",
                  "gender": "", "city": "", "plate": "", "vehicle": "", "source": "bench", "priority": 1 + i % 5,
                  "notes": "", "phones": [{"number": f"+861380000{i:04d}", "label": "mobile"}], "status": "new",
                  "created_at": now, "updated_at": now} for i in range(LEADS)]
        for start in range(0, LEADS, 2000):
            s.execute(insert(Lead), leads[start:start + 2000])
        rec_call = "b0000000"
        owner = s.get(User, ids[0])
        cfg = ServerConfig(db_url=db_url, data_dir=data_dir)
        cfg.recordings_dir.mkdir(parents=True, exist_ok=True)
        blob = os.urandom(REC_BYTES)
        (cfg.recordings_dir / (hashlib.sha256(rec_call.encode()).hexdigest() + ".bin")).write_bytes(blob)
        s.add(Recording(call_id=rec_call, user_id=owner.id, received=REC_BYTES, size=REC_BYTES,
                        sha256=hashlib.sha256(blob).hexdigest(), status="complete", completed_at=now))
        changes.commit(s)
        camp_id = camp.id
    if engine.dialect.name == "postgresql":
        # A production database has planner statistics; a bulk load this size has none until
        # autovacuum gets to it (SQLite's planner needs none for these queries).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return camp_id, rec_call, first, last


def _server_ms(r: httpx.Response) -> float:
    timing = r.headers.get("server-timing", "")
    return float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")


def run_backend(backend: str, pg=None) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix=f"seatmate-bench-reports-{backend}-"))
    db_url = f"sqlite:///{tmp / 'server.sqlite3'}" if backend == "sqlite" else pg.create_database()
    t = time.perf_counter()
    camp, rec_call, first, last = seed(db_url, tmp / "data")
    print(f"[{backend}] seeded in {time.perf_counter() - t:.1f} s", flush=True)
    srv = start_server(db_url, tmp / "data", demo=False)
    rows: list[dict] = []
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            tok = c.post("/api/v1/auth/login", json={"username": TL, "password": PASSWORD, "device_id": "b"}).json()
            h = {"Authorization": "Bearer " + tok["access_token"]}
            params = {"date_from": first.isoformat(), "date_to": last.isoformat()}
            server, wall = [], []
            for _ in range(6):
                t = time.perf_counter()
                r = c.get("/api/v1/reports/summary", headers=h, params=params)
                wall.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                server.append(_server_ms(r))
            body = r.json()
            assert len(body["agents"]) == AGENTS + 1, len(body["agents"])
            assert body["totals"]["calls_made"] == CALLS, body["totals"]
            server, wall = server[1:], wall[1:]  # the first warms the caches
            t = time.perf_counter()
            x = c.get("/api/v1/reports/summary", headers=h, params=params | {"format": "xlsx"})
            xlsx_ms = (time.perf_counter() - t) * 1000
            assert x.status_code == 200
            rows += [
                {"metric": f"report_{backend}_50agents_30days_server_ms", "value": round(statistics.median(server), 1),
                 "unit": "ms"},
                {"metric": f"report_{backend}_50agents_30days_wall_ms", "value": round(statistics.median(wall), 1),
                 "unit": "ms"},
                {"metric": f"report_{backend}_50agents_30days_xlsx_wall_ms", "value": round(xlsx_ms, 1), "unit": "ms"},
            ]
            # Seek → first bytes.
            rnd = random.Random(3)
            firsts = []
            for _ in range(30):
                off = rnd.randrange(0, REC_BYTES - 65536)
                t = time.perf_counter()
                with c.stream("GET", f"/api/v1/recordings/{rec_call}/stream", headers=h | {
                        "Range": f"bytes={off}-"}) as r:
                    assert r.status_code == 206
                    for chunk in r.iter_raw():
                        if chunk:
                            firsts.append((time.perf_counter() - t) * 1000)
                            break
            firsts.sort()
            rows += [
                {"metric": f"recording_{backend}_seek_first_bytes_p50_ms", "value": round(statistics.median(firsts), 1),
                 "unit": "ms"},
                {"metric": f"recording_{backend}_seek_first_bytes_p95_ms",
                 "value": round(firsts[int(len(firsts) * 0.95) - 1], 1), "unit": "ms"},
            ]
            # Distribution of 10,000 leads to 50 agents.
            body = {"campaign_id": camp, "count": LEADS, "mode": "weighted", "floor": 50}
            t = time.perf_counter()
            r = c.post("/api/v1/supervisor/distribution/preview", headers=h, json=body)
            preview_ms = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, r.text
            t = time.perf_counter()
            r = c.post("/api/v1/supervisor/distribution/commit", headers=h, json=body)
            commit_ms = (time.perf_counter() - t) * 1000
            assert r.status_code == 200 and r.json()["assigned"] == LEADS, r.text
            rows += [
                {"metric": f"distribute_{backend}_10000_leads_50_agents_wall_ms", "value": round(commit_ms, 1),
                 "unit": "ms"},
                {"metric": f"distribute_{backend}_10000_leads_50_agents_preview_wall_ms",
                 "value": round(preview_ms, 1), "unit": "ms"},
            ]
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for row in rows:
        print(f"  {row['metric']}: {row['value']} {row['unit']}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows: list[dict] = []
    pg = start_postgres() if "postgresql" in args.backends else None
    try:
        for b in args.backends:
            rows += run_backend(b, pg)
    finally:
        if pg is not None:
            pg.stop()
    if not args.no_write:
        merge_results(rows, RESULTS)


if __name__ == "__main__":
    main()
