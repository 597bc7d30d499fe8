"""Fault campaign: ``python -m tests.faults.campaign --backend both --faults 1000 --seed 15``.

Real server (SQLite, PostgreSQL or both, one after the other) + two real client
processes (``client_worker``), each behind its own fault-injecting proxy. The
clients' clocks are off by +10 and -10 minutes (libfaketime). While faults are
injected the clients keep recording calls and syncing; the proxies drop, delay,
reset, stall, answer 5xx, lose answers after the server committed, truncate and
corrupt JSON; the campaign SIGKILLs the server while it handles a push and
SIGKILLs clients before, during and after their pushes, restarting each on the
same files. When the fault budget is spent, the faults stop and the clients
must drain their outboxes. Then ``tests.faults.audit`` compares what every
client made with what the server holds, by content and by replay:

- lost: a client event (or one of its effects: call row, disposition row, note
  line) the server does not have;
- applied twice: per client UUID, any effect present more than once — event rows
  with the same call id or note text, ``calls`` rows with the same lead, dial and
  hang-up time, ``dispositions`` rows with the same call and code, repeated note lines;
- derived state: each lead's status, callback, last disposition, last attempt,
  notes and attempt counts against a replay through core.lead_status, and each
  agent's KPI figures (server/reports.py) against core.kpi over the calls made;
- outbox drained: no pending event left in any client cache.

Exit status 0 only when every count is 0 and the outboxes drained on every backend.
Figures go to bench-results/reliability.json (``netfaults_<backend>_…``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.audit import Audit, Baseline, audit, take_baseline
from tests.faults.harness import ROOT, ServerProcess, faketime_env, secret_service
from tests.faults.proxy import POST_FAULTS, PRE_FAULTS, Fault, FaultProxy, RandomPlan
from tests.processes import ExternalProcess, ProcessError

# Cheap argon2 for the demo's 10 accounts (5 s of hashing per backend otherwise); read by
# server.security when _load_demo first imports it. Hashing cost plays no part in sync faults.
os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")

USERS = (("lina", "demo-2026", +600), ("wangfang", "demo-2026", -600))
BACKENDS = ("sqlite", "postgres")

# Relative weights: network faults are cheap; process kills cost a restart (~1 s each).
WEIGHTS = {**{k: 1.0 for k in PRE_FAULTS + POST_FAULTS}, "stall": 0.3, "kill_server": 0.12, "kill_client": 0.35}


@dataclass
class CampaignResult:
    backend: str = "sqlite"
    faults: Counter = field(default_factory=Counter)
    audit: Audit = field(default_factory=Audit)
    client_kills: int = 0
    server_kills: int = 0
    relogins: int = 0
    crashes: int = 0
    duration_s: float = 0.0
    faulting_s: float = 0.0  # clients started → fault budget spent
    drain_s: float = 0.0  # faults stopped → every outbox empty
    details: list[str] = field(default_factory=list)

    # The audit's counts, under the names the tests and the table use.
    events_created = property(lambda self: self.audit.events_created)
    events_on_server = property(lambda self: self.audit.events_on_server)
    lost = property(lambda self: self.audit.lost)
    applied_twice = property(lambda self: self.audit.applied_twice)
    rejected = property(lambda self: self.audit.rejected)
    pending_left = property(lambda self: self.audit.pending_left)

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.crashes == 0 and not self.details

    def table(self) -> str:
        return summary_table([self]) + "\n" + "\n".join(self.details + self.audit.details)

    def metrics(self, seed: int) -> list[dict]:
        b = f"netfaults_{self.backend}"
        a = self.audit
        rows = [(f"{b}_seed", seed, "seed"), (f"{b}_faults", self.total_faults, "faults"),
                (f"{b}_events", a.events_created, "events"), (f"{b}_events_on_server", a.events_on_server, "events"),
                (f"{b}_lost", a.lost, "events"), (f"{b}_applied_twice", a.applied_twice, "events"),
                (f"{b}_rejected", a.rejected, "events"), (f"{b}_outbox_pending", a.pending_left, "events"),
                (f"{b}_state_mismatches", a.state_mismatches, "leads"),
                (f"{b}_kpi_mismatches", a.kpi_mismatches, "figures"), (f"{b}_leads_replayed", a.leads_replayed, "leads"), (f"{b}_client_kills", self.client_kills, "kills"),
                (f"{b}_server_kills", self.server_kills, "kills"), (f"{b}_drain", round(self.drain_s, 1), "s"),
                (f"{b}_duration", round(self.duration_s, 1), "s")]
        rows += [(f"{b}_fault_{kind}", n, "faults") for kind, n in sorted(self.faults.items())]
        return [{"metric": m, "value": v, "unit": u} for m, v, u in rows]


def summary_table(results: list[CampaignResult]) -> str:
    """Faults by kind, then the verdict, one column per backend."""
    heads = [r.backend for r in results]
    kinds = sorted(set().union(*(r.faults for r in results)))
    lines = [f"{'':<28}" + "".join(f"{h:>14}" for h in heads)]

    def row(label: str, values: list) -> None:
        lines.append(f"{label:<28}" + "".join(f"{v!s:>14}" for v in values))

    for k in kinds:
        row(f"  fault {k}", [r.faults.get(k, 0) for r in results])
    row("faults injected", [r.total_faults for r in results])
    row("events created", [r.audit.events_created for r in results])
    row("events on the server", [r.audit.events_on_server for r in results])
    row("lost", [r.audit.lost for r in results])
    row("applied twice", [r.audit.applied_twice for r in results])
    row("lead state != replay", [r.audit.state_mismatches for r in results])
    row("KPI figures != replay", [r.audit.kpi_mismatches for r in results])
    row("leads moved by the replay", [r.audit.leads_replayed for r in results])
    row("rejected by the server", [r.audit.rejected for r in results])
    row("outbox drained", ["yes" if r.audit.pending_left == 0 else f"NO ({r.audit.pending_left})" for r in results])
    row("client / server SIGKILLs", [f"{r.client_kills} / {r.server_kills}" for r in results])
    row("re-logins / crashes", [f"{r.relogins} / {r.crashes}" for r in results])
    row("faults on / drain (s)", [f"{r.faulting_s:.1f} / {r.drain_s:.1f}" for r in results])
    row("duration (s)", [f"{r.duration_s:.1f}" for r in results])
    lines.append("client clocks: " + ", ".join(f"{u} {s:+d} s" for u, _, s in USERS))
    return "\n".join(lines)


class Worker(ExternalProcess):
    """One ``client_worker`` process; SIGKILLed by the faults, started again on the same cache."""

    name = "client worker"

    def __init__(self, workdir: Path, user: str, password: str, skew_s: int, server_url: str,
                 timeout: float, seed: int) -> None:
        self.user, self.password, self.skew_s = user, password, skew_s
        self.cache = workdir / f"client-{user}" / "cache.sqlite3"
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.stop_file = workdir / f"client-{user}" / "stop"
        self.log = workdir / f"client-{user}" / "worker.log"
        self.server_url = server_url
        self.timeout = timeout
        self.seed = seed
        self.kills = 0
        self.done = False
        self._lock = threading.Lock()
        super().__init__(cwd=ROOT, log_path=self.log)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.faults.client_worker", "--cache", str(self.cache),
                "--server", self.server_url, "--user", self.user, "--password", self.password,
                "--stop-file", str(self.stop_file), "--timeout", str(self.timeout),
                "--seed", str(self.seed + self.kills * 7919)]

    def environment(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **faketime_env(self.skew_s))

    def kill(self, _fault: Fault | None = None) -> None:
        with self._lock:
            if self.alive():
                super().kill()
                self.kills += 1

    def relogins(self) -> int:
        with contextlib.suppress(OSError):
            return sum(1 for line in self.log.read_text(errors="replace").splitlines() if line.startswith("relogin"))
        return 0


@dataclass
class Check:
    """What the audit needs, handed to ``run_campaign(after=…)`` while the database is still up
    (the suite tampers with it and audits again)."""

    db_url: str
    clients: dict[str, Path]
    baseline: Baseline

    def audit(self) -> Audit:
        return audit(self.db_url, self.clients, self.baseline)


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """The server's database URL: a SQLite file, or a database in a private PostgreSQL cluster."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'server' / 'server.sqlite3'}"
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    from tests.server.live import start_postgres

    cluster = start_postgres(max_connections=60)
    try:
        yield cluster.create_database("seatmate_faults")
    finally:
        cluster.stop()


def _load_demo(db_url: str) -> None:
    """Migrate and load the demo here, as ``seatmate-server demo`` would (tests/server/live.py
    does the same): a CLI process would only add seconds of imports to every short run."""
    from server import changes, demo, migrate
    from server.db import make_engine, make_sessionmakers

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        writer, _ = make_sessionmakers(engine)
        with writer() as s:
            demo.load(s)
            changes.commit(s)
    finally:
        engine.dispose()


def _wait_all(workers: list[Worker], server: ServerProcess, plans: list[RandomPlan], deadline: float,
              result: CampaignResult) -> None:
    stopping = False
    failed_starts = 0
    started = stopped = time.monotonic()
    while time.monotonic() < deadline:
        if not server.alive():
            try:
                server.start()
                failed_starts = 0
            except ProcessError:
                # A kill_server hook may SIGKILL it again while it starts: try again, a few times.
                failed_starts += 1
                if failed_starts > 5:
                    raise
                continue
        for w in workers:
            if w.done or w.proc is None:
                continue
            rc = w.proc.poll()
            if rc is None:
                continue
            if rc == 0 and w.stop_file.exists():
                w.done = True
            else:
                if rc != -9:
                    result.crashes += 1
                    result.details.append(f"  client {w.user} exited with {rc} (see its worker.log)")
                w.start()  # killed (or crashed): start again on the same cache
        if all(w.done for w in workers):
            result.drain_s = time.monotonic() - stopped
            return
        if not stopping and sum(p.spent for p in plans) >= sum(p.budget for p in plans):
            stopping = True
            stopped = time.monotonic()
            result.faulting_s = stopped - started
            for p in plans:
                p.enabled = False
            for w in workers:
                w.stop_file.touch()
        time.sleep(0.05)
    result.details.append("campaign deadline reached before the clients drained")


def run_campaign(faults: int, workdir: Path, *, backend: str = "sqlite", seed: int = 1, rate: float = 0.4,
                 timeout: float = 2.0, deadline_s: float = 900, must: tuple[str, ...] = (),
                 after: Callable[[Check], None] | None = None) -> CampaignResult:
    """``must``: fault kinds each client's proxy injects first, whatever the odds (RandomPlan.must).
    ``after`` is called with the audit's inputs while the database is still up."""
    t0 = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    result = CampaignResult(backend=backend)
    with database(backend, workdir) as db_url:
        server = ServerProcess(workdir / "server", db_url=db_url)
        _load_demo(db_url)
        baseline = take_baseline(db_url, [u for u, _, _ in USERS])
        server.start()
        workers: list[Worker] = []
        proxies: list[FaultProxy] = []
        plans: list[RandomPlan] = []
        kill_lock = threading.Lock()

        def kill_server(_f: Fault) -> None:
            with kill_lock:
                if server.alive():
                    server.kill()
                    result.server_kills += 1

        try:
            with secret_service(workdir / "keyring"):
                for i, (user, password, skew) in enumerate(USERS):
                    budget = faults // len(USERS) + (1 if i < faults % len(USERS) else 0)
                    plan = RandomPlan(rate=rate, budget=budget, weights=dict(WEIGHTS), seed=seed * 100 + i,
                                      must=must)
                    proxy = FaultProxy(server.port, plan, stall_s=timeout + 0.5, delay_s=timeout / 2,
                                       seed=seed * 31 + i).start()
                    worker = Worker(workdir, user, password, skew, proxy.url, timeout, seed * 1000 + i)
                    proxy.hooks = {"kill_server": kill_server, "kill_client": worker.kill}
                    workers.append(worker)
                    proxies.append(proxy)
                    plans.append(plan)
                    worker.start()
                _wait_all(workers, server, plans, t0 + deadline_s, result)
                for w in workers:
                    w.kill()
        finally:
            for p in proxies:
                p.stop()
            server.stop()
        for p in proxies:
            result.faults.update(p.stats.faults)
        result.client_kills = sum(w.kills for w in workers)
        result.relogins = sum(w.relogins() for w in workers)
        check = Check(db_url, {w.user: w.cache for w in workers}, baseline)
        result.audit = check.audit()
        if after is not None:
            after(check)
    result.duration_s = time.monotonic() - t0
    return result


def write_metrics(results: list[CampaignResult], seed: int) -> Path:
    from tests.bench.results import RESULTS_DIR, merge_results

    out = RESULTS_DIR / "reliability.json"
    rows = [row for r in results for row in r.metrics(seed)]
    rows.append({"metric": "netfaults_loadavg_1m", "value": round(os.getloadavg()[0], 2), "unit": "load"})
    merge_results(rows, out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    ap.add_argument("--faults", type=int, default=1000, help="faults per backend")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 10000)
    ap.add_argument("--deadline-s", type=float, default=1800, help="per backend")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-json", action="store_true", help="do not write bench-results/reliability.json")
    args = ap.parse_args(argv)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        # The clients keep their session in a real keyring: give them a private session bus.
        if shutil.which("dbus-run-session") is None:
            print("dbus-run-session is missing (apt: dbus)", file=sys.stderr)
            return 2
        os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable, "-m", "tests.faults.campaign",
                                       *(argv if argv is not None else sys.argv[1:])])
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    workdir = Path(tempfile.mkdtemp(prefix="seatmate-faults-"))
    print(f"fault campaign: {args.faults} faults per backend on {', '.join(backends)}, seed {args.seed}, "
          f"work dir {workdir}, load {os.getloadavg()[0]:.2f}", flush=True)
    results: list[CampaignResult] = []
    for backend in backends:
        r = run_campaign(args.faults, workdir / backend, backend=backend, seed=args.seed,
                         deadline_s=args.deadline_s)
        print(f"{backend}: {'OK' if r.ok else 'FAILED'} in {r.duration_s:.0f} s", flush=True)
        results.append(r)
    if args.keep or not all(r.ok for r in results):
        print(f"work dir kept: {workdir} (client caches, worker and server logs; SQLite server database)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(summary_table(results))
    for r in results:
        for line in r.details + r.audit.details:
            print(f"{r.backend}: {line}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if not args.no_json:
        print(f"figures merged into {write_metrics(results, args.seed)}")
    ok = all(r.ok for r in results)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
