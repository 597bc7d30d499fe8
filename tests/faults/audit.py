"""The fault campaign's verdict: what each client made, replayed, against what the server holds.

The server keys its ``events`` and ``dispositions`` rows on the event's UUID and its
``calls`` rows on the call's id, so counting rows per key can never show a double
apply. This audit counts by *content* instead and replays the clients' events with
the rules the server itself uses (core.lead_status, core.kpi):

- per client UUID, every effect the event has on the server, found by what it says,
  not by its id: event rows with the same call id / note text, ``calls`` rows with the
  same lead, dial and hang-up time and talk time, ``dispositions`` rows with the same call and code, lines
  with the same text in the lead's notes. 0 of any of them: lost; 2 or more: applied
  twice (the excess is counted);
- per lead: status, callback time, last disposition, last attempt and the time of the
  event that set the status, replayed from the baseline (taken before the clients
  started) through core.lead_status in each client's outbox order; the note lines in
  order; the attempt count (``calls`` rows and ``call_attempted`` events for the lead);
- per agent: the KPI figures the server's report computes (server/reports.summary:
  通次, 接通, 通时, 成交, 预约回访, 30 秒内拒绝), minus the baseline's, against
  core.kpi.compute over the calls the client recorded.

Works on a SQLite or PostgreSQL server database (SQLAlchemy, read-only use); the
client caches are read with sqlite3.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kpi import CallFact, compute, refusal_codes_of
from core.lead_status import CodeFlags, LeadState, after_attempt, after_callback_scheduled, after_disposition
from core.timeutil import format_iso, parse_iso
from server import reports
from server.db import make_engine
from server.models import Call, Campaign, Disposition, DispositionCode, Event, Lead, User

KPI_FIGURES = ("calls_made", "connected", "talk_seconds", "conversions", "callbacks_set", "quick_refusals")
REPORT_TZ = "Asia/Shanghai"
_STAMP = re.compile(r"^\[[^\]]*\] ")  # the server's "[YYYY-MM-DD HH:MM] " before each note line


@dataclass(frozen=True)
class ClientEvent:
    id: str
    seq: int
    type: str
    lead_id: str | None
    payload: dict[str, Any]
    occurred_at: dt.datetime  # as the server reads it from the wire (milliseconds)
    status: str


@dataclass
class LeadSnapshot:
    state: LeadState
    note_lines: list[str]
    calls: int
    attempts: int  # call_attempted events stored for the lead


@dataclass
class Baseline:
    """The server before the clients start: users, their leads, their KPI figures."""

    users: dict[str, str]  # username -> user id
    leads: dict[str, LeadSnapshot]
    owner: dict[str, str]  # lead id -> username
    kpi: dict[str, dict[str, int]]
    days: tuple[dt.date, dt.date]


@dataclass
class Audit:
    events_created: int = 0
    events_on_server: int = 0
    lost: int = 0
    applied_twice: int = 0
    twice_by_effect: Counter = field(default_factory=Counter)
    lost_by_effect: Counter = field(default_factory=Counter)
    rejected: int = 0
    pending_left: int = 0
    phantom: int = 0
    state_mismatches: int = 0  # leads whose derived state differs from the replay
    kpi_mismatches: int = 0  # KPI figures that differ from the replay
    leads_replayed: int = 0  # leads whose replayed state moved from the baseline (the check is not idle)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.applied_twice or self.pending_left or self.phantom
                    or self.state_mismatches or self.kpi_mismatches or self.rejected)


def _wire_time(value: Any) -> dt.datetime:
    """A cache column's time as the server reads it: the wire's ISO with milliseconds."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return parse_iso(format_iso(value))


def read_outbox(cache: Path) -> list[ClientEvent]:
    con = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT id, seq, type, lead_id, payload, occurred_at, status FROM outbox_events "
                           "ORDER BY seq").fetchall()
    finally:
        con.close()
    return [ClientEvent(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}, _wire_time(r[5]), r[6])
            for r in rows]


def _sessions(db_url: str) -> tuple[Any, sessionmaker]:
    engine = make_engine(db_url)
    return engine, sessionmaker(engine)


def _lead_snapshot(lead: Lead, calls: int, attempts: int) -> LeadSnapshot:
    lines = [_STAMP.sub("", line, count=1) for line in (lead.notes or "").split("\n") if line]
    return LeadSnapshot(LeadState(lead.status, lead.next_callback_at, lead.last_disposition, lead.last_attempt_at,
                                  lead.state_event_at), lines, calls, attempts)


def _leads(s: Session, user_ids: Iterable[str]) -> dict[str, tuple[Lead, LeadSnapshot]]:
    ids = list(user_ids)
    calls = dict(s.execute(select(Call.lead_id, func.count()).where(Call.user_id.in_(ids))
                           .group_by(Call.lead_id)).all())
    attempts = dict(s.execute(select(Event.lead_id, func.count()).where(
        Event.user_id.in_(ids), Event.type == "call_attempted", Event.status == "accepted")
        .group_by(Event.lead_id)).all())
    return {lead.id: (lead, _lead_snapshot(lead, calls.get(lead.id, 0), attempts.get(lead.id, 0)))
            for lead in s.execute(select(Lead).where(Lead.assigned_to.in_(ids))).scalars()}


def _kpi(s: Session, user_id: str, days: tuple[dt.date, dt.date]) -> dict[str, int]:
    """The agent's figures as the server's report computes them (the one copy: server/reports.py)."""
    report = reports.summary(s, days[0], days[1], REPORT_TZ, None, user_id)
    (row,) = report["agents"]
    return {k: int(row[k]) for k in KPI_FIGURES}


def take_baseline(db_url: str, usernames: Iterable[str]) -> Baseline:
    today = dt.datetime.now(dt.timezone.utc).date()
    # Wide enough for client clocks off by minutes and a campaign that crosses midnight.
    days = (today - dt.timedelta(days=2), today + dt.timedelta(days=2))
    engine, maker = _sessions(db_url)
    try:
        with maker() as s:
            users = dict(s.execute(select(User.username, User.id).where(User.username.in_(list(usernames)))).all())
            leads = _leads(s, users.values())
            by_id = {v: k for k, v in users.items()}
            owner = {lid: by_id[lead.assigned_to] for lid, (lead, _snap) in leads.items()}
            kpi = {name: _kpi(s, uid, days) for name, uid in users.items()}
    finally:
        engine.dispose()
    return Baseline(users, {lid: snap for lid, (_lead, snap) in leads.items()}, owner, kpi, days)


# -- per-UUID effect counts --------------------------------------------------------------

def _content_key(type_: str, payload: dict[str, Any], event_id: str) -> tuple:
    """What makes an event itself, whatever its id: a second row with the same key is the
    same fact stored twice (e.g. a retry that minted a new UUID)."""
    if type_ in ("call_attempted", "call_ended", "disposition_recorded") and payload.get("call_id"):
        return (type_, str(payload["call_id"]))
    if type_ == "note_added":
        return (type_, str(payload.get("text", "")))
    if type_ == "callback_scheduled" and payload.get("callback_id"):
        return (type_, str(payload["callback_id"]))
    return ("id", event_id)


@dataclass
class _ServerRows:
    event_ids: Counter
    event_content: Counter
    calls: Counter  # (lead id, dialed_at, ended_at, talk_seconds): two calls may share a dial time
    dispositions: Counter  # (call id, code)
    note_lines: dict[str, Counter]  # lead id -> text -> lines


def _server_rows(s: Session, user_id: str, leads: dict[str, tuple[Lead, LeadSnapshot]]) -> _ServerRows:
    ev_ids: Counter = Counter()
    ev_content: Counter = Counter()
    for ev_id, type_, payload in s.execute(select(Event.id, Event.type, Event.payload).where(
            Event.user_id == user_id, Event.status == "accepted")):
        ev_ids[ev_id] += 1
        ev_content[_content_key(type_, payload or {}, ev_id)] += 1
    calls = Counter((lid, _wire_time(d), _wire_time(e) if e else None, talk) for lid, d, e, talk in s.execute(
        select(Call.lead_id, Call.dialed_at, Call.ended_at, Call.talk_seconds).where(Call.user_id == user_id)))
    disps = Counter(s.execute(select(Disposition.call_id, Disposition.code).where(
        Disposition.user_id == user_id)).all())
    notes = {lid: Counter(snap.note_lines) for lid, (_lead, snap) in leads.items()}
    return _ServerRows(ev_ids, ev_content, calls, disps, notes)


def _effects(e: ClientEvent, rows: _ServerRows) -> dict[str, int]:
    """How many times each of the event's effects is on the server."""
    out = {"event": rows.event_ids[e.id], "event content": rows.event_content[_content_key(e.type, e.payload, e.id)]}
    if e.type == "call_ended":
        p = e.payload
        ended = parse_iso(p.get("ended_at"))
        out["call row"] = rows.calls[(e.lead_id, _wire_time(parse_iso(p["dialed_at"])),
                                      _wire_time(ended) if ended else None, int(p.get("talk_seconds") or 0))]
    elif e.type == "disposition_recorded":
        out["disposition row"] = rows.dispositions[(e.payload.get("call_id"), e.payload.get("code"))]
    elif e.type == "note_added":
        out["note line"] = rows.note_lines.get(e.lead_id or "", Counter())[e.payload.get("text", "")]
    return out


# -- replay ------------------------------------------------------------------------------

def _replay_lead(start: LeadSnapshot, events: list[ClientEvent], codes: dict[str, Any]) -> LeadSnapshot:
    state, lines, calls, attempts = start.state, list(start.note_lines), start.calls, start.attempts
    for e in events:
        if e.type == "call_attempted":
            state = after_attempt(state, e.occurred_at)
            attempts += 1
        elif e.type == "call_ended":
            calls += 1
        elif e.type == "disposition_recorded":
            code = codes.get(e.payload["code"])
            cb = parse_iso(e.payload.get("callback_at"))
            state = after_disposition(state, e.payload["code"], CodeFlags.of(code) if code else None, cb,
                                      e.occurred_at)
        elif e.type == "callback_scheduled":
            state = after_callback_scheduled(state, parse_iso(e.payload.get("due_at")), e.occurred_at)
        elif e.type == "note_added":
            lines.append(e.payload["text"])
    return LeadSnapshot(state, lines, calls, attempts)


def _replay_kpi(events: list[ClientEvent], codes_by_lead: dict[str, dict[str, Any]],
                refusal: frozenset[str]) -> dict[str, int]:
    latest: dict[str, str] = {}
    callbacks_set = 0
    for e in events:
        if e.type == "disposition_recorded":
            if e.payload.get("call_id"):
                latest[e.payload["call_id"]] = e.payload["code"]
            callbacks_set += e.payload.get("callback_at") is not None
    facts = []
    for e in events:
        if e.type != "call_ended":
            continue
        p = e.payload
        talk = int(p.get("talk_seconds") or 0)
        code = latest.get(p["call_id"])
        row = codes_by_lead.get(e.lead_id or "", {}).get(code) if code else None
        facts.append(CallFact(p["call_id"], p.get("answered_at") is not None or talk > 0, talk,
                              code=code, is_conversion=bool(row and row.is_conversion)))
    snap = compute(facts, refusal_codes=refusal)
    return {"calls_made": snap.calls_made, "connected": snap.connected, "talk_seconds": snap.talk_seconds,
            "conversions": snap.conversions, "callbacks_set": callbacks_set, "quick_refusals": snap.quick_refusals}


def _same_state(a: LeadSnapshot, b: LeadSnapshot) -> list[str]:
    diffs = [f"{k} {getattr(a.state, k)!r} != replay {getattr(b.state, k)!r}"
             for k in ("status", "next_callback_at", "last_disposition", "last_attempt_at", "state_event_at")
             if getattr(a.state, k) != getattr(b.state, k)]
    if a.note_lines != b.note_lines:
        diffs.append(f"notes: {len(a.note_lines)} lines != replay {len(b.note_lines)}")
    if a.calls != b.calls:
        diffs.append(f"calls (attempts) {a.calls} != replay {b.calls}")
    if a.attempts != b.attempts:
        diffs.append(f"call_attempted events {a.attempts} != replay {b.attempts}")
    return diffs


def audit(db_url: str, clients: dict[str, Path], base: Baseline) -> Audit:
    """``clients``: username -> its cache file."""
    res = Audit()
    outboxes = {name: read_outbox(path) for name, path in clients.items()}
    engine, maker = _sessions(db_url)
    try:
        with maker() as s:
            leads = _leads(s, base.users.values())
            codes = defaultdict(dict)
            for c in s.execute(select(DispositionCode)).scalars():
                codes[c.campaign_id][c.code] = c
            codes_by_lead = {lid: codes[lead.campaign_id] for lid, (lead, _snap) in leads.items()}
            refusal = frozenset().union(*(refusal_codes_of(r if isinstance(r, dict) else None)
                                          for (r,) in s.execute(select(Campaign.rules)).all()))
            for name, events in outboxes.items():
                _audit_client(s, res, name, events, base, leads, codes_by_lead, refusal)
            _audit_leads(res, outboxes, base, leads, codes_by_lead)
    finally:
        engine.dispose()
    return res


def _audit_client(s: Session, res: Audit, name: str, events: list[ClientEvent], base: Baseline,
                  leads: dict[str, tuple[Lead, LeadSnapshot]], codes_by_lead: dict[str, dict[str, Any]],
                  refusal: frozenset[str]) -> None:
    user_id = base.users[name]
    rows = _server_rows(s, user_id, leads)
    res.events_created += len(events)
    res.pending_left += sum(e.status == "pending" for e in events)
    rejected = [e for e in events if e.status == "rejected"]
    res.rejected += len(rejected)
    for e in rejected[:5]:
        res.details.append(f"  {name}: rejected {e.type} {json.dumps(e.payload, ensure_ascii=False)[:100]}")
    mine = {e.id for e in events}
    server_ids = set(s.execute(select(Event.id).where(Event.user_id == user_id)).scalars())
    res.events_on_server += len(server_ids & mine)
    phantom = server_ids - mine
    res.phantom += len(phantom)
    if phantom:
        res.details.append(f"  {name}: {len(phantom)} server events this client never made")
    for e in events:
        if e.status == "rejected":
            continue
        effects = _effects(e, rows)
        missing = [k for k, n in effects.items() if n == 0]
        if missing:
            res.lost += 1
            res.lost_by_effect.update(missing)
        extra = max(effects.values()) - 1
        if extra > 0:
            res.applied_twice += extra
            res.twice_by_effect.update({k: n - 1 for k, n in effects.items() if n > 1})
            if len(res.details) < 40:
                res.details.append(f"  {name}: {e.type} {e.id} on the server as {effects}")
    accepted = [e for e in events if e.status != "rejected"]
    replayed = _replay_kpi(accepted, codes_by_lead, refusal)
    now = _kpi(s, user_id, base.days)
    for k in KPI_FIGURES:
        got = now[k] - base.kpi[name][k]
        if got != replayed[k]:
            res.kpi_mismatches += 1
            res.details.append(f"  {name}: KPI {k} on the server {got} != replay {replayed[k]}")


def _audit_leads(res: Audit, outboxes: dict[str, list[ClientEvent]], base: Baseline,
                 leads: dict[str, tuple[Lead, LeadSnapshot]], codes_by_lead: dict[str, dict[str, Any]]) -> None:
    per_lead: dict[str, list[ClientEvent]] = defaultdict(list)
    for events in outboxes.values():
        for e in events:  # each client's own order (seq): the order its pushes reach the server
            if e.status != "rejected" and e.lead_id:
                per_lead[e.lead_id].append(e)
    for lid, start in base.leads.items():
        if lid not in leads:
            res.state_mismatches += 1
            res.details.append(f"  lead {lid} is gone from the server")
            continue
        expect = _replay_lead(start, per_lead.get(lid, []), codes_by_lead.get(lid, {}))
        res.leads_replayed += expect.state != start.state
        diffs = _same_state(leads[lid][1], expect)
        if diffs:
            res.state_mismatches += 1
            if len(res.details) < 60:
                res.details.append(f"  lead {lid} ({base.owner[lid]}): " + "; ".join(diffs))
    stray = set(per_lead) - set(base.leads)
    if stray:
        res.state_mismatches += len(stray)
        res.details.append(f"  {len(stray)} leads with events that were not the clients' at the start")
