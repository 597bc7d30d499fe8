"""Fault campaign: ``python -m tests.faults.campaign --faults 1000``.

Real server (SQLite) + two real client processes (``client_worker``), each
behind its own fault-injecting proxy. The clients' clocks are off by +10 and
-10 minutes (libfaketime). While faults are injected the clients keep
recording calls and syncing; the proxies drop, delay, reset, stall, answer 5xx,
lose answers after the server committed, truncate and corrupt JSON; the
campaign SIGKILLs the server while it handles a push and SIGKILLs clients
before, during and after their pushes, restarting each on the same files.
When the fault budget is spent, the faults stop and the clients must drain
their outboxes. Then it compares every client cache with the server database:

- lost: an event in a client outbox that the server does not have;
- applied twice: server rows beyond one per event (events, calls,
  dispositions) and note texts that appear more than once on their lead;
- outbox drained: no pending event left in any client cache.

Exit status 0 only when lost = 0, applied twice = 0 and the outboxes drained.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.harness import ROOT, ServerProcess, faketime_env, secret_service
from tests.faults.proxy import POST_FAULTS, PRE_FAULTS, Fault, FaultProxy, RandomPlan
from tests.processes import ExternalProcess

USERS = (("lina", "demo-2026", +600), ("wangfang", "demo-2026", -600))

# Relative weights: network faults are cheap; process kills cost a restart (~1 s each).
WEIGHTS = {**{k: 1.0 for k in PRE_FAULTS + POST_FAULTS}, "stall": 0.3, "kill_server": 0.12, "kill_client": 0.35}


@dataclass
class CampaignResult:
    faults: Counter = field(default_factory=Counter)
    events_created: int = 0
    events_on_server: int = 0
    lost: int = 0
    applied_twice: int = 0
    rejected: int = 0
    pending_left: int = 0
    client_kills: int = 0
    server_kills: int = 0
    relogins: int = 0
    crashes: int = 0
    duration_s: float = 0.0
    details: list[str] = field(default_factory=list)

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.applied_twice == 0 and self.pending_left == 0 and self.crashes == 0

    def table(self) -> str:
        lines = ["faults injected by kind:"]
        lines += [f"  {k:<22}{v:>6}" for k, v in sorted(self.faults.items())]
        lines += [
            f"  {'total':<22}{self.total_faults:>6}",
            f"events created:          {self.events_created}",
            f"events on the server:    {self.events_on_server}",
            f"lost:                    {self.lost}",
            f"applied twice:           {self.applied_twice}",
            f"rejected by the server:  {self.rejected}",
            f"outbox drained:          {'yes' if self.pending_left == 0 else f'NO ({self.pending_left} pending)'}",
            f"client SIGKILLs / server SIGKILLs / re-logins / crashes: {self.client_kills} / "
            f"{self.server_kills} / {self.relogins} / {self.crashes}",
            "client clocks:           " + ", ".join(f"{u} {s:+d} s" for u, _, s in USERS),
            f"duration:                {self.duration_s:.1f} s",
        ]
        return "\n".join(lines + self.details)


class Worker(ExternalProcess):
    """One ``client_worker`` process; SIGKILLed by the faults, started again on the same cache."""

    name = "client worker"

    def __init__(self, workdir: Path, index: int, user: str, password: str, skew_s: int, server_url: str,
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


def _wait_all(workers: list[Worker], server: ServerProcess, proxies: list[FaultProxy], plans: list[RandomPlan],
              deadline: float, result: CampaignResult) -> None:
    stopping = False
    while time.monotonic() < deadline:
        if not server.alive():
            server.start()
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
            return
        if not stopping and sum(p.spent for p in plans) >= sum(p.budget for p in plans):
            stopping = True
            for p in plans:
                p.enabled = False
            for w in workers:
                w.stop_file.touch()
        time.sleep(0.05)
    result.details.append("campaign deadline reached before the clients drained")


def _verify(workers: list[Worker], server: ServerProcess, result: CampaignResult) -> None:
    srv = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    for w in workers:
        cache = sqlite3.connect(f"file:{w.cache}?mode=ro", uri=True)
        rows = cache.execute("SELECT id, type, status, payload FROM outbox_events").fetchall()
        cache.close()
        created = {r[0] for r in rows}
        result.events_created += len(created)
        result.pending_left += sum(1 for r in rows if r[2] == "pending")
        result.rejected += sum(1 for r in rows if r[2] == "rejected")
        for r in rows:
            if r[2] == "rejected":
                result.details.append(f"  rejected {r[1]}: {r[3][:100]}")
        (user_id,) = srv.execute("SELECT id FROM users WHERE username = ?", (w.user,)).fetchone()
        server_ids = [r[0] for r in srv.execute("SELECT id FROM events WHERE user_id = ?", (user_id,))]
        result.events_on_server += len(set(server_ids))
        result.applied_twice += len(server_ids) - len(set(server_ids))
        missing = created - set(server_ids)
        result.lost += len(missing)
        phantom = set(server_ids) - created
        if phantom:
            result.details.append(f"  {w.user}: {len(phantom)} server events no client made")
        n_call_ended = sum(1 for r in rows if r[1] == "call_ended")
        n_disp = sum(1 for r in rows if r[1] == "disposition_recorded")
        (calls,) = srv.execute("SELECT count(*) FROM calls WHERE user_id = ?", (user_id,)).fetchone()
        (disps,) = srv.execute("SELECT count(*) FROM dispositions WHERE user_id = ?", (user_id,)).fetchone()
        result.applied_twice += max(0, calls - n_call_ended) + max(0, disps - n_disp)
        if calls < n_call_ended or disps < n_disp:
            result.details.append(f"  {w.user}: calls {calls}/{n_call_ended}, dispositions {disps}/{n_disp}")
        # Notes are appended to the lead's text: the one effect a double apply would repeat.
        notes = [r[3] for r in rows if r[1] == "note_added"]
        texts = "\n".join(r[0] or "" for r in srv.execute("SELECT notes FROM leads"))
        for payload in notes:
            token = payload.split("fc-note ")[1][:32]
            result.applied_twice += max(0, texts.count(token) - 1)
        with contextlib.suppress(OSError):
            result.relogins += sum(1 for line in w.log.read_text(errors="replace").splitlines()
                                   if line.startswith("relogin"))
        result.client_kills += w.kills
    srv.close()


def run_campaign(faults: int, workdir: Path, *, seed: int = 1, rate: float = 0.4, timeout: float = 2.0,
                 deadline_s: float = 900, log=print) -> CampaignResult:
    t0 = time.monotonic()
    result = CampaignResult()
    server = ServerProcess(workdir / "server")
    server.cli("demo")
    server.start()
    workers: list[Worker] = []
    proxies: list[FaultProxy] = []
    plans: list[RandomPlan] = []
    server_kills = [0]
    kill_lock = threading.Lock()

    def kill_server(_f: Fault) -> None:
        with kill_lock:
            if server.alive():
                server.kill()
                server_kills[0] += 1

    try:
        with secret_service(workdir / "keyring"):
            for i, (user, password, skew) in enumerate(USERS):
                budget = faults // len(USERS) + (1 if i < faults % len(USERS) else 0)
                plan = RandomPlan(rate=rate, budget=budget, weights=dict(WEIGHTS), seed=seed * 100 + i)
                proxy = FaultProxy(server.port, plan, stall_s=timeout + 0.5, delay_s=timeout / 2,
                                   seed=seed * 31 + i).start()
                worker = Worker(workdir, i, user, password, skew, proxy.url, timeout, seed * 1000 + i)
                proxy.hooks = {"kill_server": kill_server, "kill_client": worker.kill}
                workers.append(worker)
                proxies.append(proxy)
                plans.append(plan)
                worker.start()
            _wait_all(workers, server, proxies, plans, t0 + deadline_s, result)
            for w in workers:
                w.kill()
    finally:
        for p in proxies:
            p.stop()
        server.stop()
    for p in proxies:
        result.faults.update(p.stats.faults)
    result.server_kills = server_kills[0]
    _verify(workers, server, result)
    result.duration_s = time.monotonic() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faults", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 10000)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        # The clients keep their session in a real keyring: give them a private session bus.
        if shutil.which("dbus-run-session") is None:
            print("dbus-run-session is missing (apt: dbus)", file=sys.stderr)
            return 2
        os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable, "-m", "tests.faults.campaign",
                                       *(argv if argv is not None else sys.argv[1:])])
    workdir = Path(tempfile.mkdtemp(prefix="seatmate-faults-"))
    print(f"fault campaign: {args.faults} faults, seed {args.seed}, work dir {workdir}", flush=True)
    random.seed(args.seed)
    try:
        result = run_campaign(args.faults, workdir, seed=args.seed)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(result.table())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
