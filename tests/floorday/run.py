"""The floor-day orchestrator: ``python -m tests.floorday [--agents 5 --calls 40 --seed 1]``.

Starts, all on loopback:
- the real server (``seatmate-server serve``, SQLite), set up with the admin functions the
  ``seatmate-server`` CLI runs (team, TSRs, TL, admin, campaign, the demo codes/targets/compliance
  from resources/data/dispositions_demo.json, the demo script, a lead file per agent assigned to them);
- the customer line: the product's demo customer (app/demo/customer.py, a pjsua2 peer with its
  stand-in registrar) playing personas by the dialled number's last digit;
- one fault proxy (tests/faults/proxy.py) per agent between its app and the server;
- one process per agent and one for the TL, each the real app (tests/floorday/agent_app.py).

Then each agent works its calls through the UI in parallel. Per agent, the proxy is cut (every
request reset) from 30 % to 60 % of its calls, and the first agent's app is SIGKILLed halfway
through (while offline) and started again on the same data dir. Afterwards the network comes back,
every outbox drains, and the run checks, per agent: the server's 日报表 (GET as the TL and as admin)
= the KPI strip's numbers = what the driver did (calls, connected, talk time within 1 s per call,
conversions, calls per code); every disposition on the server exactly once by event id; the refused
numbers blocked on every desktop (dialled through each app's dialpad). Prints a table, writes
bench-results/floorday.json, exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import queue
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
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.faults.harness import ServerProcess, secret_service
from tests.faults.proxy import Fault, FaultProxy, Plan
from tests.floorday.plan import CONVERSION_CODES, Agent, make_agents, talk_seconds
from tests.processes import ExternalProcess, ProcessError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "resources" / "data"
PASSWORD = "floorday-2026"
TEAM = "续保一组"
CAMPAIGN = "车险续保 floor-day"
PREFIX = "@@FD "
TALK_TOLERANCE_S = 1.0


class FloorDayError(RuntimeError):
    pass


class CutPlan(Plan):
    """While ``cut`` is set, every request through the proxy is reset (the WAN is down)."""

    def __init__(self) -> None:
        self.cut = False

    def choose(self, method: str, path: str) -> Fault | None:
        return Fault("reset") if self.cut else None


@dataclass(frozen=True)
class Line:
    port: int
    registrar_port: int

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def registrar(self) -> str:
        return f"sip:127.0.0.1:{self.registrar_port}"


class CustomerLine(ExternalProcess):
    """The product's demo customer (app/demo/customer.py: a pjsua2 peer plus a stand-in registrar)
    answering by persona per the dialled number's last digit; one per agent, its output in a log."""

    name = "customer"
    ready_timeout = 30.0

    def __init__(self, log_path: Path) -> None:
        super().__init__([sys.executable, "-m", "app.demo.customer", "--port", "0", "--behaviour", "bydigit",
                          "--answer-delay", "0.5", "--ring-timeout", "2.0", "--max-talk", "120"],
                         cwd=ROOT, stdin=True, log_path=log_path,
                         env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1"))
        self.line: Line | None = None
        self.restarts = 0

    def command(self) -> list[str]:
        argv = super().command()
        if self.line is not None:  # started again: on the same SIP port the agent's app dials
            argv[argv.index("--port") + 1] = str(self.line.port)
        return argv

    def ready(self, timeout: float) -> None:
        m = self.wait_for(r'^\{"event": ?"ready".*', timeout)
        info = json.loads(m.group(0))
        self.line = Line(int(info["port"]), int(info["registrar_port"]))

    def request_stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("quit")


class AppProcess(ExternalProcess):
    """One real Seatmate app (tests/floorday/agent_app.py) answering JSON commands."""

    stop_timeout = 20.0
    ready_timeout = 120.0

    def __init__(self, name: str, data: Path, user: str, env: dict[str, str]) -> None:
        self.name = name
        self.data = data
        self.answers: queue.Queue[dict] = queue.Queue()
        super().__init__([sys.executable, "-m", "tests.floorday.agent_app", "--data", str(data), "--user", user,
                          "--password", PASSWORD], env=env, cwd=ROOT, stdin=True,
                         log_path=data / "driver.log")

    def on_line(self, stream: str, line: str) -> None:
        if line.startswith(PREFIX):
            with contextlib.suppress(ValueError):
                self.answers.put(json.loads(line[len(PREFIX):]))

    def _next(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.answers.get(timeout=0.2)
            except queue.Empty:
                if not self.alive():
                    raise ProcessError(f"{self.name} exited ({self.returncode}):\n{self.tail(30)}") from None
                if time.monotonic() > deadline:
                    raise ProcessError(f"{self.name}: no answer in {timeout} s:\n{self.tail(30)}") from None

    def ready(self, timeout: float) -> None:
        answer = self._next(timeout)
        if answer.get("event") != "ready":
            raise ProcessError(f"{self.name} did not start: {answer}")
        self.ready_info = answer

    def start(self, timeout: float | None = None) -> AppProcess:
        self.answers = queue.Queue()
        return super().start(timeout)

    def ask(self, cmd: str, timeout: float = 90.0, **fields: Any) -> dict:
        try:
            self.send(json.dumps({"cmd": cmd, **fields}, ensure_ascii=False))
        except (OSError, ValueError) as exc:
            raise ProcessError(f"{self.name} is gone ({self.returncode}): {exc}\n{self.tail(30)}") from None
        answer = self._next(timeout)
        if answer.get("event") == "error":
            raise FloorDayError(f"{self.name}: {cmd} failed: {answer.get('error')}\n{answer.get('trace', '')}")
        return answer

    def quit(self) -> None:
        if self.alive():
            with contextlib.suppress(OSError, ValueError):
                self.send(json.dumps({"cmd": "quit"}))
            with contextlib.suppress(Exception):
                self.wait_exit(30)
        self.stop()


# -- set-up ------------------------------------------------------------------------------------

def write_leads(path: Path, agent: Agent) -> list[str]:
    ids = []
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "name", "phone", "city", "policy_expiry", "last_premium", "priority"])
        expiry = dt.date.today() + dt.timedelta(days=20)
        for i, number in enumerate(agent.numbers):
            ext = f"FD-{agent.index + 1}-{i + 1:03d}"
            ids.append(ext)
            w.writerow([ext, f"客户{agent.index + 1}-{i + 1}", number, "宜昌",
                        (expiry + dt.timedelta(days=i % 9)).isoformat(), 3000 + i, 1 + i % 3])
    return ids


def set_up_server(server: ServerProcess, agents: list[Agent], work: Path) -> None:
    from server import admin, changes, migrate
    from server.db import make_engine, make_sessionmakers
    from server.models import Lead

    migrate.upgrade(server.db_url)
    engine = make_engine(server.db_url)
    writer, _ = make_sessionmakers(engine)
    try:
        with writer() as s:
            admin.create_team(s, TEAM)
            admin.create_user(s, "fd_admin", PASSWORD, "admin", display_name="管理员")
            admin.create_user(s, "fd_tl", PASSWORD, "tl", team=TEAM, display_name="张伟", sip_user="2000")
            for a in agents:
                admin.create_user(s, a.username, PASSWORD, "tsr", team=TEAM, display_name=a.display_name,
                                  sip_user=a.sip_user)
            campaign = admin.create_campaign(s, CAMPAIGN)
            admin.load_codes(s, CAMPAIGN, DATA / "dispositions_demo.json")
            admin.load_script(s, CAMPAIGN, DATA / "script_renewal_demo.md", title="车险续保话术")
            for a in agents:
                path = work / f"leads-{a.username}.csv"
                ids = write_leads(path, a)
                report = admin.import_leads(s, CAMPAIGN, path)
                if report.errors or report.created != len(ids):
                    raise FloorDayError(f"lead import for {a.username}: {report}")
                user = admin.find_user(s, a.username)
                for ext in ids:
                    admin.assign_lead(s, s.get(Lead, admin.lead_id_for(campaign.id, ext)), user)
            changes.commit(s)
    finally:
        engine.dispose()


def copy_translations(dest: Path) -> Path:
    """A stable private copy of resources/i18n/*.qm for the apps (see agent_app.private_translations):
    copied when two looks 0.3 s apart see the same sizes and times (nobody is rewriting them)."""
    src = ROOT / "resources" / "i18n"
    dest.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in src.glob("*.qm")}
        time.sleep(0.3)
        after = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in src.glob("*.qm")}
        if before == after and before:
            for name in before:
                shutil.copyfile(src / name, dest / name)
            if {p.name: p.stat().st_size for p in dest.glob("*.qm")} == {k: v[0] for k, v in after.items()}:
                return dest
    raise FloorDayError(f"{src} keeps changing: no stable translations to copy")


def app_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["FLOORDAY_I18N_DIR"] = str(copy_translations(work / "i18n"))
    env.update({"QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"})
    env.pop("SEATMATE_DATA_DIR", None)
    return env


def write_settings(data: Path, server_url: str, line: Any, sip_user: str) -> None:
    (data / "config").mkdir(parents=True, exist_ok=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "server_url": server_url,
        "sync_interval_s": 5,
        "sip": {"user": sip_user, "domain": line.domain, "registrar": line.registrar},
        "recording": {"policy": "never"},
        # The campaign's calling windows are evaluated at 10:30 (the run may be at night in Shanghai).
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
    }, ensure_ascii=False), encoding="utf-8")


# -- the day -----------------------------------------------------------------------------------

@dataclass
class AgentRun:
    agent: Agent
    proc: AppProcess
    customer: CustomerLine
    proxy: FaultProxy
    plan: CutPlan
    calls: list[dict] = field(default_factory=list)
    blocked: list[dict] = field(default_factory=list)
    restarts: int = 0
    offline_calls: int = 0
    error: str = ""
    kpi: dict = field(default_factory=dict)
    dnc: list[dict] = field(default_factory=list)


class MainThreadCalls:
    """Runs functions on the thread that started the apps: a child gets SIGTERM when the *thread*
    that started it ends (PR_SET_PDEATHSIG), so a restarted app must be started from there too."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Any, queue.Queue]] = queue.Queue()

    def call(self, fn: Any) -> Any:
        done: queue.Queue = queue.Queue()
        self._q.put((fn, done))
        ok, value = done.get()
        if not ok:
            raise value
        return value

    def serve_while(self, threads: list[threading.Thread]) -> None:
        while any(t.is_alive() for t in threads):
            try:
                fn, done = self._q.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                done.put((True, fn()))
            except BaseException as exc:
                done.put((False, exc))


def work_day(run: AgentRun, calls: int, seed: int, restart: bool, log: Any, main: MainThreadCalls) -> None:
    rng = random.Random(seed * 1000 + run.agent.index)
    cut_from, cut_to = int(calls * 0.3), max(int(calls * 0.6), int(calls * 0.3) + 1)
    restart_at = calls // 2 if restart else -1
    question_done = False
    typed = True
    attempts = 0
    try:
        while len(run.calls) < calls:
            i = len(run.calls)
            if i == cut_from and not run.plan.cut:
                run.plan.cut = True
                log(f"{run.agent.username}: network cut after {i} calls")
            if i == cut_to and run.plan.cut:
                run.plan.cut = False
                log(f"{run.agent.username}: network back after {i} calls")
            if not run.customer.alive():
                log(f"{run.agent.username}: the customer line died ({run.customer.returncode}); starting it again")
                main.call(run.customer.start)
                run.customer.restarts += 1
            attempts += 1
            if attempts > calls + 10:
                raise FloorDayError("too many dial attempts that placed no call")
            answer = run.proc.ask("call", talk=talk_seconds(rng), typed_callback=typed,
                                  question="" if question_done else "客户问：车辆过户后保单还能续吗？",
                                  note="客户说已在人保投保，明年再联系")
            if not answer.get("placed"):
                run.blocked.append(answer)
                log(f"{run.agent.username}: F5 placed no call: {answer.get('notice')}")
                time.sleep(1)
                continue
            answer["offline"] = run.plan.cut
            run.offline_calls += int(run.plan.cut)
            run.calls.append(answer)
            if answer.get("callback"):
                typed = not typed
            question_done = question_done or bool(answer.get("question"))
            if len(run.calls) == restart_at:
                log(f"{run.agent.username}: kill -9 (pid {run.proc.pid}) after {len(run.calls)} calls,"
                    f" network {'cut' if run.plan.cut else 'up'}")
                main.call(lambda: (run.proc.kill(), run.proc.start()))
                run.restarts += 1
                log(f"{run.agent.username}: restarted on the same data dir, KPI strip "
                    f"{run.proc.ready_info.get('kpi', {}).get('texts')}")
    except Exception as exc:  # reported with the agent; the run fails
        run.error = f"{type(exc).__name__}: {exc}"
        log(f"{run.agent.username}: ERROR {run.error}")
    finally:
        run.plan.cut = False


def pending_and_dnc(data: Path) -> tuple[int, set[str], list[str]]:
    con = sqlite3.connect(f"file:{data / 'cache.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        pending = con.execute("select count(*) from outbox_events where status != 'accepted'").fetchone()[0]
        dnc = {r[0] for r in con.execute("select number_e164 from dnc_entries")}
        disp = [r[0] for r in con.execute("select id from outbox_events where type='disposition_recorded'")]
    finally:
        con.close()
    return pending, dnc, disp


def has_number(dnc: set[str], number: str) -> bool:
    return any(n.endswith(number[-11:]) for n in dnc)


# -- checks ------------------------------------------------------------------------------------

def server_facts(db_path: Path, usernames: list[str]) -> dict[str, dict]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        ids = dict(con.execute(f"select username, id from users where username in ({','.join('?' * len(usernames))})",
                               usernames).fetchall())
        out = {}
        for name, uid in ids.items():
            calls = dict(con.execute("select id, talk_seconds from calls where user_id=?", (uid,)).fetchall())
            codes = Counter(r[0] for r in con.execute("select code from dispositions where user_id=?", (uid,)))
            events = Counter(r[0] for r in con.execute(
                "select id from events where user_id=? and type='disposition_recorded' and status='accepted'", (uid,)))
            rejected = con.execute("select count(*) from events where user_id=? and status!='accepted'",
                                   (uid,)).fetchone()[0]
            questions = con.execute("select count(*) from events where user_id=? and type='unscripted_question'",
                                    (uid,)).fetchone()[0]
            callbacks = con.execute("select count(*) from dispositions where user_id=? and callback_at is not null",
                                    (uid,)).fetchone()[0]
            out[name] = {"calls": calls, "codes": dict(codes), "disposition_events": events, "rejected": rejected,
                         "questions": questions, "callbacks": callbacks}
        return out
    finally:
        con.close()


def fetch_report(url: str, username: str) -> dict:
    day = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD, "device_id": "floorday"})
        r.raise_for_status()
        token = r.json()["access_token"]
        r = c.get("/api/v1/reports/daily", params={"date": day}, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()


def check(runs: list[AgentRun], report_tl: dict, report_admin: dict, facts: dict[str, dict],
          local_disp: dict[str, list[str]]) -> tuple[list[dict], list[str]]:
    rows, problems = [], []
    by_user_tl = {a["username"]: a for a in report_tl["agents"]}
    by_user_admin = {a["username"]: a for a in report_admin["agents"]}
    for run in runs:
        name = run.agent.username
        if run.error:
            problems.append(f"{name}: {run.error}")
        calls = run.calls
        did = {"calls_made": len(calls), "connected": sum(c["answered"] for c in calls),
               "talk_seconds": round(sum(c["talk"] for c in calls), 1),
               "conversions": sum(c["code"] in CONVERSION_CODES for c in calls),
               "codes": dict(Counter(c["code"] for c in calls))}
        rep = by_user_tl.get(name, {})
        if by_user_admin.get(name) != rep:
            problems.append(f"{name}: the report differs between TL and admin: {rep} vs {by_user_admin.get(name)}")
        kpi = run.kpi
        fact = facts.get(name, {"calls": {}, "codes": {}, "disposition_events": Counter(), "rejected": 0,
                                "questions": 0, "callbacks": 0})
        for key in ("calls_made", "connected", "conversions"):
            if not (rep.get(key) == kpi.get(key) == did[key]):
                problems.append(f"{name}: {key}: report {rep.get(key)}, KPI strip {kpi.get(key)}, driver {did[key]}")
        if rep.get("talk_seconds") != kpi.get("talk_seconds"):
            problems.append(f"{name}: talk: report {rep.get('talk_seconds')} s, KPI strip {kpi.get('talk_seconds')} s")
        if abs((rep.get("talk_seconds") or 0) - did["talk_seconds"]) > TALK_TOLERANCE_S * max(1, did["connected"]):
            problems.append(f"{name}: talk: report {rep.get('talk_seconds')} s, driver {did['talk_seconds']} s")
        worst = 0.0
        for c in calls:
            server_talk = fact["calls"].get(c["call_id"])
            if server_talk is None:
                problems.append(f"{name}: call {c['call_id'][:8]} (…{c['digit']}) is not on the server")
                continue
            worst = max(worst, abs(server_talk - c["talk"]))
            if abs(server_talk - c["talk"]) > TALK_TOLERANCE_S:
                problems.append(f"{name}: call {c['call_id'][:8]}: server {server_talk} s, driver {c['talk']:.2f} s")
        if len(fact["calls"]) != len(calls):
            problems.append(f"{name}: {len(fact['calls'])} calls on the server, the driver made {len(calls)}")
        if fact["codes"] != did["codes"]:
            problems.append(f"{name}: codes on the server {fact['codes']} != driver {did['codes']}")
        events = fact["disposition_events"]
        local = local_disp.get(name, [])
        twice = [e for e, n in events.items() if n != 1]
        missing = [e for e in local if e not in events]
        extra = [e for e in events if e not in set(local)]
        if twice or missing or extra or len(local) != len(calls):
            problems.append(f"{name}: dispositions by event id: {len(local)} local, {len(events)} on the server, "
                            f"{len(missing)} missing, {len(extra)} unknown, {len(twice)} not exactly once")
        asked = sum(bool(c.get("question")) for c in calls)
        if fact.get("questions") != asked or asked != 1:
            problems.append(f"{name}: unscripted questions: driver {asked}, server {fact.get('questions')}")
        booked = sum(bool(c.get("callback")) for c in calls)
        if fact.get("callbacks") != booked:
            problems.append(f"{name}: callbacks: driver {booked}, server {fact.get('callbacks')}")
        if fact["rejected"]:
            problems.append(f"{name}: {fact['rejected']} events rejected by the server")
        if not any(c["code"] == "DNC" for c in calls):
            problems.append(f"{name}: no refusal (拒绝再联系) recorded")
        not_blocked = [d for d in run.dnc if not d["blocked"] or d["rule"] != "dnc" or not d["notice"]]
        if not_blocked or not run.dnc:
            problems.append(f"{name}: refused numbers not blocked: {not_blocked or 'not checked'}")
        rows.append({"agent": name, "driver": did, "report": {k: rep.get(k) for k in
                                                              ("calls_made", "connected", "talk_seconds",
                                                               "conversions", "callbacks_due")},
                     "kpi": {k: kpi.get(k) for k in ("calls_made", "connected", "talk_seconds", "conversions")},
                     "kpi_texts": kpi.get("texts"), "server_codes": fact["codes"],
                     "dispositions_local": len(local), "dispositions_server": len(events),
                     "max_talk_diff_s": round(worst, 3), "offline_calls": run.offline_calls,
                     "restarts": run.restarts, "questions": sum(bool(c.get("question")) for c in calls),
                     "callbacks": sum(bool(c.get("callback")) for c in calls),
                     "callbacks_typed": sum(bool(c.get("callback_typed")) for c in calls),
                     "dnc_checked": len(run.dnc), "dnc_blocked": sum(d["blocked"] for d in run.dnc),
                     "blocked_f5": len(run.blocked),
                     "not_as_planned": sum(not c.get("as_planned", True) for c in calls),
                     "line_restarts": run.customer.restarts})
    return rows, problems


def table(rows: list[dict]) -> str:
    head = (f"{'agent':<11} {'calls d/k/r':>12} {'conn d/k/r':>11} {'talk s d/k/r':>18} {'sales d/k/r':>11} "
            f"{'max Δ s':>7} {'disp l/s':>8} {'offl':>4} {'rst':>3} {'DNC':>5}  codes")
    lines = [head, "-" * len(head)]
    for r in rows:
        d, k, p = r["driver"], r["kpi"], r["report"]
        codes = " ".join(f"{c}:{n}" for c, n in sorted(d["codes"].items()))
        lines.append(
            f"{r['agent']:<11} {d['calls_made']:>4}/{k['calls_made']}/{p['calls_made']:<4}"
            f" {d['connected']:>3}/{k['connected']}/{p['connected']:<3}"
            f" {d['talk_seconds']:>6.1f}/{k['talk_seconds']}/{p['talk_seconds']:<4}"
            f" {d['conversions']:>3}/{k['conversions']}/{p['conversions']:<3}"
            f" {r['max_talk_diff_s']:>7.2f} {r['dispositions_local']:>3}/{r['dispositions_server']:<4}"
            f" {r['offline_calls']:>4} {r['restarts']:>3} {r['dnc_blocked']}/{r['dnc_checked']:<3}  {codes}")
    lines.append("(d = what the driver did, k = the app's KPI strip, r = the server's 日报表; max Δ = the largest "
                 "per-call talk-time difference server vs driver; disp l/s = dispositions in the agent's outbox / "
                 "on the server by event id; offl = calls made while the agent's network was cut; rst = app "
                 "restarts; DNC = refused numbers blocked / dialled on this desktop)")
    for r in rows:
        if r.get("not_as_planned") or r.get("line_restarts"):
            lines.append(f"note: {r['agent']}: {r['not_as_planned']} calls did not go as the customer's persona "
                         f"planned (wrapped up with the code that fits what happened); customer line restarted "
                         f"{r['line_restarts']} times")
    return "\n".join(lines)


# -- the whole run -----------------------------------------------------------------------------

def run_floorday(agents: int, calls: int, seed: int, *, restart: bool = True, tl: bool = True,
                 workdir: Path | None = None, out: Path | None = None, log: Any = print) -> dict:
    started = time.monotonic()
    work = Path(workdir or tempfile.mkdtemp(prefix="seatmate-floorday-"))
    work.mkdir(parents=True, exist_ok=True)
    plan = make_agents(agents, calls, seed)
    server = ServerProcess(work / "server")
    customers: list[CustomerLine] = []
    runs: list[AgentRun] = []
    tl_proc: AppProcess | None = None
    result: dict[str, Any] = {"agents": agents, "calls_per_agent": calls, "seed": seed, "workdir": str(work)}
    try:
        with secret_service(work / "keyring"):
            set_up_server(server, plan, work)
            server.start()
            log(f"server {server.url}, work dir {work}")
            env = app_env(work)
            for a in plan:
                # A customer line per agent: one demo customer for five busy agents died mid-run.
                customer = CustomerLine(work / f"customer-{a.username}.log").start()
                customers.append(customer)
                line = customer.line
                cut = CutPlan()
                proxy = FaultProxy(server.port, cut).start()
                data = work / a.username
                write_settings(data, proxy.url, line, a.sip_user)
                proc = AppProcess(a.username, data, a.username, env)
                runs.append(AgentRun(a, proc, customer, proxy, cut))
            procs = [r.proc for r in runs]
            if tl:
                data = work / "fd_tl"
                write_settings(data, server.url, customers[0].line, "2000")
                tl_proc = AppProcess("fd_tl", data, "fd_tl", env)
                procs.append(tl_proc)
            for p in procs:  # started together: their start-ups overlap
                p._launch()
            for p in procs:
                p.ready(p.ready_timeout)
                log(f"{p.name}: ready ({p.ready_info.get('leads')} leads, logged in through the dialog: "
                    f"{p.ready_info.get('logged_in')})")
            t_day = time.monotonic()
            main_calls = MainThreadCalls()
            threads = [threading.Thread(target=work_day, name=f"day-{r.agent.username}",
                                        args=(r, calls, seed, restart and r.agent.index == 0, log, main_calls))
                       for r in runs]
            for t in threads:
                t.start()
            main_calls.serve_while(threads)
            for t in threads:
                t.join()
            result["day_seconds"] = round(time.monotonic() - t_day, 1)
            log(f"the day's calls took {result['day_seconds']} s; waiting for every outbox to drain")
            # The numbers refused today (拒绝再联系 recorded by the driver): each must reach every desktop.
            refused = [r.agent.refused_number for r in runs
                       if any(c["code"] == "DNC" and c["digit"] == "3" for c in r.calls)]
            result["refused_numbers"] = len(refused)
            deadline = time.monotonic() + 120
            local_disp: dict[str, list[str]] = {}
            for r in runs:
                while True:
                    pending, dnc, disp = pending_and_dnc(r.proc.data)
                    if pending == 0 and all(has_number(dnc, n) for n in refused):
                        local_disp[r.agent.username] = disp
                        break
                    if time.monotonic() > deadline:
                        r.error = r.error or (f"not synced after 120 s: {pending} pending, "
                                              f"{sum(has_number(dnc, n) for n in refused)}/{len(refused)} refused numbers")
                        local_disp[r.agent.username] = disp
                        break
                    time.sleep(0.5)
            # The refused numbers, dialled by hand on every desktop: the gate must block them all.
            for r in runs:
                try:
                    r.kpi = r.proc.ask("kpi")  # what the strip showed at the end of the day
                    _, dnc, _ = pending_and_dnc(r.proc.data)
                    if all(has_number(dnc, n) for n in refused):
                        r.dnc = r.proc.ask("check_dnc", numbers=refused)["results"]
                except (ProcessError, FloorDayError) as exc:
                    r.error = r.error or f"{type(exc).__name__}: {exc}"
            tl_dnc: list[dict] = []
            if tl_proc is not None:
                wait_tl = time.monotonic() + 60
                while time.monotonic() < wait_tl:
                    _, dnc, _ = pending_and_dnc(tl_proc.data)
                    if all(has_number(dnc, n) for n in refused):
                        tl_dnc = tl_proc.ask("check_dnc", numbers=refused)["results"]
                        break
                    time.sleep(0.5)
            report_tl = fetch_report(server.url, "fd_tl")
            report_admin = fetch_report(server.url, "fd_admin")
            facts = server_facts(server.db_path, [a.username for a in plan])
            rows, problems = check(runs, report_tl, report_admin, facts, local_disp)
            if tl_proc is not None and (not tl_dnc or not all(d["blocked"] for d in tl_dnc)):
                problems.append(f"fd_tl: refused numbers not blocked on the TL's desktop: {tl_dnc or 'not checked'}")
            result.update(rows=rows, problems=problems, ok=not problems,
                          report_totals=report_tl.get("totals"), tl_dnc_blocked=sum(d["blocked"] for d in tl_dnc),
                          proxy_faults={r.agent.username: sum(r.proxy.stats.faults.values()) for r in runs},
                          seconds=round(time.monotonic() - started, 1))
            for p in procs:
                p.quit()
    finally:
        for r in runs:
            with contextlib.suppress(Exception):
                r.proc.stop()
            with contextlib.suppress(Exception):
                r.proxy.stop()
        if tl_proc is not None:
            with contextlib.suppress(Exception):
                tl_proc.stop()
        for customer in customers:
            with contextlib.suppress(Exception):
                customer.stop()
        with contextlib.suppress(Exception):
            server.stop()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.floorday", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=5)
    ap.add_argument("--calls", type=int, default=40, help="calls per agent")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-restart", action="store_true", help="no app restart in the middle")
    ap.add_argument("--no-tl", action="store_true", help="no TL app")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, caches, server DB)")
    ap.add_argument("--out", default=str(ROOT / "bench-results" / "floorday.json"))
    args = ap.parse_args(argv)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        # The apps keep their sessions in a real keyring: give them a private session bus.
        if shutil.which("dbus-run-session") is None:
            print("dbus-run-session is missing (apt: dbus)", file=sys.stderr)
            return 2
        os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable, "-m", "tests.floorday",
                                       *(argv if argv is not None else sys.argv[1:])])
    work = Path(tempfile.mkdtemp(prefix="seatmate-floorday-"))
    t0 = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {text}", flush=True)

    try:
        result = run_floorday(args.agents, args.calls, args.seed, restart=not args.no_restart, tl=not args.no_tl,
                              workdir=work, out=Path(args.out), log=log)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(result.get("rows", [])))
    for p in result.get("problems", []):
        print("MISMATCH:", p)
    print(f"floor-day: {'OK' if result.get('ok') else 'FAILED'} in {result.get('seconds')} s → {args.out}")
    return 0 if result.get("ok") else 1
