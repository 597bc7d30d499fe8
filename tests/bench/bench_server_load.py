"""Server under a floor's load: ``.venv/bin/python -m tests.bench.bench_server_load [--quick]``.

N simulated agents (default 2,000) against the real server, in three configurations:

- ``sqlite1``: one instance (``seatmate-server serve --workers 2``) on embedded SQLite;
- ``pg1``: one instance (``--workers 2``) on PostgreSQL 15;
- ``pg2``: two instances (``--workers 1`` each: the same number of server processes on the
  2 cores) on one PostgreSQL, behind a real nginx (tests/scaleout/topology.py, running the
  shipped packaging/nginx-seatmate.conf).

Each agent logs in and pulls everything once (set-up, not measured), then, the whole run:

- every 5 s a presence heartbeat (``POST /presence``; the state changes one time in five,
  cycling ready → on_call → wrap_up → ready, now and then paused);
- every 30 s a sync round: ``GET /sync/pull`` from its cursor and, in a realistic mix,
  ``POST /sync/push`` — 45 % of the rounds push nothing, 40 % one call (call_attempted,
  call_ended, disposition_recorded), 15 % two calls; codes fit the calls (no answer / busy
  for unanswered ones; sale, refused, callback or interested with a callback time otherwise).

Start times are spread at random over each interval, as real desktops are; the rates are the
real ones (no compressed time scale): 2,000 agents make ≈ 400 presence and ≈ 105 sync
requests per second. The measured steady state is three windows of ``--phase`` (20) seconds:
no TL board open, one, then ``--boards`` (20) TLs on the real live stream
(``GET /supervisor/board/stream``, one per team). Per window: p50/p99 latency, errors,
requests/s, database statements/s (the server's own count, every worker of every instance:
``/admin/diagnostics``) and on PostgreSQL transactions/s (``pg_stat_database``), CPU % of
each instance, of PostgreSQL, of nginx and of the load generator, the load average. The
board cost is a window's cost per request above the no-board window's (it must not grow with
the number of boards: 20 boards ≈ 1), and the board latency is presence POST sent → the
frame on the TL's stream of that agent's team.

The load generator is one asyncio process (uvloop when installed) with a compact HTTP/1.1
keep-alive client (one connection per agent, like the app's sync thread); it reports its own
CPU and event-loop lag, so a saturated generator shows. The machine is 2 cores, shared: the
generator, the servers, PostgreSQL and nginx all run on it.

Writes bench-results/server_load.json (merge_results) and, for the one-instance rows under
their old names, bench-results/server.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")  # cheap hashes for 2,000 bench accounts

import httpx

from tests.bench.results import RESULTS_DIR, merge_results
from tests.server.live import ROOT, LiveServer, start_postgres, start_server

PASSWORD = "bench-pass-2026"
ADMIN = ("admin", "admin-demo-2026")  # the demo's admin (server/demo.py)
TEAM_SIZE = 20
LEADS_EACH = 20
TIMEOUT_S = 30.0
TARGET_P99_MS = 200.0


def _now_iso(delta: float = 0) -> str:
    t = time.time() + delta
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def seed(db_url: str, agents: int, tls: int) -> None:
    """Teams of 20 TSRs, 20 leads each, assigned, and a TL for the first ``tls`` teams —
    straight into the DB (set-up, not measured)."""
    from sqlalchemy import select

    from server import admin, changes, security
    from server.db import make_engine, make_sessionmakers
    from server.demo import CAMPAIGN
    from server.leads_import import ParseResult
    from server.models import Lead, Team, User

    engine = make_engine(db_url)
    writer, _ = make_sessionmakers(engine)
    with writer() as s:
        campaign = admin.find_campaign(s, CAMPAIGN)
        teams = [Team(id=uuid.uuid4().hex, name=f"bench-team-{t:03d}")
                 for t in range((agents + TEAM_SIZE - 1) // TEAM_SIZE)]
        s.add_all(teams)
        # The users straight as rows with one shared hash (admin.create_user hashes and
        # flushes per user: minutes for 2,000 on PostgreSQL).
        pw = security.hash_password(PASSWORD)
        s.add_all(User(id=uuid.uuid4().hex, username=f"benchtl{t:03d}", display_name=f"组长{t}", role="tl",
                       team_id=teams[t].id, password_hash=pw) for t in range(min(tls, len(teams))))
        users = [User(id=uuid.uuid4().hex, username=f"bench{i:04d}", display_name=f"压测{i}", role="tsr",
                      team_id=teams[i // TEAM_SIZE].id, password_hash=pw, sip_user=f"7{i:04d}")
                 for i in range(agents)]
        s.add_all(users)
        s.flush()
        rows = [{"external_id": f"B-{i:04d}-{j:02d}", "name": f"客户{i}-{j}",
                 "phones": [{"number": f"+86137{i:04d}{j:04d}", "label": "mobile"}], "gender": "", "city": "宜昌",
                 "plate": "", "vehicle": "", "policy_expiry": None, "last_premium": None, "source": "bench",
                 "priority": 3, "notes": ""} for i in range(agents) for j in range(LEADS_EACH)]
        admin.import_rows(s, campaign, ParseResult(rows=rows, total=len(rows)))
        s.flush()
        # One query for the leads, and no autoflush per lead (that made seeding take minutes).
        with s.no_autoflush:
            leads = {x.external_id: x for x in s.scalars(select(Lead).where(Lead.campaign_id == campaign.id,
                                                                             Lead.source == "bench"))}
            for r in rows:
                admin.assign_lead(s, leads[r["external_id"]], users[int(r["external_id"][2:6])])
        changes.commit(s)
    engine.dispose()


# -- a compact HTTP/1.1 client -------------------------------------------------------------------

class HttpError(Exception):
    pass


class Conn:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked answers). A broken
    connection is closed; the next request opens a new one (that request is not retried)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def _exchange(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        line = await self.reader.readline()
        if not line:
            raise HttpError("connection closed")
        status = int(line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            for _ in range(100_000):
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            raise HttpError("answer without a length")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, data

    async def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                      ) -> tuple[int, dict[str, str], bytes]:
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(data)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "")
                + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()
        async with self.lock:
            try:
                return await asyncio.wait_for(self._exchange(head, data), TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, HttpError, ValueError,
                    IndexError) as exc:
                await self.close()
                raise HttpError(type(exc).__name__) from exc


# -- the agents ----------------------------------------------------------------------------------

@dataclass
class Stats:
    """Samples by window (0: no board, 1: one board, 2: all boards; None: outside the windows)."""

    windows: list[tuple[float, float]] = field(default_factory=list)
    lat: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    server_ms: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    errors: dict[tuple[int, str], int] = field(default_factory=dict)
    rejected: int = 0
    relogins: int = 0
    sent_marks: dict[str, float] = field(default_factory=dict)

    def window(self, t: float) -> int | None:
        for k, (a, b) in enumerate(self.windows):
            if a <= t < b:
                return k
        return None


CALL_CODES = [("SALE", True), ("REFUSED", True), ("CALLBACK", True), ("INTERESTED", True),
              ("NO_ANSWER", False), ("NO_ANSWER", False), ("BUSY", False)]


def _call_events(rng: random.Random, lead: str, number: str) -> list[dict]:
    code, answered = rng.choice(CALL_CODES)
    talk = rng.choice([35, 90, 240]) if answered else 0
    call_id = uuid.uuid4().hex
    payload: dict[str, Any] = {"call_id": call_id, "code": code}
    if code in ("CALLBACK", "INTERESTED"):
        payload["callback_at"] = _now_iso(86400)
    return [
        {"id": str(uuid.uuid4()), "type": "call_attempted", "occurred_at": _now_iso(-talk - 10), "lead_id": lead,
         "payload": {"call_id": call_id, "direction": "out", "number_e164": number}},
        {"id": str(uuid.uuid4()), "type": "call_ended", "occurred_at": _now_iso(-1), "lead_id": lead,
         "payload": {"call_id": call_id, "dialed_at": _now_iso(-talk - 10), "ended_at": _now_iso(-1),
                     "answered_at": _now_iso(-talk) if answered else None,
                     "sip_status": 200 if answered else (486 if code == "BUSY" else 480), "talk_seconds": talk}},
        {"id": str(uuid.uuid4()), "type": "disposition_recorded", "occurred_at": _now_iso(), "lead_id": lead,
         "payload": payload},
    ]


class Agent:
    def __init__(self, i: int, host: str, port: int, stats: Stats, boards_teams: int) -> None:
        self.i = i
        self.rng = random.Random(i)
        self.conn = Conn(host, port)
        self.stats = stats
        self.token: str | None = None
        self.cursor: str | None = None
        self.leads: dict[str, str] = {}  # lead id → a phone number
        self.marked = i // TEAM_SIZE < boards_teams  # its team has a TL board: mark state changes

    async def login(self) -> bool:
        try:
            st, _h, body = await self.conn.request("POST", "/api/v1/auth/login", {
                "username": f"bench{self.i:04d}", "password": PASSWORD, "device_id": f"bench-{self.i}"})
        except HttpError:
            return False
        if st != 200:
            return False
        self.token = json.loads(body)["access_token"]
        return True

    async def call(self, kind: str, method: str, path: str, body: Any = None) -> Any:
        for _attempt in range(2):
            t_send = time.time()
            t0 = time.perf_counter()
            try:
                st, headers, data = await self.conn.request(method, path, body, self.token)
            except HttpError:
                self._error(t_send, kind)
                return None
            ms = (time.perf_counter() - t0) * 1000
            if st == 401 and await self.login():  # an access token past its 15 minutes (long runs)
                self.stats.relogins += 1
                continue
            w = self.stats.window(t_send)
            if w is not None:
                self.stats.lat.setdefault((w, kind), []).append(ms)
                timing = headers.get("server-timing", "")
                if timing.startswith("app;dur="):
                    self.stats.server_ms.setdefault((w, kind), []).append(float(timing[8:]))
            if st >= 400:
                self._error(t_send, f"{kind}_{st}")
                return None
            return json.loads(data) if data else {}
        return None

    def _error(self, t: float, kind: str) -> None:
        w = self.stats.window(t)
        key = (-1 if w is None else w, kind)
        self.stats.errors[key] = self.stats.errors.get(key, 0) + 1

    async def pull(self) -> None:
        for _page in range(50):
            q = "/api/v1/sync/pull?limit=1000" + (f"&cursor={self.cursor}" if self.cursor else "")
            body = await self.call("pull", "GET", q)
            if body is None:
                return
            for ch in body["changes"]:
                if ch["entity"] == "lead" and ch["op"] == "upsert":
                    phones = ch["data"].get("phones") or [{}]
                    self.leads[ch["id"]] = phones[0].get("number") or phones[0].get("number_e164") or "+8613700000000"
            self.cursor = body["next_cursor"]
            if not body["has_more"]:
                return

    async def sync_loop(self, end: float, interval: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, interval))
        while time.time() < end:
            await self.pull()
            roll = self.rng.random()
            calls = 0 if roll < 0.45 else 1 if roll < 0.85 else 2
            if calls and self.leads:
                events = []
                for _ in range(calls):
                    lead = self.rng.choice(list(self.leads))
                    events += _call_events(self.rng, lead, self.leads[lead])
                body = await self.call("push", "POST", "/api/v1/sync/push", {"events": events})
                if body is not None:
                    self.stats.rejected += sum(1 for x in body["results"] if x["status"] == "rejected")
            await asyncio.sleep(interval)

    async def presence_loop(self, end: float, interval: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, interval))
        state, seq = "ready", 0
        cycle = {"ready": "on_call", "on_call": "wrap_up", "wrap_up": "ready", "paused": "ready"}
        body: dict[str, Any] = {"state": state}
        while time.time() < end:
            if self.rng.random() < 0.2:
                state = "paused" if state == "ready" and self.rng.random() < 0.1 else cycle[state]
                body = {"state": state}
                if self.marked:
                    seq += 1
                    body["reason"] = f"m{self.i}-{seq}"
                    self.stats.sent_marks[body["reason"]] = time.time()
            await self.call("presence", "POST", "/api/v1/presence", body)
            await asyncio.sleep(interval)


async def _board(url: str, token: str, until: float, seen: dict[str, float], errors: list[str]) -> None:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10, read=60)) as c, \
                c.stream("GET", "/api/v1/supervisor/board/stream", headers={"Authorization": f"Bearer {token}"},
                         params={"max_seconds": max(1, int(until - time.time()) + 1)}) as r:
            if r.status_code != 200:
                errors.append(f"board_{r.status_code}")
                return
            name = ""
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "agent":
                    reason = (json.loads(line[6:]).get("presence") or {}).get("reason")
                    if reason and reason not in seen:
                        seen[reason] = time.time()
                if time.time() > until:
                    return
    except httpx.HTTPError as exc:
        if time.time() < until - 1:
            errors.append(f"board_{type(exc).__name__}")


# -- measuring -----------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = [pid]
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(path.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.extend(_children(int(path.parent.name)))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds of a process tree: each one's own plus its reaped children's (cutime,
    cstime), so PostgreSQL backends that exited during the window still count."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / tick
    return total


def _box_busy_s() -> float:
    """CPU seconds the whole machine spent busy (every core; /proc/stat): with the
    benchmark's own processes subtracted, what the machine's other jobs took."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def _db_statements(instance_urls: list[str], admin_token: str, workers: int, known: dict[int, int]) -> int:
    """Statements sent so far by every worker of every instance (each worker counts its own;
    fresh connections land on the workers at random, so ask until each pid answered anew).
    ``known`` keeps each worker's last count: one that did not answer now counts as then."""
    async with httpx.AsyncClient(timeout=30) as c:
        for url in instance_urls:
            fresh: set[int] = set()
            for _ in range(60):
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    r = await c.get(url + "/api/v1/admin/diagnostics", headers={
                        "Authorization": f"Bearer {admin_token}", "Connection": "close"})
                    d = r.json()
                    known[d["pid"]] = max(known.get(d["pid"], 0), d["db_queries"])
                    fresh.add(d["pid"])
                if len(fresh) >= workers:
                    break
    return sum(known.values())


def _pg_xacts(pg, db_url: str) -> int:
    import psycopg

    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True) as c:
        row = c.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                        (name,)).fetchone()
    return int(row[0]) if row else 0


class PgWaits:
    """Samples the benchmark database's backends every 0.2 s (a thread, its own connection):
    how many wait for a lock (pushes queued on the change-sequence row showed here: 2.3 on
    average under the 2,000-agent load before server/changes.py took that lock at commit)
    and how many sit "idle in transaction" (their thread has the transaction open and is
    waiting for the CPU/GIL between two statements)."""

    def __init__(self, pg, db_url: str) -> None:
        self.dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname={db_url.rsplit('/', 1)[1]}"
        self.samples: list[tuple[float, int, int]] = []
        self._stop = False
        self._thread: Any = None

    def start(self) -> PgWaits:
        import threading

        self._thread = threading.Thread(target=self._run, name="pg-waits", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        with contextlib.suppress(psycopg.Error), psycopg.connect(self.dsn, autocommit=True) as c:
            for _ in range(100_000):  # bounded: ~5.5 h at 0.2 s
                if self._stop:
                    return
                row = c.execute("SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                                "count(*) FILTER (WHERE state = 'idle in transaction') FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
                self.samples.append((time.time(), int(row[0]), int(row[1])))
                time.sleep(0.2)

    def stop(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join(5)

    def window(self, a: float, b: float) -> dict:
        xs = [(n, idle) for t, n, idle in self.samples if a <= t <= b]
        if not xs:
            return {"lock_waiters_avg": float("nan"), "lock_waiters_max": 0, "idle_in_xact_avg": float("nan")}
        return {"lock_waiters_avg": sum(n for n, _ in xs) / len(xs), "lock_waiters_max": max(n for n, _ in xs),
                "idle_in_xact_avg": sum(i for _, i in xs) / len(xs)}


@dataclass
class Setup:
    name: str
    backend: str
    url: str  # where the agents go (nginx for pg2)
    instance_urls: list[str]
    server_pids: list[int]
    workers: int
    db_url: str
    pg: Any = None
    pg_pid: int | None = None
    nginx_pid: int | None = None


async def _loop_lag(until: float, out: list[float]) -> None:
    while time.time() < until:
        t0 = time.perf_counter()
        await asyncio.sleep(0.1)
        out.append((time.perf_counter() - t0 - 0.1) * 1000)


async def drive(setup: Setup, args) -> dict:
    host, port = setup.url.split("//")[1].split(":")
    stats = Stats()
    agents = [Agent(i, host, int(port), stats, args.boards) for i in range(args.agents)]
    sem = asyncio.Semaphore(32)

    async def prepare(a: Agent) -> bool:
        async with sem:
            ok = await a.login()
            if ok:
                await a.pull()  # the first pull (20 leads + the campaign): set-up, not measured
            return ok

    t = time.time()
    ok = await asyncio.gather(*(prepare(a) for a in agents))
    failed_logins = ok.count(False)
    print(f"[{setup.name}] {args.agents - failed_logins} agents logged in and pulled in {time.time() - t:.0f} s",
          flush=True)
    async with httpx.AsyncClient(base_url=setup.url, timeout=30) as c:
        admin_token = (await c.post("/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
                       ).json()["access_token"]
        tl_tokens = []
        for k in range(args.boards):
            r = await c.post("/api/v1/auth/login", json={"username": f"benchtl{k:03d}", "password": PASSWORD})
            tl_tokens.append(r.json()["access_token"])
    # Every loop starts at a random point of its interval, so the request rate is the steady
    # one from the start; one presence interval of ramp, then the windows.
    warm = args.presence_interval
    t_start = time.time()
    board_counts = [0, 1, len(tl_tokens)] if len(tl_tokens) > 1 else [0, len(tl_tokens)]
    gap = 3.0  # boards connect (their snapshots) between the windows
    stats.windows = [(t_start + warm + k * (args.phase + gap), t_start + warm + k * (args.phase + gap) + args.phase)
                     for k in range(len(board_counts))]
    end = stats.windows[-1][1] + 0.5
    lag: list[float] = []
    tasks = [asyncio.create_task(x) for a in agents if a.token for x in (
        a.sync_loop(end, args.sync_interval), a.presence_loop(end, args.presence_interval))]
    tasks.append(asyncio.create_task(_loop_lag(end, lag)))
    board_seen: list[dict[str, float]] = [{} for _ in tl_tokens]
    board_open_at: list[float] = [float("inf")] * len(tl_tokens)
    board_errors: list[str] = []
    marks_for_boards = stats.sent_marks
    windows: list[dict] = []
    diag: dict[int, int] = {}
    waits = PgWaits(setup.pg, setup.db_url).start() if setup.pg else None
    await _db_statements(setup.instance_urls, admin_token, setup.workers, diag)

    def sample() -> dict:
        return {"t": time.time(), "servers": [_cpu_s(_children(p)) for p in setup.server_pids],
                "pg": _cpu_s(_children(setup.pg_pid)) if setup.pg_pid else 0.0,
                "nginx": _cpu_s(_children(setup.nginx_pid)) if setup.nginx_pid else 0.0,
                "gen": _self_cpu_s(), "box": _box_busy_s(), "load": os.getloadavg()}

    for k, (a, b) in enumerate(stats.windows):
        for j in range(board_counts[k - 1] if k else 0, board_counts[k]):
            board_open_at[j] = time.time()
            tasks.append(asyncio.create_task(_board(setup.url, tl_tokens[j], end, board_seen[j], board_errors)))
        await asyncio.sleep(max(0.0, a - time.time()))
        s0 = sample()
        q0 = await _db_statements(setup.instance_urls, admin_token, setup.workers, diag)
        x0 = _pg_xacts(setup.pg, setup.db_url) if setup.pg else 0
        await asyncio.sleep(max(0.0, b - time.time()))
        s1 = sample()
        q1 = await _db_statements(setup.instance_urls, admin_token, setup.workers, diag)
        x1 = _pg_xacts(setup.pg, setup.db_url) if setup.pg else 0
        dt_s = s1["t"] - s0["t"]
        windows.append({
            "boards": board_counts[k], "seconds": dt_s,
            "server_cpu_pct": [(y - x) / dt_s * 100 for x, y in zip(s0["servers"], s1["servers"], strict=True)],
            "pg_cpu_pct": (s1["pg"] - s0["pg"]) / dt_s * 100, "nginx_cpu_pct": (s1["nginx"] - s0["nginx"]) / dt_s * 100,
            "gen_cpu_pct": (s1["gen"] - s0["gen"]) / dt_s * 100,
            "box_cpu_pct": (s1["box"] - s0["box"]) / dt_s * 100,
            # minus the diagnostics calls' own statements (a few per call)
            "db_statements_per_s": (q1 - q0) / dt_s, "pg_xact_per_s": (x1 - x0) / dt_s if setup.pg else None,
            "load_begin": s0["load"], "load_end": s1["load"],
            "pg_waits": waits.window(s0["t"], s1["t"]) if waits else None})
    await asyncio.sleep(max(0.0, end - time.time()))
    if waits:
        waits.stop()
    for task in tasks:  # loops asleep until their next turn: not waited for
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for a in agents:
        await a.conn.close()

    out = {"name": setup.name, "backend": setup.backend, "instances": len(setup.server_pids),
           "workers": setup.workers, "failed_logins": failed_logins, "rejected": stats.rejected,
           "relogins": stats.relogins, "loop_lag_p99_ms": pct(lag, 99), "board_errors": board_errors,
           "windows": windows}
    for k, w in enumerate(windows):
        every = [x for (wk, _kind), v in stats.lat.items() if wk == k for x in v]
        errs = {kind: n for (wk, kind), n in stats.errors.items() if wk == k}
        busy = sum(w["server_cpu_pct"]) + w["pg_cpu_pct"] + w["nginx_cpu_pct"]
        w.update({"cpu_ms_per_request": busy * 10 * w["seconds"] / max(1, len(every)),
                  "requests": len(every), "rps": len(every) / w["seconds"], "p50": pct(every, 50),
                  "p99": pct(every, 99), "max": max(every) if every else float("nan"),
                  "errors": sum(errs.values()), "error_kinds": errs,
                  "by_kind": {kind: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "mean": statistics.fmean(v),
                                     "server_p99": pct(stats.server_ms.get((wk, kind), []), 99)}
                              for (wk, kind), v in sorted(stats.lat.items()) if wk == k}})
    # Board latency: a marked presence change sent in a window while its team's board was open
    # (for a second, its snapshot sent) → seen on that board; 2 s to arrive before the end.
    lat = []
    missed = 0
    for m, sent in marks_for_boards.items():
        team = int(m[1:].split("-")[0]) // TEAM_SIZE
        if team < len(board_seen) and board_open_at[team] + 1 < sent and stats.window(sent) is not None \
                and sent < end - 2.5:
            if m in board_seen[team]:
                lat.append((board_seen[team][m] - sent) * 1000)
            else:
                missed += 1
    out["board_latency"] = {"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99), "missed": missed}
    out["outside_window_errors"] = {kind: n for (wk, kind), n in stats.errors.items() if wk == -1}
    return out


# -- the configurations --------------------------------------------------------------------------

def _prepare_db(db_url: str, args) -> None:
    from server import changes, migrate
    from server import demo as demo_mod
    from server.db import make_engine, make_sessionmakers

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    writer, _ = make_sessionmakers(engine)
    with writer() as s:
        demo_mod.load(s)
        changes.commit(s)
    engine.dispose()
    t = time.monotonic()
    seed(db_url, args.agents, args.boards)
    print(f"seeded {args.agents} agents, {args.agents * LEADS_EACH} leads, {args.boards} TLs in "
          f"{time.monotonic() - t:.0f} s", flush=True)


def _pg_copy(pg, template_url: str) -> str:
    """A new database as a copy of the seeded one (PostgreSQL copies the files: seconds, not a re-seed)."""
    import psycopg

    name = f"seatmate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"')
    # A floor's database has been vacuumed and analysed. The fresh copy had neither: the planner
    # ran without statistics and autovacuum processed the 120,000 change rows and 40,000 leads in
    # the middle of the first window (seen in pg_stat_user_tables), which made that window's p99
    # 1.5–6.6 s while the two after it were ~0.3 s.
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname={name}", autocommit=True) as c:
        c.execute("VACUUM (ANALYZE)")
    return template_url.rsplit("/", 1)[0] + "/" + name


def run_config(name: str, args, pg, pg_seeded: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"seatmate-bench-{name}-"))
    backend = "sqlite" if name.startswith("sqlite") else "postgresql"
    if backend == "sqlite":
        db_url = f"sqlite:///{tmp / 'server.sqlite3'}"
        _prepare_db(db_url, args)
    else:  # seeded once, copied for each PostgreSQL configuration
        if "url" not in pg_seeded:
            pg_seeded["url"] = pg.create_database()
            _prepare_db(pg_seeded["url"], args)
        db_url = _pg_copy(pg, pg_seeded["url"])
    try:
        if name == "pg2":
            from tests.scaleout.topology import floor_topology

            with floor_topology(tmp / "topo", instances=2, db_url=db_url, demo=False, workers=1) as topo:
                setup = Setup(name, backend, topo.proxy_url, topo.instance_urls, [s.proc.pid for s in topo.servers],
                              1, db_url, pg, pg.proc.pid, topo.proxy.proc.pid)
                result = asyncio.run(drive(setup, args))
                result["server_alive"] = all(topo.alive())
                result["nginx_hits"] = dict(topo.proxy.upstream_hits())
        else:
            srv: LiveServer = start_server(db_url, tmp / "data", workers=args.workers, demo=False)
            try:
                setup = Setup(name, backend, srv.url, [srv.url], [srv.proc.pid], args.workers, db_url, pg,
                              pg.proc.pid if pg else None)
                result = asyncio.run(drive(setup, args))
                result["server_alive"] = srv.proc.poll() is None
            finally:
                srv.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _cpu_of(w: dict) -> float:
    return sum(w["server_cpu_pct"]) + w["pg_cpu_pct"]


def _stmt_of(w: dict) -> float:
    return w["db_statements_per_s"]


def _above(w: dict, base: dict, value) -> float:
    """``value`` of window ``w`` above the ``base`` window's, per request, at ``w``'s request rate."""
    return (value(w) / max(1.0, w["rps"]) - value(base) / max(1.0, base["rps"])) * w["rps"]


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--boards", type=int, default=20, help="TL boards open in the second window")
    ap.add_argument("--phase", type=float, default=20.0,
                    help="seconds per measured window (three: no board, one, --boards)")
    ap.add_argument("--sync-interval", type=float, default=30.0)
    ap.add_argument("--presence-interval", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers of a one-instance server")
    ap.add_argument("--configs", default="sqlite1,pg1,pg2", help="any of sqlite1, pg1, pg2")
    ap.add_argument("--quick", action="store_true", help="300 agents, 5 boards, 15 s windows")
    args = ap.parse_args()
    if args.quick:
        args.agents, args.boards, args.phase = min(args.agents, 300), min(args.boards, 5), min(args.phase, 15.0)
    args.boards = min(args.boards, (args.agents + TEAM_SIZE - 1) // TEAM_SIZE)
    try:  # the generator shares the 2 cores with the servers: give it the faster loop
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 3 * args.agents + 1000)), hard))
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    started_load = os.getloadavg()
    pg = start_postgres(max_connections=300) if any(c.startswith("pg") for c in configs) else None
    results = []
    pg_seeded: dict[str, str] = {}
    try:
        for c in configs:
            results.append(run_config(c, args, pg, pg_seeded))
    finally:
        if pg:
            pg.stop()
    print()
    print(f"Server load: {args.agents} agents (sync every {args.sync_interval:g} s, presence every "
          f"{args.presence_interval:g} s), windows of {args.phase:g} s with 0, 1 and {args.boards} TL boards; "
          f"load average at start {started_load[0]:.2f}")
    print(f"{'config':<8}{'boards':>7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>9}{'errors':>7}{'DB stmt/s':>10}"
          f"{'PG xact/s':>10}{'CPU % per instance':>22}{'PG %':>7}{'nginx %':>8}{'gen %':>7}{'load':>7}")
    rows: list[dict] = []
    legacy: list[dict] = []
    ok_all = True
    for r in results:
        for w in r["windows"]:
            xact = "" if w["pg_xact_per_s"] is None else _fmt(w["pg_xact_per_s"])
            cpu = " + ".join(f"{x:.0f}" for x in w["server_cpu_pct"])
            print(f"{r['name']:<8}{w['boards']:>7}{w['rps']:>8.1f}{w['p50']:>8.1f}{w['p99']:>9.1f}{w['errors']:>7}"
                  f"{w['db_statements_per_s']:>10.0f}{xact:>10}{cpu:>22}{w['pg_cpu_pct']:>7.0f}"
                  f"{w['nginx_cpu_pct']:>8.0f}{w['gen_cpu_pct']:>7.0f}{w['load_end'][0]:>7.2f}")
            for kind, k in w["by_kind"].items():
                print(f"    {kind:<10}{k['n']:>8} req  p50 {k['p50']:6.1f}  p99 {k['p99']:7.1f} ms"
                      f"  (server side p99 {k['server_p99']:.1f} ms)")
            if w["error_kinds"]:
                print(f"    errors: {w['error_kinds']}")
            if w.get("pg_waits"):
                pw = w["pg_waits"]
                print(f"    PostgreSQL backends waiting for a lock: avg {pw['lock_waiters_avg']:.2f}, max "
                      f"{pw['lock_waiters_max']}; idle in transaction: avg {pw['idle_in_xact_avg']:.2f}")
        ws = r["windows"]
        w0 = ws[0]
        # The windows never carry exactly the same requests (pulls and pushes fall where they
        # fall): a board cost is the cost per request above the no-board window's, at that
        # window's request rate.
        costs = [(w["boards"], _above(w, w0, _cpu_of), _above(w, w0, _stmt_of)) for w in ws[1:]]
        bl = r["board_latency"]
        print(f"  {r['name']}: board cost above no board (same request mix): "
              + "; ".join(f"{b} board{'s' if b != 1 else ''} {c:+.1f} % CPU (server + PostgreSQL), {q:+.1f} statements/s"
                          for b, c, q in costs))
        print(f"  {r['name']}: change → board p50 {bl['p50']:.1f} ms, p99 {bl['p99']:.1f} ms ({bl['n']} seen, "
              f"{bl['missed']} missed); generator loop lag p99 {r['loop_lag_p99_ms']:.1f} ms; push rejected "
              f"{r['rejected']}; failed logins {r['failed_logins']}; board errors {r['board_errors'] or 0}"
              + (f"; nginx → {r['nginx_hits']}" if r.get("nginx_hits") else ""))
        offered = args.agents / args.presence_interval + args.agents / args.sync_interval * 1.55
        cost = statistics.fmean([w["cpu_ms_per_request"] for w in ws])
        r["offered_rps"], r["cpu_ms_per_request"] = offered, cost
        print(f"  {r['name']}: offered ≈ {offered:.0f} req/s, served " + " / ".join(f"{w['rps']:.0f}" for w in ws)
              + f"; CPU per request (servers + PostgreSQL + nginx) {cost:.2f} ms → the offered load needs ≈ "
              f"{offered * cost / 1000:.2f} cores for the server side alone (this box: 2, shared with the "
              f"generator and other jobs)")
        gen = statistics.fmean([w["gen_cpu_pct"] for w in ws])
        side = statistics.fmean([sum(w["server_cpu_pct"]) + w["pg_cpu_pct"] + w["nginx_cpu_pct"] for w in ws])
        box = statistics.fmean([w["box_cpu_pct"] for w in ws])
        others = max(0.0, box - side - gen)
        r["others_cpu_pct"] = others
        print(f"  {r['name']}: load generator {gen:.0f} % of a core vs server side {side:.0f} % "
              f"({gen / max(1e-9, gen + side) * 100:.0f} % of the CPU the benchmark's processes used); "
              f"the machine's other jobs {others:.0f} % (all {os.cpu_count()} cores busy {box:.0f} % of "
              f"{os.cpu_count() * 100} %), load average {statistics.fmean([w['load_end'][0] for w in ws]):.1f}")
        if r["outside_window_errors"]:
            print(f"  errors outside the windows: {r['outside_window_errors']}")
        n = r["name"]
        base = f"server_load_{args.agents}agents_{n}"  # runs of different sizes keep their own rows
        errors = sum(w["errors"] for w in ws) + r["rejected"] + r["failed_logins"] + len(r["board_errors"]) \
            + bl["missed"]
        p99 = max(w["p99"] for w in ws)
        met = p99 <= TARGET_P99_MS and errors == 0
        if n == "pg2":
            ok_all = ok_all and met
        print(f"  {n}: p99 {p99:.1f} ms, {errors} errors → target (p99 ≤ {TARGET_P99_MS:g} ms, 0 errors) "
              f"{'met' if met else 'MISSED'}")
        for w in ws:
            tag = f"{base}_boards{w['boards']}"
            rows += [
                {"metric": f"{tag}_p50_ms", "value": round(w["p50"], 2), "unit": "ms"},
                {"metric": f"{tag}_p99_ms", "value": round(w["p99"], 2), "unit": "ms"},
                {"metric": f"{tag}_errors", "value": w["errors"], "unit": "count"},
                {"metric": f"{tag}_requests_per_s", "value": round(w["rps"], 1), "unit": "req/s"},
                {"metric": f"{tag}_db_statements_per_s", "value": round(w["db_statements_per_s"], 1),
                 "unit": "statements/s"},
                {"metric": f"{tag}_server_cpu_pct", "value": round(sum(w["server_cpu_pct"]), 1), "unit": "%"},
                {"metric": f"{tag}_pg_cpu_pct", "value": round(w["pg_cpu_pct"], 1), "unit": "%"},
                {"metric": f"{tag}_nginx_cpu_pct", "value": round(w["nginx_cpu_pct"], 1), "unit": "%"},
                {"metric": f"{tag}_generator_cpu_pct", "value": round(w["gen_cpu_pct"], 1), "unit": "%"},
                {"metric": f"{tag}_loadavg_1m", "value": round(w["load_end"][0], 2), "unit": "load"},
            ] + [{"metric": f"{tag}_instance{i}_cpu_pct", "value": round(x, 1), "unit": "%"}
                 for i, x in enumerate(w["server_cpu_pct"])] \
              + [{"metric": f"{tag}_{kind}_server_p99_ms", "value": round(k["server_p99"], 1), "unit": "ms"}
                 for kind, k in w["by_kind"].items()]  # Server-Timing: without the generator's own delays
            if w["pg_xact_per_s"] is not None:
                rows.append({"metric": f"{tag}_pg_xact_per_s", "value": round(w["pg_xact_per_s"], 1),
                             "unit": "transactions/s"})
            if w.get("pg_waits"):
                rows.append({"metric": f"{tag}_pg_lock_waiters_avg", "value": round(w["pg_waits"]["lock_waiters_avg"], 2),
                             "unit": "backends"})
        for b, c, q in costs:
            rows += [{"metric": f"{base}_board_cost_{b}_cpu_pct", "value": round(c, 1), "unit": "%"},
                     {"metric": f"{base}_board_cost_{b}_statements_per_s", "value": round(q, 1),
                      "unit": "statements/s"}]
        rows += [{"metric": f"{base}_cpu_ms_per_request", "value": round(cost, 2), "unit": "ms"},
                 {"metric": f"{base}_cores_needed", "value": round(offered * cost / 1000, 2), "unit": "cores"},
                 {"metric": f"{base}_board_latency_p99_ms", "value": round(bl["p99"], 1), "unit": "ms"},
                 # The generator shares the box: its event loop's lag is part of every latency it measures.
                 {"metric": f"{base}_generator_loop_lag_p99_ms", "value": round(r["loop_lag_p99_ms"], 1), "unit": "ms"},
                 {"metric": f"{base}_other_jobs_cpu_pct", "value": round(r["others_cpu_pct"], 1), "unit": "%"},
                 {"metric": f"{base}_board_missed", "value": bl["missed"], "unit": "count"},
                 {"metric": f"{base}_p99_ms", "value": round(p99, 1), "unit": "ms"},
                 {"metric": f"{base}_errors", "value": errors, "unit": "count"},
                 {"metric": f"{base}_target_met", "value": int(met), "unit": "bool"}]
        if n in ("sqlite1", "pg1"):  # the old single-backend names (bench-results/server.json)
            b = r["backend"]
            every_p50, every_p99 = w0["p50"], p99  # (no board open, and the worst window)
            legacy += [{"metric": f"server_load_{b}_p50_ms", "value": round(every_p50, 2), "unit": "ms"},
                       {"metric": f"server_load_{b}_p99_ms", "value": round(every_p99, 2), "unit": "ms"},
                       {"metric": f"server_load_{b}_errors", "value": errors, "unit": "count"},
                       {"metric": f"server_load_{b}_requests_per_s", "value": round(w0["rps"], 1), "unit": "req/s"}]
    tag = f"server_load_{args.agents}agents"
    rows += [{"metric": f"{tag}_boards", "value": args.boards, "unit": "boards"},
             {"metric": f"{tag}_window_s", "value": args.phase, "unit": "s"},
             {"metric": f"{tag}_loadavg_start_1m", "value": round(started_load[0], 2), "unit": "load"},
             {"metric": f"{tag}_loadavg_end_1m", "value": round(os.getloadavg()[0], 2), "unit": "load"}]
    merge_results(rows, RESULTS_DIR / "server_load.json")
    if legacy:
        legacy += [{"metric": "server_load_agents", "value": args.agents, "unit": "agents"},
                   {"metric": "server_load_duration_s", "value": args.phase, "unit": "s"}]
        merge_results(legacy, RESULTS_DIR / "server.json")
    detail = ROOT / "build" / "bench" / "server_load_detail.json"  # every number, for a closer look
    detail.parent.mkdir(parents=True, exist_ok=True)
    detail.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nwrote {(RESULTS_DIR / 'server_load.json').relative_to(ROOT)}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
