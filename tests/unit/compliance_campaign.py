"""The compliance gate by property: Hypothesis dials through the app's real call loop.

Every generated example is one lead of its own campaign (random calling windows, legal
window narrowed or "widened", attempt limit, minimum gap, customer time zone), an attempt
history, and a sequence of steps: the clock moves on, do-not-call entries arrive by sync
(upserts and tombstones, applied by the cache's real ``PageApplier`` when online, queued
while offline), a callback falls due, the agent pauses or goes offline, a customer calls
in, and then the agent dials — manually from the dialpad (the lead's number or a number
no lead has), the previewed lead, power mode's next lead, or the due callback. Calls that
go out end (answered or not) and are wrapped up through the real wrap-up service; an
answered customer may say 拒绝再联系 (the agent's own do-not-call).

What is under test is the app's whole decision: ``WorkspaceController`` (dial_number,
dial_lead, dial_next) → ``WorkspaceStore.dial_facts`` over a real SQLite cache →
``core.compliance.ComplianceGate``. Only the softphone is replaced, by a recorder of the
numbers it was asked to dial (the gate decides before the engine is involved).

The oracle is written here from ../shared/DESIGN.md ("Compliance and privacy"), from the
facts this test itself created (never read back from the gate's inputs): no call outside
the legal 09:00–21:00 window (narrowed by the campaign, never widened), none outside the
campaign's windows unless the customer asked for this callback (the first try after it
fell due), none to a number on the do-not-call list (a refusal blocks at once, for at
least 180 days, whatever sync says afterwards), at most N attempts per lead per local
day and a minimum gap between attempts (a due callback waives the gap, not the limit).
Every refusal must carry a message code that ui/messages.py words and the zh_CN
translation translates.

    python -m tests.unit.compliance_campaign --examples 4000 --seed 15

prints the counts and merges them into bench-results/reliability.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc
LEGAL = (9 * 60, 21 * 60)  # minutes of the local day, [start, end)
TIMEZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Kathmandu", "Europe/London", "America/New_York",
             "Australia/Adelaide", "Pacific/Chatham")
CODES = [  # the demo campaign's codes that matter here (the rest would need a note or a callback)
    {"code": "REFUSED", "label": "拒绝", "group": "connected"},
    {"code": "SALE", "label": "成交", "group": "connected", "is_conversion": True},
    {"code": "DNC", "label": "拒绝再联系", "group": "connected", "adds_to_dnc": True, "closes_lead": True},
    {"code": "NO_ANSWER", "label": "无人接听", "group": "not_connected", "sip": [408, 480, 487]},
    {"code": "BUSY", "label": "忙线", "group": "not_connected", "sip": [486, 600]},
]


# ----------------------------------------------------------------------------- the scenario
@dataclass(frozen=True)
class Rules:
    windows: tuple[tuple[int, int], ...]  # minutes of the local day
    hard: tuple[int, int] | None  # the campaign's own "hard_window", as configured
    max_attempts: int
    gap: int  # minutes
    tz: str

    def as_campaign_rules(self) -> dict[str, Any]:
        def hhmm(x: int) -> str:
            return f"{x // 60:02d}:{x % 60:02d}"

        comp: dict[str, Any] = {"calling_windows": [[hhmm(a), hhmm(b)] for a, b in self.windows],
                                "max_attempts_per_lead_per_day": self.max_attempts,
                                "min_minutes_between_attempts": self.gap, "dnc_min_days": 180}
        if self.hard is not None:
            comp["hard_window"] = [hhmm(self.hard[0]), hhmm(self.hard[1])]
        return {"compliance": comp}


@dataclass(frozen=True)
class Step:
    advance_s: int
    sync: tuple[str, int, int] | None  # (upsert|delete, target number index, expiry days) or None
    network: str  # keep | online | offline
    agent: str  # ready | pause | offline
    callback_in_min: int | None  # a callback the server scheduled, due this many minutes from now
    mode: str  # manual | manual_other | preview | power | callback | inbound
    answered: bool
    code: str  # the wrap-up code when the call is answered


def _window() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(0, 95), st.integers(1, 40)).map(lambda t: (t[0] * 15, min(1440, (t[0] + t[1]) * 15)))


def rules_strategy() -> st.SearchStrategy[Rules]:
    return st.builds(
        Rules,
        windows=st.one_of(st.lists(_window(), min_size=1, max_size=3).map(tuple),
                          st.just(((9 * 60, 12 * 60), (13 * 60 + 30, 20 * 60))), st.just(((0, 1440),))),
        hard=st.one_of(st.none(), st.just((9 * 60, 21 * 60)), st.just((7 * 60, 23 * 60)),
                       st.tuples(st.integers(8 * 4, 11 * 4), st.integers(17 * 4, 22 * 4)).map(
                           lambda t: (t[0] * 15, t[1] * 15))),
        max_attempts=st.integers(1, 5),
        gap=st.sampled_from((0, 5, 30, 120, 240)),
        tz=st.sampled_from(TIMEZONES),
    )


def step_strategy() -> st.SearchStrategy[Step]:
    return st.builds(
        Step,
        advance_s=st.one_of(st.integers(0, 600), st.integers(0, 600), st.integers(0, 4 * 3600),
                            st.integers(0, 30 * 3600)),
        sync=st.one_of(st.none(), st.none(), st.tuples(st.sampled_from(("upsert", "delete")), st.integers(0, 2),
                                                         st.integers(-400, 400))),
        network=st.sampled_from(("keep", "keep", "keep", "online", "offline")),
        agent=st.sampled_from(("ready",) * 12 + ("pause", "offline")),
        callback_in_min=st.one_of(st.none(), st.none(), st.none(), st.integers(-4 * 1440, 120)),
        mode=st.sampled_from(("manual", "manual_other", "preview", "power", "callback", "inbound")),
        answered=st.sampled_from((False, False, False, True)),
        code=st.sampled_from(("DNC", "DNC", "DNC", "REFUSED", "SALE")),
    )


@dataclass(frozen=True)
class Scenario:
    rules: Rules
    start_offset_days: int  # from the real today (the app stamps DNC arrivals with the real clock)
    start_local_minute: int
    start_second: int
    phones: int
    history: tuple[tuple[int, str], ...]  # (minutes before the start, in|out)
    steps: tuple[Step, ...]


def scenario_strategy() -> st.SearchStrategy[Scenario]:
    return st.builds(
        Scenario,
        rules=rules_strategy(),
        start_offset_days=st.integers(-20, 20),
        # Mostly the working day, where calls go out and the limits matter; the night too.
        start_local_minute=st.one_of(st.integers(0, 1439), st.integers(9 * 60, 20 * 60),
                                     st.integers(9 * 60, 20 * 60)),
        start_second=st.integers(0, 59),
        phones=st.integers(1, 2),
        history=st.lists(st.tuples(st.one_of(st.integers(1, 300), st.integers(1, 4 * 1440)),
                                   st.sampled_from(("out", "out", "in"))), max_size=6).map(tuple),
        steps=st.lists(step_strategy(), min_size=1, max_size=6).map(tuple),
    )


# ----------------------------------------------------------------------------- the oracle
@dataclass
class World:
    """What this test knows it did: placed calls, the numbers refused, what sync delivered."""

    rules: Rules
    numbers: list[str]  # the lead's numbers; index 2 = a number no lead has
    attempts: list[dt.datetime] = field(default_factory=list)  # outbound attempts of the lead (UTC)
    refused_at: dict[str, dt.datetime] = field(default_factory=dict)  # the customer's own refusal
    server_dnc: set[str] = field(default_factory=set)  # entries sync delivered and did not remove
    callback_at: dt.datetime | None = None


def _local_minute(now: dt.datetime, tz: str) -> tuple[dt.date, float]:
    local = now.astimezone(ZoneInfo(tz))
    return local.date(), local.hour * 60 + local.minute + local.second / 60


def oracle(world: World, now: dt.datetime, number: str | None, for_lead: bool) -> set[str]:
    """The rules that forbid dialling ``number`` (None: any of the lead's numbers) now; empty = allowed.

    ``for_lead``: the dial is for the lead (attempt limits apply per lead); a number no lead
    has is bound only by the windows (the default 09:00–21:00) and the do-not-call list."""
    why: set[str] = set()
    candidates = [number] if number is not None else world.numbers[:2]
    if all(n in world.refused_at or n in world.server_dnc for n in candidates):
        why.add("dnc")
    rules = world.rules if for_lead else Rules(((9 * 60, 21 * 60),), None, 10**6, 0, world.rules.tz)
    day, minute = _local_minute(now, rules.tz)
    lo, hi = LEGAL
    if rules.hard is not None:
        lo, hi = max(lo, rules.hard[0]), min(hi, rules.hard[1])
    if not lo <= minute < hi:
        why.add("hard_window")
    waiver = (for_lead and world.callback_at is not None and world.callback_at <= now
              and not any(a >= world.callback_at for a in world.attempts))
    if not waiver and not any(a <= minute < b for a, b in rules.windows):
        why.add("window")
    if for_lead:
        today = [a for a in world.attempts if a <= now and a.astimezone(ZoneInfo(rules.tz)).date() == day]
        if len(today) >= rules.max_attempts:
            why.add("attempts")
        recent = [a for a in world.attempts if a <= now and now - a < dt.timedelta(minutes=rules.gap)]
        if recent and not waiver:
            why.add("gap")
    return why


# ----------------------------------------------------------------------------- the app, for real
@dataclass(frozen=True)
class CallInfo:
    call_id: str
    state: str
    direction: str
    sip_code: int = 0
    dialed_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None


@dataclass(frozen=True)
class Incoming:
    call_id: str
    remote_masked: str
    number_e164: str
    lead_id: str | None = None


def _translated_sources() -> set[str]:
    """The Messages sources the zh_CN translation has a finished translation for."""
    tree = ET.parse(ROOT / "resources" / "i18n" / "seatmate_zh_CN.ts")
    out: set[str] = set()
    for ctx in tree.getroot().iter("context"):
        if ctx.findtext("name") != "Messages":
            continue
        for message in ctx.iter("message"):
            tr = message.find("translation")
            if tr is not None and (tr.text or "").strip() and tr.get("type") not in ("unfinished", "obsolete",
                                                                                      "vanished"):
                out.add(message.findtext("source") or "")
    return out


class Campaign:
    """One cache, one call loop; each example gets its own campaign, lead and numbers."""

    def __init__(self, folder: Path) -> None:
        from PySide6.QtCore import QObject, Signal

        from app.workspace.agent_state import AgentStateMachine
        from app.workspace.controller import WorkspaceController
        from app.workspace.dialing import PowerDialer
        from app.workspace.store import WorkspaceStore
        from app.workspace.wrapup import DraftStore, WrapupService
        from cache.db import open_cache
        from cache.pull_apply import PageApplier
        from cache.repository import Repository
        from core.compliance import ComplianceGate
        from ui import messages as ui_messages

        class RecordingPhone(QObject):
            """The softphone seam: remembers what it was asked to dial."""

            call_state_changed = Signal(object)
            incoming_call = Signal(object)

            def __init__(self) -> None:
                super().__init__()
                self.dialled: list[str] = []
                self._ids = itertools.count(1)

            def dial(self, target: str, lead_id: str | None = None) -> str:
                self.dialled.append(target)
                return f"eng-{next(self._ids)}"

            def hangup(self, call_id: str | None = None) -> None:
                return None

            def answer(self, call_id: str | None = None) -> None:
                return None

        self.now = dt.datetime.now(UTC)
        self.handle = open_cache(folder / "cache.sqlite3")
        self.repo = Repository(self.handle)
        self.store = WorkspaceStore(self.handle)
        self.applier = PageApplier(self.handle)
        self.phone = RecordingPhone()
        self.agent = AgentStateMachine(clock=self.clock)
        self.wrapup = WrapupService(DraftStore(folder / "wrapup-draft.json"), self.store.save_disposition,
                                    self.store.codes_for_lead, clock=self.clock)
        self.power = PowerDialer(countdown_seconds=60)
        self.ctl = WorkspaceController(self.store, self.phone, self.agent, self.wrapup, self.power,
                                       gate=ComplianceGate(clock=self.clock), clock=self.clock)
        self.ctl.dial_blocked.connect(self._on_blocked)
        self.blocked: list[Any] = []
        self.texts = ui_messages.TEXTS
        self.words = ui_messages.text
        self.translated = _translated_sources()
        self.numbers = itertools.count(10_000_000)
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.failed_scenarios: list[str] = []
        self.example = 0

    def clock(self) -> dt.datetime:
        return self.now

    def close(self) -> None:
        self.ctl.shutdown()
        self.handle.close()

    def _on_blocked(self, message: Any) -> None:
        self.blocked.append(message)

    def _number(self) -> str:
        return f"+86139{next(self.numbers):08d}"

    # -- one example --------------------------------------------------------------
    def run(self, sc: Scenario) -> None:
        self.example += 1
        failed_before = len(self.failures)
        try:
            self._run(sc)
        finally:
            if len(self.failures) > failed_before and len(self.failed_scenarios) < 5:
                self.failed_scenarios.append(repr(sc))  # to replay: Campaign(folder).run(<this>)

    def _run(self, sc: Scenario) -> None:
        from PySide6.QtCore import QCoreApplication
        from sqlalchemy import text

        from app.workspace.store import CallStart
        from core.lead_file import LeadInput
        from core.wire import Change, ChangeOp

        rules = sc.rules
        tz = ZoneInfo(rules.tz)
        day = (dt.datetime.now(UTC) + dt.timedelta(days=sc.start_offset_days)).astimezone(tz).date()
        local = dt.datetime.combine(day, dt.time(sc.start_local_minute // 60, sc.start_local_minute % 60,
                                                 sc.start_second), tzinfo=tz)
        self.now = local.astimezone(UTC)
        self.ctl.timezone = rules.tz
        numbers = [self._number() for _ in range(3)]
        world = World(rules, numbers[:sc.phones])
        other = numbers[2]
        cid = self.repo.ensure_campaign(f"property-{self.example}", rules=rules.as_campaign_rules())
        self.repo.upsert_disposition_codes(cid, CODES)
        self.repo.upsert_leads(cid, [LeadInput(f"p{self.example}", "测试客户", tuple(world.numbers))])
        with self.handle.session() as s:
            lead_id = s.execute(text("SELECT id FROM leads WHERE campaign_id = :c"), {"c": cid}).scalar_one()
        for i, (minutes, direction) in enumerate(sc.history):
            when = self.now - dt.timedelta(minutes=minutes)
            self.store.record_call_started(CallStart(f"h{self.example}-{i}", lead_id, None, direction, when),
                                           numbers[0])
            if direction == "out":
                world.attempts.append(when)
        pending: list[Any] = []
        online = True
        self.agent.go_ready()
        for step in sc.steps:
            self.now += dt.timedelta(seconds=step.advance_s)
            # -- what arrives before the dial
            if step.network == "online":
                online = True
            elif step.network == "offline":
                online = False
            if step.sync is not None:
                op, idx, expiry_days = step.sync
                target = other if idx == 2 else world.numbers[min(idx, len(world.numbers) - 1)]
                expires = (dt.datetime.now(UTC) + dt.timedelta(days=expiry_days)).isoformat()
                pending.append(Change("dnc", target, ChangeOp.UPSERT if op == "upsert" else ChangeOp.DELETE,
                                      {"number": target, "reason": "名单方要求", "expires_at": expires}
                                      if op == "upsert" else None))
            if online and pending:
                self.applier.apply_page(pending, f"c{self.example}-{len(pending)}")
                for change in pending:
                    if change.op == ChangeOp.UPSERT:
                        world.server_dnc.add(change.id)
                    else:
                        world.server_dnc.discard(change.id)
                pending = []
            if step.callback_in_min is not None:
                due = self.now + dt.timedelta(minutes=step.callback_in_min)
                with self.handle.write() as s:
                    # A callback as a pulled lead carries it (the server derived it from events).
                    s.execute(text("UPDATE leads SET status = 'callback', next_callback_at = :d "
                                   "WHERE id = :l AND status IN ('new', 'callback')"),
                              {"d": due.replace(tzinfo=None), "l": lead_id})
            if step.mode == "inbound":
                self._inbound(world.numbers[0], step, world)
            with self.handle.session() as s:
                status, cb = s.execute(text("SELECT status, next_callback_at FROM leads WHERE id = :l"),
                                       {"l": lead_id}).one()
            world.callback_at = None if cb is None else dt.datetime.fromisoformat(str(cb)).replace(tzinfo=UTC)
            if step.agent == "pause":
                self.agent.pause(self.agent.pause_reasons[0])
            elif step.agent == "offline":
                self.agent.go_offline()
            # -- the dial
            self._dial(step, sc, world, lead_id, status, other)
            if step.agent == "pause":
                self.agent.resume()
            elif step.agent == "offline":
                self.agent.go_ready()
            QCoreApplication.processEvents()
        with self.handle.write() as s:  # this example's lead leaves the to-do list of the next ones
            s.execute(text("UPDATE leads SET status = 'closed', next_callback_at = NULL WHERE id = :l"),
                      {"l": lead_id})
        QCoreApplication.processEvents()

    def _inbound(self, number: str, step: Step, world: World) -> None:
        from core.phone import mask

        engine_id = f"in-{self.example}-{int(self.now.timestamp())}"
        self.phone.incoming_call.emit(Incoming(engine_id, mask(number), number))
        t = self.now.timestamp()
        self.phone.call_state_changed.emit(CallInfo(engine_id, "answered", "in", 200, t, t, t))
        self.now += dt.timedelta(seconds=40)
        self.phone.call_state_changed.emit(CallInfo(engine_id, "ended", "in", 200, t, t, t, self.now.timestamp()))
        self._wrap_up(True, step.code, number, world)

    def _wrap_up(self, answered: bool, code: str, number: str | None, world: World) -> None:
        draft = self.wrapup.draft
        if draft is None:
            self.failures.append(f"example {self.example}: no wrap-up opened after a call")
            return
        wanted = code if answered else "NO_ANSWER"
        if self.wrapup.rule(wanted) is None:  # a call without a lead gets the app's fallback codes
            wanted = "CONNECTED" if answered else "NO_ANSWER"
        self.wrapup.set_code(wanted)
        saved = self.wrapup.save()
        if saved is None:
            self.failures.append(f"example {self.example}: wrap-up {code} not saved: {self.wrapup.problems()}")
            return
        if answered and code == "DNC" and number is not None:
            world.refused_at.setdefault(number, self.now)

    def _dial(self, step: Step, sc: Scenario, world: World, lead_id: str, status: str, other: str) -> None:
        from core.dialing import DialMode

        self.counts["attempts"] += 1
        self.modes[step.mode] += 1
        if step.mode != "power" and self.power.mode is DialMode.POWER:
            self.ctl.set_mode(DialMode.PREVIEW)  # cancels a running countdown
        before = len(self.phone.dialled)
        self.blocked.clear()
        dial_now = self.now
        if step.mode == "manual":
            target = world.numbers[0]
            ok = self.ctl.dial_number(target.replace("+86", ""))
            expected = oracle(world, dial_now, target, for_lead=True)
        elif step.mode == "manual_other":
            ok = self.ctl.dial_number(other.replace("+86", ""))
            expected = oracle(world, dial_now, other, for_lead=False)
        elif step.mode in ("preview", "callback", "inbound"):
            ok = self.ctl.dial_lead(lead_id)
            expected = oracle(world, dial_now, None, for_lead=True)
            if status in ("done", "closed"):
                expected = expected | {"lead_done"}
        else:  # power: the countdown's end (it runs after a wrap-up saved in power mode), or F5
            if self.power.mode is not DialMode.POWER:
                self.ctl.set_mode(DialMode.POWER)
            if self.power.counting:
                self.power.dial_now()
            else:
                self.ctl.dial_next()
            expected = oracle(world, dial_now, None, for_lead=True)
            if status in ("done", "closed"):
                expected = expected | {"lead_done"}
            elif world.callback_at is not None and world.callback_at > dial_now:
                expected = expected | {"callback_later"}
            ok = len(self.phone.dialled) > before
        if step.agent in ("pause", "offline"):
            expected = expected | {"agent_state"}
        placed = len(self.phone.dialled) > before
        if placed != bool(ok):
            self.failures.append(f"example {self.example}: dial returned {ok} but placed={placed}")
        if placed:
            self.counts["placed"] += 1
            number = self.phone.dialled[-1]
            for_lead = step.mode != "manual_other"
            why = oracle(world, dial_now, number, for_lead=for_lead)
            if "dnc" in why:
                self.counts["placed_to_blocked"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): placed to a blocked number")
            if why & {"hard_window", "window"}:
                self.counts["placed_outside_window"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): placed outside the window "
                                     f"{sorted(why)} at {dial_now.astimezone(ZoneInfo(sc.rules.tz)):%H:%M:%S %Z}")
            if why & {"attempts", "gap"}:
                self.counts["over_limit"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): placed over the limits {sorted(why)}")
            if expected & {"agent_state", "lead_done"}:
                self.counts["placed_when_not_allowed"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): placed despite {sorted(expected)}")
            if for_lead:
                world.attempts.append(dial_now)
            self._end_call(step, number, world)
        else:
            self.counts["refused"] += 1
            message = self.blocked[-1] if self.blocked else None
            explained = self._explained(message)
            if not explained:
                self.counts["refusals_unexplained"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): refusal without a worded reason "
                                     f"{message!r}")
            else:
                self.reasons[self._root_code(message)] += 1
            if not expected:
                self.counts["refused_but_allowed"] += 1
                self.failures.append(f"example {self.example} ({step.mode}): refused ({message}) although the "
                                     f"rules allow the call at {dial_now.astimezone(ZoneInfo(sc.rules.tz))}")

    def _end_call(self, step: Step, number: str, world: World) -> None:
        call = self.ctl.active
        if call is None or call.engine_id is None:
            self.failures.append(f"example {self.example}: the placed call has no engine id")
            return
        t0 = self.now.timestamp()
        if step.answered:
            self.phone.call_state_changed.emit(CallInfo(call.engine_id, "answered", "out", 200, t0, t0, t0 + 3))
            self.now += dt.timedelta(seconds=60)
            self.phone.call_state_changed.emit(CallInfo(call.engine_id, "ended", "out", 200, t0, t0, t0 + 3,
                                                        self.now.timestamp()))
        else:
            self.now += dt.timedelta(seconds=30)
            self.phone.call_state_changed.emit(CallInfo(call.engine_id, "ended", "out", 480, t0, t0, None,
                                                        self.now.timestamp()))
        self._wrap_up(step.answered, step.code, number, world)

    @staticmethod
    def _root_code(message: Any) -> str:
        inner = message.params.get("reason") if message.code == "dial.no_lead_because" else None
        return f"{message.code}/{inner.code}" if inner is not None and hasattr(inner, "code") else message.code

    def _explained(self, message: Any) -> bool:
        if message is None or getattr(message, "code", None) not in self.texts:
            return False
        nested = [v for v in message.params.values() if hasattr(v, "code")]
        if any(v.code not in self.texts for v in nested):
            return False
        sources = [self.texts[message.code], *(self.texts[v.code] for v in nested)]
        return all(src in self.translated for src in sources) and bool(self.words(message).strip())


# ----------------------------------------------------------------------------- running it
def scratch_dir() -> tempfile.TemporaryDirectory:
    """Where the campaign's cache lives: tmpfs when there is one. The cache commits with
    synchronous=FULL and the draft file is fsynced; this campaign is about what is decided,
    not about durability (the crash campaign's subject), and on a shared disk the fsyncs
    alone took ~100 ms per dial."""
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix="seatmate-compliance-",
                                       dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)


def run_campaign(examples: int, seed_value: int, folder: Path) -> Campaign:
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    camp = Campaign(folder)

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=("generate",))
    @given(scenario_strategy())
    def body(sc: Scenario) -> None:
        camp.run(sc)

    try:
        with _no_local_constants():
            body()
    finally:
        camp.close()
    return camp


@contextlib.contextmanager
def _no_local_constants() -> Iterator[None]:
    """Hypothesis (≥ 6.13x) mixes constants found in every loaded local module into what it
    draws, so "seed 15" drew a different campaign depending on which modules earlier tests had
    imported (in CI: 27 calls placed instead of 68). The campaign must be the same for a seed,
    so it draws from Hypothesis's own constants only. (An internal hook: if a later Hypothesis
    renames it, nothing is patched and the campaign still runs.)"""
    from hypothesis.internal.conjecture import providers

    original = getattr(providers, "_get_local_constants", None)
    if original is None:
        yield
        return
    empty = original().__class__()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original


def report(camp: Campaign, examples: int, seed_value: int, seconds: float) -> dict[str, Any]:
    c = camp.counts
    return {
        "examples": examples, "seed": seed_value, "attempts": c["attempts"], "placed": c["placed"],
        "refused": c["refused"], "placed_outside_window": c["placed_outside_window"],
        "placed_to_blocked": c["placed_to_blocked"], "over_limit": c["over_limit"],
        "placed_when_not_allowed": c["placed_when_not_allowed"],
        "refusals_unexplained": c["refusals_unexplained"], "refused_but_allowed": c["refused_but_allowed"],
        "seconds": round(seconds, 1), "modes": dict(camp.modes), "reasons": dict(camp.reasons.most_common()),
        "failures": camp.failures[:20], "failed_scenarios": camp.failed_scenarios,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=4000,
                        help="Hypothesis examples (each 1–6 dials; 4,000 give over 10,000 dial attempts)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "reliability.json")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    load = os.getloadavg()
    started = time.monotonic()
    with scratch_dir() as tmp:
        camp = run_campaign(args.examples, args.seed, Path(tmp))
    rep = report(camp, args.examples, args.seed, time.monotonic() - started)
    for key, value in rep.items():
        print(f"{key}: {value}")
    print(f"loadavg: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    from tests.bench.results import merge_results

    unit = {"seconds": "s"}
    merge_results([{"metric": f"compliance_{k}", "value": rep[k], "unit": unit.get(k, "count")}
                   for k in ("attempts", "placed", "refused", "placed_outside_window", "placed_to_blocked",
                             "over_limit", "refusals_unexplained", "refused_but_allowed", "seconds")]
                  + [{"metric": "compliance_seed", "value": args.seed, "unit": "seed"},
                     {"metric": "compliance_loadavg_1m", "value": round(load[0], 2), "unit": "load"}], args.out)
    bad = sum(rep[k] for k in ("placed_outside_window", "placed_to_blocked", "over_limit",
                               "placed_when_not_allowed", "refusals_unexplained", "refused_but_allowed"))
    return 1 if bad or camp.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
