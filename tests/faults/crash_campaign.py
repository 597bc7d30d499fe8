"""Crash campaign: ``python -m tests.faults.crash_campaign --kills 1000 --seed S``.

SIGKILL inside the write paths, then check what a restart finds. A real
server (``seatmate-server serve`` on SQLite) and one agent's cache file; the
agent is ``tests/faults/crash_child.py`` (the workspace store, the wrap-up
draft file and the sync engine, no Qt window, no SIP), forked for each run
from a zygote that paid the imports once. Each run is armed with
``SEATMATE_CRASH_AT=<site>:<n>`` (``cache/crashpoint.py``): a site drawn at
random (wrap-up save, do-not-call, callback scheduling, applying a pulled
page, settling pushed events, the draft file, adding a note, the call log) and
a statement (or byte) number drawn at random; the hook appends
``killed site=… stmt=… in_tx=1`` to a side file (fsynced) and SIGKILLs the
process. A kill counts as confirmed only when the process died of SIGKILL and
that line names the armed site with ``in_tx=1``.

After each kill, before the next run (a restart on the same files):

- ``PRAGMA integrity_check`` is ``ok``;
- every disposition the child had confirmed (printed only after
  ``save_disposition`` returned) is in the cache exactly once (by id, and by
  the unique marker in its note, in the table and in the outbox);
- nothing is half-written: dispositions ↔ their ``disposition_recorded``
  events, callbacks ↔ ``callback_scheduled``, notes ↔ ``note_added``, call
  records ↔ ``call_attempted``; the draft file, if any, parses;
- when the restarted child reported its outbox drained: every event the cache
  holds as acknowledged is on the server, the server holds no event of this
  agent the cache does not know, and no marker (note texts appended to the
  lead on the server, disposition notes in event payloads) appears twice.

At the end a last run without a crash point drains the outbox and everything is
compared once more. Exit status 0 only when every check held for every kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Relative weights of the sites, and the largest statement (byte) number drawn for each:
# about three transactions' worth, so the kill lands in the first few operations of a run.
SITES: dict[str, tuple[float, int]] = {
    "wrapup_save": (2.0, 30),
    "dnc": (1.5, 45),
    "callback": (1.5, 40),
    "pull_apply": (2.0, 60),
    "outbox_settle": (2.0, 15),
    "draft": (2.0, 2400),
    "note": (0.5, 12),
    "call_log": (0.5, 16),
}
MARKER = re.compile(r"cc-[0-9a-f]{16}")
USER, PASSWORD = "lina", "demo-2026"


@dataclass
class CrashResult:
    kills_confirmed: int = 0
    by_site: Counter = field(default_factory=Counter)
    not_fired: int = 0
    bad_kills: int = 0  # died, but not as planned (no marker, wrong site, outside a transaction)
    child_errors: int = 0
    integrity_failures: int = 0
    confirmed: int = 0
    confirmed_missing: int = 0
    confirmed_twice: int = 0
    half_written: int = 0
    drafts_damaged: int = 0
    restarts_drained: int = 0
    server_checks: int = 0
    lost: int = 0
    applied_twice: int = 0
    phantom: int = 0
    events_in_cache: int = 0
    events_on_server: int = 0
    pending_left: int = -1
    duration_s: float = 0.0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.bad_kills == 0 and self.child_errors == 0 and self.integrity_failures == 0
                and self.confirmed_missing == 0 and self.confirmed_twice == 0 and self.half_written == 0
                and self.drafts_damaged == 0 and self.lost == 0 and self.applied_twice == 0
                and self.phantom == 0 and self.pending_left == 0)

    def table(self) -> str:
        rows = [("kills confirmed mid-transaction", self.kills_confirmed)]
        rows += [(f"  {site}", self.by_site[site]) for site in SITES]
        rows += [
            ("runs where the crash point was not reached", self.not_fired),
            ("kills not as planned", self.bad_kills),
            ("child errors", self.child_errors),
            ("integrity_check failures", self.integrity_failures),
            ("dispositions confirmed", self.confirmed),
            ("confirmed but missing", self.confirmed_missing),
            ("confirmed twice", self.confirmed_twice),
            ("half-written transactions", self.half_written),
            ("damaged drafts", self.drafts_damaged),
            ("restarts that drained the outbox", self.restarts_drained),
            ("server comparisons", self.server_checks),
            ("events in the cache", self.events_in_cache),
            ("events on the server", self.events_on_server),
            ("lost", self.lost),
            ("applied twice", self.applied_twice),
            ("on the server, unknown to the cache", self.phantom),
            ("pending at the end", self.pending_left),
            ("duration (s)", round(self.duration_s, 1)),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join([f"{k:<{width}}  {v:>8}" for k, v in rows] + self.details[:30])

    def metrics(self, seed: int) -> list[dict]:
        def m(name: str, value: float, unit: str) -> dict:
            return {"metric": f"crash_campaign_{name}", "value": value, "unit": unit}

        return [m("kills_confirmed", self.kills_confirmed, "kills"), m("seed", seed, "seed"),
                m("integrity_failures", self.integrity_failures, "count"),
                m("dispositions_confirmed", self.confirmed, "count"),
                m("confirmed_missing", self.confirmed_missing, "count"),
                m("confirmed_twice", self.confirmed_twice, "count"),
                m("half_written", self.half_written, "count"),
                m("events_on_server", self.events_on_server, "events"),
                m("lost", self.lost, "events"), m("applied_twice", self.applied_twice, "events"),
                m("pending_left", self.pending_left, "events"),
                m("duration", round(self.duration_s, 1), "s")]


class Zygote:
    """``crash_child --zygote``: forks one driver per job, answers ``exit <job> <status>``."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        for key in [k for k in env if k.startswith("SEATMATE_CRASH")]:
            del env[key]
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults.crash_child", "--zygote"], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, job: dict) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        m = re.match(rf"exit {job['job']} (-?\d+)", line)
        if not m:
            raise RuntimeError(f"zygote answered {line!r}")
        return int(m.group(1))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        if self.proc.poll() is None:
            self.proc.kill()


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def check_cache(cache: Path, draft: Path, confirmed: dict[str, str], res: CrashResult, tag: str) -> None:
    """The file-level checks after a kill (the child is dead; nothing else has the cache open)."""
    conn = _connect(cache)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchall()
        if ok != [("ok",)]:
            res.integrity_failures += 1
            res.details.append(f"{tag}: integrity_check {ok[:3]}")
        disp = dict(conn.execute("SELECT id, note FROM dispositions"))
        ev = conn.execute("SELECT id, type, payload FROM outbox_events").fetchall()
        callbacks = {r[0] for r in conn.execute("SELECT id FROM callbacks")}
        notes = {r[0] for r in conn.execute("SELECT id FROM lead_notes")}
        blocked = {r[0] for r in conn.execute("SELECT number_e164 FROM dnc_entries")}
        calls = {r[0] for r in conn.execute("SELECT id FROM call_records")}
    finally:
        conn.close()
    by_type: dict[str, list[tuple[str, dict]]] = {}
    for eid, typ, payload in ev:
        by_type.setdefault(typ, []).append((eid, json.loads(payload or "{}")))
    table_markers = Counter(mk for note in disp.values() for mk in MARKER.findall(note or ""))
    event_markers = Counter(mk for _, p in by_type.get("disposition_recorded", [])
                            for mk in MARKER.findall(p.get("note", "")))
    for did, marker in confirmed.items():
        if did not in disp or table_markers[marker] == 0 or event_markers[marker] == 0:
            res.confirmed_missing += 1
            res.details.append(f"{tag}: confirmed disposition {did} ({marker}) missing")
        elif table_markers[marker] > 1 or event_markers[marker] > 1:
            res.confirmed_twice += 1
            res.details.append(f"{tag}: confirmed disposition {did} ({marker}) twice")
    pairs = [
        ("dispositions", set(disp), {e for e, _ in by_type.get("disposition_recorded", [])}),
        ("callbacks", callbacks, {p.get("callback_id") for _, p in by_type.get("callback_scheduled", [])}),
        ("notes", notes, {e for e, _ in by_type.get("note_added", [])}),
        ("calls", calls, {p.get("call_id") for _, p in by_type.get("call_attempted", [])}),
    ]
    for name, rows, events in pairs:
        if rows != events:
            res.half_written += 1
            res.details.append(f"{tag}: {name}: rows without event {sorted(rows - events)[:3]}, "
                               f"events without row {sorted(events - rows)[:3]}")
    unblocked = {p.get("number_e164") for _, p in by_type.get("dnc_requested", [])} - blocked
    if unblocked:
        res.half_written += 1
        res.details.append(f"{tag}: do-not-call events without a local block: {len(unblocked)}")
    if draft.exists():
        try:
            json.loads(draft.read_text(encoding="utf-8"))
        except ValueError as exc:
            res.drafts_damaged += 1
            res.details.append(f"{tag}: draft unreadable: {exc}")
    strays = list(draft.parent.glob(".wrapup-*"))
    if len(strays) > 1:  # the one this kill left is removed by the next start
        res.drafts_damaged += 1
        res.details.append(f"{tag}: {len(strays)} draft temp files left over")
    if draft.with_suffix(".damaged").exists():
        res.drafts_damaged += 1
        res.details.append(f"{tag}: a damaged draft was set aside")


def check_server(cache: Path, server_db: Path, res: CrashResult, tag: str, final: bool = False) -> None:
    """Cache outbox against the server: acknowledged → on the server once; no phantoms; no marker twice."""
    conn = _connect(cache)
    try:
        rows = conn.execute("SELECT id, type, status, payload FROM outbox_events").fetchall()
    finally:
        conn.close()
    srv = _connect(server_db, readonly=True)
    try:
        uid = srv.execute("SELECT id FROM users WHERE username = ?", (USER,)).fetchone()[0]
        server_ids = Counter(r[0] for r in srv.execute("SELECT id FROM events WHERE user_id = ?", (uid,)))
        payload_markers = Counter(mk for (p,) in srv.execute(
            "SELECT payload FROM events WHERE user_id = ? AND type = 'disposition_recorded'", (uid,))
            for mk in MARKER.findall(p or ""))
        lead_notes = "\n".join(n or "" for (n,) in srv.execute("SELECT notes FROM leads"))
    finally:
        srv.close()
    res.server_checks += 1
    cache_ids = {r[0] for r in rows}
    acked = {r[0] for r in rows if r[2] in ("accepted", "rejected")}
    lost = acked - set(server_ids)
    phantom = set(server_ids) - cache_ids
    twice = [e for e, c in server_ids.items() if c > 1]
    twice += [mk for mk, c in payload_markers.items() if c > 1]
    for eid, typ, status, payload in rows:
        if typ == "note_added" and status == "accepted":
            text = json.loads(payload or "{}").get("text", "")
            if text and lead_notes.count(text) != 1:
                twice.append(eid) if lead_notes.count(text) > 1 else lost.add(eid)
    if lost or twice or phantom:
        res.details.append(f"{tag}: server: lost {sorted(lost)[:3]} twice {twice[:3]} phantom {sorted(phantom)[:3]}")
    res.lost += len(lost)
    res.applied_twice += len(twice)
    res.phantom += len(phantom)
    if final:
        res.events_in_cache, res.events_on_server = len(cache_ids), len(server_ids)
        res.pending_left = sum(1 for r in rows if r[2] == "pending")


def _read_new(path: Path, offset: int) -> tuple[list[str], int]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    return data.decode("utf-8", "replace").splitlines(), offset + len(data)


def run_campaign(kills: int, workdir: Path, seed: int = 1, *, progress: bool = False,
                 max_runs: int | None = None) -> CrashResult:
    from cache.crashpoint import ENV_AT, ENV_LOG
    from tests.server.live import start_server

    started = time.monotonic()
    rng = random.Random(seed)
    res = CrashResult()
    work = Path(workdir)
    (work / "runs").mkdir(parents=True, exist_ok=True)
    server_db = work / "server.sqlite3"
    server = start_server(f"sqlite:///{server_db}", work / "server-data")
    zygote = Zygote()
    cache, draft, kill_log = work / "agent" / "cache.sqlite3", work / "agent" / "wrapup-draft.json", work / "kills.log"
    cache.parent.mkdir(parents=True, exist_ok=True)
    confirmed: dict[str, str] = {}
    log_offset = 0
    names, weights = list(SITES), [w for w, _ in SITES.values()]
    try:
        run = 0
        while res.kills_confirmed < kills and run < (max_runs or kills * 3):
            run += 1
            site = rng.choices(names, weights)[0]
            n = rng.randint(1, SITES[site][1])
            out = work / "runs" / f"{run:05d}-{site}-{n}.out"
            argv = ["--cache", str(cache), "--draft", str(draft), "--server", server.url, "--user", USER,
                    "--password", PASSWORD, "--seed", str(seed * 1_000_003 + run)]
            status = zygote.run({"job": run, "argv": argv, "out": str(out),
                                 "env": {ENV_AT: f"{site}:{n}", ENV_LOG: str(kill_log)}})
            lines = out.read_text(encoding="utf-8", errors="replace").splitlines() if out.exists() else []
            for line in lines:
                parts = line.split()
                if parts[:1] == ["confirmed"] and len(parts) >= 3:
                    confirmed[parts[1]] = parts[2]
            drained = "drained" in lines
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
            marks, log_offset = _read_new(kill_log, log_offset)
            tag = f"run {run} ({site}:{n})"
            if killed:
                good = len(marks) == 1 and f"killed site={site} " in marks[0] and "in_tx=1" in marks[0]
                if good:
                    res.kills_confirmed += 1
                    res.by_site[site] += 1
                else:
                    res.bad_kills += 1
                    res.details.append(f"{tag}: killed, but the marker says {marks}")
            elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and "done" in lines:
                res.not_fired += 1
            else:
                res.child_errors += 1
                res.details.append(f"{tag}: child exit status {status}: {' | '.join(lines[-5:])}")
            res.restarts_drained += int(drained)
            check_cache(cache, draft, confirmed, res, tag)
            if drained:
                check_server(cache, server_db, res, tag)
            if progress and run % 25 == 0:
                print(f"run {run}: {res.kills_confirmed} kills confirmed, {len(confirmed)} dispositions confirmed, "
                      f"{res.restarts_drained} drained, problems: {len(res.details)}", flush=True)
        # The last restart: no crash point, drain, compare everything.
        out = work / "runs" / "final.out"
        argv = ["--cache", str(cache), "--draft", str(draft), "--server", server.url, "--user", USER,
                "--password", PASSWORD, "--seed", str(seed), "--drain-only"]
        status = zygote.run({"job": 0, "argv": argv, "out": str(out), "env": {}})
        if status != 0:
            res.child_errors += 1
            res.details.append(f"final drain: status {status}: {out.read_text(errors='replace')[-500:]}")
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if parts[:1] == ["confirmed"] and len(parts) >= 3:
                confirmed[parts[1]] = parts[2]
        check_cache(cache, draft, confirmed, res, "final")
        check_server(cache, server_db, res, "final", final=True)
        res.confirmed = len(confirmed)
    finally:
        zygote.close()
        server.stop()
        res.duration_s = time.monotonic() - started
    return res


def write_metrics(entries: list[dict], path: Path = ROOT / "bench-results" / "reliability.json") -> None:
    """Merge by metric name into bench-results/reliability.json (other campaigns write there too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        have = json.loads(path.read_text())
    except (OSError, ValueError):
        have = []
    names = {e["metric"] for e in entries}
    merged = [e for e in have if e.get("metric") not in names] + entries
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None, help="kept afterwards (default: a temp dir, removed)")
    ap.add_argument("--no-json", action="store_true", help="do not write bench-results/reliability.json")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seatmate-crash-"))
    try:
        res = run_campaign(args.kills, work, args.seed, progress=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(res.table())
    print("OK" if res.ok else "FAILED")
    if not args.no_json:
        write_metrics(res.metrics(args.seed))
    return 0 if res.ok and res.kills_confirmed >= args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
