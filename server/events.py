"""``POST /sync/push``: validate each event, store it once by id, derive lead state.

Every outcome is per event: a malformed or forbidden event is *rejected with a
reason* and stored as such (a retry gets the same answer), it never fails the
batch. The server is the authority on a lead's status: it is derived here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from core.contract import LEAD_EVENT_TYPES, CallDirection, Entity, EventType, OutboxState, PushStatus
from core.lead_status import CodeFlags, LeadState, after_attempt, after_callback_scheduled, after_disposition
from core.timeutil import naive_utc
from core.wrapup import OUTCOME_MISMATCH, OVERRIDE_REASON_LIMIT, fits
from server import changes, coaching, payload_rules, presence, reclaims
from server.models import (
    Call,
    Campaign,
    Disposition,
    DispositionCode,
    DncEntry,
    Event,
    Lead,
    Presence,
    Recording,
    User,
    utcnow,
)
from server.security import Principal

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
AGENT_STATES = ("ready", "on_call", "wrap_up", "paused", "offline")
# An event dated further ahead than this is refused: client clocks may be off by
# minutes, not days.
MAX_FUTURE = dt.timedelta(hours=12)
MIN_DATE = dt.datetime(2000, 1, 1)
MAX_PAYLOAD_BYTES = 16_000


@dataclass
class Rejection(Exception):
    code: str
    reason: str


def to_utc_naive(value: dt.datetime) -> dt.datetime:
    try:
        return naive_utc(value)
    except (OverflowError, ValueError) as exc:
        raise Rejection("bad_time", "a time is out of range") from exc


class _P(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4000)


def _check_e164(v: str) -> str:
    if not E164.match(v):
        raise ValueError("number_e164 is not an E.164 number")
    return v


class CallAttempted(_P):
    call_id: str = Field(min_length=1, max_length=64)
    number_e164: str
    direction: CallDirection = CallDirection.OUT

    _e164 = field_validator("number_e164")(_check_e164)


class CallEnded(_P):
    call_id: str = Field(min_length=1, max_length=64)
    dialed_at: dt.datetime
    ringing_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime
    sip_status: int | None = Field(default=None, ge=100, le=699)
    talk_seconds: int = Field(default=0, ge=0, le=24 * 3600)


class DispositionRecorded(_P):
    call_id: str | None = Field(default=None, max_length=64)
    code: str = Field(min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=4000)
    callback_at: dt.datetime | None = None
    supersedes: str | None = Field(default=None, max_length=36)
    #: The call's outcome as the agent's app saw it (used when the server has no call_ended for it).
    connected: bool | None = None
    #: The agent chose a code that does not fit the call's outcome (core.wrapup.fits): why.
    override_reason: str | None = Field(default=None, max_length=OVERRIDE_REASON_LIMIT)


class CallbackScheduled(_P):
    callback_id: str = Field(min_length=1, max_length=64)
    due_at: dt.datetime
    note: str | None = Field(default=None, max_length=4000)


class NoteAdded(_P):
    text: str = Field(min_length=1, max_length=4000)


class DncRequested(_P):
    number_e164: str
    reason: str = Field(default="", max_length=200)

    _e164 = field_validator("number_e164")(_check_e164)


class UnscriptedQuestion(_P):
    text: str = Field(min_length=1, max_length=4000)
    script_section: str | None = Field(default=None, max_length=200)
    # Read by the TL's question inbox (server/inbox.py) from the stored payload.
    call_id: str | None = Field(default=None, max_length=64)
    campaign_id: str | None = Field(default=None, max_length=64)


class CoachingScore(_P):
    agent_id: str = Field(min_length=1, max_length=64)
    call_id: str | None = Field(default=None, max_length=64)
    answers: dict[str, Literal["Y", "N", "NA"]] = Field(max_length=100)
    comment: str | None = Field(default=None, max_length=4000)


class AgentStateChanged(_P):
    state: Literal["ready", "on_call", "wrap_up", "paused", "offline"]
    reason: str | None = Field(default=None, max_length=100)


PAYLOADS: dict[str, type[_P]] = {
    EventType.CALL_ATTEMPTED: CallAttempted,
    EventType.CALL_ENDED: CallEnded,
    EventType.DISPOSITION_RECORDED: DispositionRecorded,
    EventType.CALLBACK_SCHEDULED: CallbackScheduled,
    EventType.NOTE_ADDED: NoteAdded,
    EventType.DNC_REQUESTED: DncRequested,
    EventType.UNSCRIPTED_QUESTION: UnscriptedQuestion,
    EventType.COACHING_SCORE: CoachingScore,
    EventType.AGENT_STATE_CHANGED: AgentStateChanged,
}
PAYLOADS.update(coaching.PAYLOADS)  # the coaching events: server/coaching.py
# Types that are about one lead and need it to be the caller's.
LEAD_TYPES = LEAD_EVENT_TYPES


class Envelope(_P):
    id: str
    type: str
    occurred_at: dt.datetime
    lead_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ())) or "event"
    return f"{loc}: {err.get('msg', 'invalid')}"[:300]


#: What apply() reads of a disposition code (core.wrapup.fits and CodeFlags.of take any object
#: with these attributes). Built once: its compiled form is cached with it.
_CODES = select(DispositionCode.code, DispositionCode.label, DispositionCode.group,
                DispositionCode.requires_callback, DispositionCode.requires_note, DispositionCode.adds_to_dnc,
                DispositionCode.closes_lead, DispositionCode.is_conversion).where(
    DispositionCode.campaign_id == bindparam("campaign_id"), DispositionCode.active.is_(True))


class PushContext:
    """Per-batch caches so a batch of 1000 events costs a handful of queries."""

    def __init__(self, session: Session, p: Principal) -> None:
        self.s = session
        self.p = p
        self._codes: dict[str, dict[str, Row]] = {}
        self._campaigns: dict[str, Campaign | None] = {}
        self._leads: dict[str, Lead | None] = {}
        self._calls: dict[str, Call | None] = {}
        self._uploaders: dict[str, str | None] = {}  # call id -> who uploads its recording
        #: This batch's event rows by id, inserted with one executemany at the end of the push
        #: (an ORM object per event was the largest share of a push's server time).
        self.new_events: dict[str, dict[str, Any]] = {}
        #: Calls and dispositions this batch creates, inserted the same way (flush_rows): the
        #: next largest share after the events (~3,300 ORM objects each per 10,000 events).
        #: A new call is a plain namespace: a later call_ended of the batch updates it and a
        #: disposition reads it (who made it, was it answered) as it would the ORM row.
        self.new_calls: dict[str, SimpleNamespace] = {}
        self.new_dispositions: list[dict[str, Any]] = []

    def preload_calls(self, ids: list[str]) -> None:
        """The batch's calls (and who uploads their recordings) in one query each per 900 ids
        (None: not on the server yet)."""
        ids = [i for i in set(ids) if i not in self._calls]
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            with self.s.no_autoflush:
                for call in self.s.execute(select(Call).where(Call.id.in_(chunk))).scalars():
                    self._calls[call.id] = call
                for call_id, user_id in self.s.execute(
                        select(Recording.call_id, Recording.user_id).where(Recording.call_id.in_(chunk))):
                    self._uploaders[call_id] = user_id
            for i in chunk:
                self._calls.setdefault(i, None)
                self._uploaders.setdefault(i, None)

    def uploader(self, call_id: str) -> str | None:
        """Who has started uploading a recording for this call id (None: nobody)."""
        if call_id not in self._uploaders:
            with self.s.no_autoflush:
                rec = self.s.get(Recording, call_id)
            self._uploaders[call_id] = rec.user_id if rec is not None else None
        return self._uploaders[call_id]

    def call(self, call_id: str) -> Call | None:
        """The call row, without flushing the batch: one ``session.get`` per event used to
        autoflush every pending row first (70 % of a 1000-event push). A call made earlier
        in this batch is pending (not in the identity map yet), so it is remembered here."""
        if call_id not in self._calls:
            with self.s.no_autoflush:
                self._calls[call_id] = self.s.get(Call, call_id)
        return self._calls[call_id]

    def add_call(self, call: SimpleNamespace) -> None:
        self.new_calls[call.id] = call
        self._calls[call.id] = call

    def flush_rows(self) -> None:
        """Insert the batch's new calls and dispositions (Core executemany, same transaction).
        At the end of the push, and before anything that reads calls from the database."""
        conn = self.s.connection()
        if self.new_calls:
            conn.execute(Call.__table__.insert(), [vars(c) for c in self.new_calls.values()])
            for call_id in self.new_calls:
                del self._calls[call_id]  # read again as ORM rows if the batch names them again
            self.new_calls = {}
        if self.new_dispositions:
            conn.execute(Disposition.__table__.insert(), self.new_dispositions)
            self.new_dispositions = []

    def preload_leads(self, ids: list[str]) -> None:
        ids = [i for i in set(ids) if i not in self._leads]
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            for lead in self.s.execute(select(Lead).where(Lead.id.in_(chunk))).scalars():
                self._leads[lead.id] = lead
            for i in chunk:
                self._leads.setdefault(i, None)

    def lead(self, lead_id: str | None) -> Lead:
        if not lead_id:
            raise Rejection("lead_required", "this event type needs a lead_id")
        if lead_id not in self._leads:
            self.preload_leads([lead_id])
        lead = self._leads[lead_id]
        if lead is not None and not self.may_write_lead(lead) and self.p.role == "tsr" \
                and reclaims.reclaimed_from(self.s, lead.id, self.p.user_id):
            # Reclaimed while the agent was offline: what they recorded is kept (docs/coaching.md).
            return lead
        if lead is None or not self.may_write_lead(lead):
            # Same answer for "no such lead" and "not yours": no probing other agents' ids.
            raise Rejection("not_your_lead", "lead is not assigned to you")
        return lead

    def may_write_lead(self, lead: Lead) -> bool:
        p = self.p
        if p.role == "admin":
            return True
        if p.role == "tl":
            return lead.team_id is not None and lead.team_id == p.team_id
        return lead.assigned_to == p.user_id

    def codes(self, campaign_id: str) -> dict[str, Row]:
        """The campaign's active codes as plain rows, read in this transaction as before (no
        cache: a code an admin just changed counts at once, on every instance). ORM objects
        for every code of the campaign on every push were 2–9 % of an instance's CPU under
        the floor load (py-spy); the rules read only the columns of _CODES."""
        if campaign_id not in self._codes:
            rows = self.s.connection().execute(_CODES, {"campaign_id": campaign_id})
            self._codes[campaign_id] = {c.code: c for c in rows}
        return self._codes[campaign_id]

    def campaign(self, campaign_id: str) -> Campaign | None:
        if campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = self.s.get(Campaign, campaign_id)
        return self._campaigns[campaign_id]


def _touch(ctx: PushContext, lead: Lead) -> None:
    lead.updated_at = utcnow()
    changes.note_lead(ctx.s, lead)


def _state(lead: Lead) -> LeadState:
    return LeadState(lead.status, lead.next_callback_at, lead.last_disposition, lead.last_attempt_at,
                     lead.state_event_at)


def _derive(lead: Lead, before: LeadState, after: LeadState) -> bool:
    """Write the derived state core.lead_status computed; True when it changed."""
    if after == before:
        return False
    lead.status, lead.next_callback_at = after.status, after.next_callback_at
    lead.last_disposition, lead.last_attempt_at = after.last_disposition, after.last_attempt_at
    lead.state_event_at = after.state_event_at
    return True


def _add_dnc(ctx: PushContext, number: str, reason: str, days: int) -> None:
    now = utcnow()
    expires = now + dt.timedelta(days=max(days, 180))
    row = ctx.s.get(DncEntry, number)
    if row is None:
        ctx.s.add(DncEntry(number=number, reason=reason[:200], added_at=now, expires_at=expires))
    elif row.expires_at is not None and row.expires_at < expires:
        row.expires_at = expires
    changes.note(ctx.s, changes.ALL, Entity.DNC, number)


def _dnc_days(ctx: PushContext, lead: Lead | None) -> int:
    if lead is None:
        return 180
    camp = ctx.campaign(lead.campaign_id)
    try:
        return int(((camp.rules or {}).get("compliance") or {}).get("dnc_min_days", 180)) if camp else 180
    except (TypeError, ValueError):
        return 180


def _call_connected(ctx: PushContext, payload: DispositionRecorded) -> bool | None:
    """Did the disposition's call reach the customer? From the call_ended event of the same call
    (this agent's), else the outcome the app reported; None when nobody knows."""
    if payload.call_id:
        call = ctx.call(payload.call_id)
        if call is not None and call.user_id == ctx.p.user_id:
            return call.answered_at is not None or (call.talk_seconds or 0) > 0
    return payload.connected


def _check_outcome(ctx: PushContext, code: Row, payload: DispositionRecorded) -> None:
    """core.wrapup.fits, the rule the wrap-up panel applies: a code that cannot be true for the
    call's outcome is refused unless the agent overrode it with a reason."""
    if payload.supersedes:
        return
    connected = _call_connected(ctx, payload)
    if connected is None or fits(code, connected) or (payload.override_reason or "").strip():
        return
    if connected:
        why = (f"通话已接通，不能记为「{code.label}」: the call was answered; {code.label} ({code.code}) "
               "is a not-connected result")
    else:
        why = (f"通话未接通，不能记为「{code.label}」: the call was not answered; {code.label} ({code.code}) "
               "needs a connected call")
    raise Rejection(OUTCOME_MISMATCH, why + " and no override reason was given")


def apply(ctx: PushContext, env: Envelope, payload: _P) -> None:
    """Apply one validated event; raises Rejection for rule violations."""
    s, p, at = ctx.s, ctx.p, env.occurred_at
    t = env.type
    if t in LEAD_TYPES:
        lead = ctx.lead(env.lead_id)
    elif env.lead_id:
        lead = ctx.lead(env.lead_id)
    else:
        lead = None

    if isinstance(payload, DispositionRecorded):
        assert lead is not None
        if payload.supersedes:
            bad = payload_rules.supersedes_problem(s, p.user_id, lead.id, payload.supersedes,
                                                   ctx.new_events)
            if bad is not None:
                raise Rejection(*bad)
        if payload.call_id:
            call = ctx.call(payload.call_id)
            bad = payload_rules.call_problem(call.user_id if call is not None else None, p.user_id)
            if bad is not None:
                raise Rejection(*bad)
        code = ctx.codes(lead.campaign_id).get(payload.code)
        if code is None:
            raise Rejection("unknown_code", f"disposition code {payload.code!r} is not used by this campaign")
        if code.requires_callback and payload.callback_at is None:
            raise Rejection("callback_required", f"code {code.code} requires a callback time")
        if code.requires_note and not (payload.note or "").strip():
            raise Rejection("note_required", f"code {code.code} requires a note")
        _check_outcome(ctx, code, payload)
        cb = to_utc_naive(payload.callback_at) if payload.callback_at else None
        ctx.new_dispositions.append(dict(id=env.id, user_id=p.user_id, lead_id=lead.id, call_id=payload.call_id,
                                         code=code.code, is_conversion=code.is_conversion, callback_at=cb,
                                         supersedes=payload.supersedes, occurred_at=at))
        # The derived state: core.lead_status, the rule the agent's cache applies too.
        before = _state(lead)
        _derive(lead, before, after_disposition(before, code.code, CodeFlags.of(code), cb, at))
        if code.adds_to_dnc:
            for ph in lead.phones or []:
                if isinstance(ph, dict) and E164.match(str(ph.get("number", ""))):
                    _add_dnc(ctx, ph["number"], f"disposition {code.code}", _dnc_days(ctx, lead))
        _touch(ctx, lead)
    elif isinstance(payload, CallbackScheduled):
        assert lead is not None
        due = to_utc_naive(payload.due_at)
        before = _state(lead)
        if _derive(lead, before, after_callback_scheduled(before, due, at)):
            _touch(ctx, lead)
    elif isinstance(payload, NoteAdded):
        assert lead is not None
        stamp = at.strftime("%Y-%m-%d %H:%M")
        lead.notes = ((lead.notes + "\n") if lead.notes else "") + f"[{stamp}] {payload.text}"
        _touch(ctx, lead)
    elif isinstance(payload, CallAttempted):
        if lead is not None:
            before = _state(lead)
            if _derive(lead, before, after_attempt(before, at)):
                _touch(ctx, lead)
    elif isinstance(payload, CallEnded):
        call = ctx.call(payload.call_id)
        if call is not None and call.user_id != p.user_id:
            raise Rejection("forbidden", "call_id belongs to another agent")
        if call is None and ctx.uploader(payload.call_id) not in (None, p.user_id):
            # Someone else's recording upload holds this id: reporting the call would hang that
            # recording (and the browser's view of it) on this agent's lead.
            raise Rejection("forbidden", "call_id belongs to another agent")
        answered = to_utc_naive(payload.answered_at) if payload.answered_at else None
        values = dict(user_id=p.user_id, lead_id=lead.id if lead else None,
                      dialed_at=to_utc_naive(payload.dialed_at), answered_at=answered,
                      ended_at=to_utc_naive(payload.ended_at), sip_status=payload.sip_status,
                      talk_seconds=payload.talk_seconds)
        if call is None:
            ctx.add_call(SimpleNamespace(id=payload.call_id, **values))
        else:
            for k, v in values.items():
                setattr(call, k, v)
    elif isinstance(payload, DncRequested):
        _add_dnc(ctx, payload.number_e164, payload.reason or "customer request", _dnc_days(ctx, lead))
    elif isinstance(payload, CoachingScore):
        if p.role not in ("tl", "admin"):
            raise Rejection("forbidden", "only a team leader scores calls")
        agent = s.get(User, payload.agent_id)
        if agent is None or (p.role == "tl" and agent.team_id != p.team_id):
            raise Rejection("forbidden", "agent is not in your team")
    elif isinstance(payload, AgentStateChanged):
        pres = s.get(Presence, p.user_id)
        # Only a newer state wins: an offline backlog must not overwrite live presence.
        if pres is None:
            pres = Presence(user_id=p.user_id, team_id=p.team_id, state=payload.state,
                            reason=payload.reason, since=at, last_seen=at, version=1)
            s.add(pres)
            presence.after_change(s, pres, "offline", None, utcnow())  # the TL's board
        elif at > pres.since and pres.state != payload.state:
            prev_state, prev_call = presence.effective_state(pres, utcnow()), pres.call_id
            pres.state, pres.reason, pres.since = payload.state, payload.reason, at
            pres.version += 1
            presence.after_change(s, pres, prev_state, prev_call, utcnow())  # the TL's board
    elif t in coaching.EVENT_TYPES:
        ctx.flush_rows()  # coaching reads the call it scores: this batch's calls must be in
        try:
            coaching.apply(s, p, env.id, at, payload)
        except coaching.Refused as r:
            raise Rejection(r.code, r.reason) from None
    # unscripted_question: stored for the TL's review; nothing derived.


def parse(raw: Any) -> tuple[str, Envelope | None, _P | None, Rejection | None]:
    """Validate one raw event. Returns (id, envelope, payload, rejection)."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    ev_id = str(raw_id)[:36] if raw_id is not None else ""
    if not isinstance(raw, dict):
        return ev_id, None, None, Rejection("malformed", "event must be a JSON object")
    try:
        ev_id = str(uuid.UUID(str(raw_id)))
    except (ValueError, TypeError, AttributeError):
        return ev_id, None, None, Rejection("malformed", "id must be a UUID")
    try:
        env = Envelope.model_validate(raw)
    except ValidationError as exc:
        return ev_id, None, None, Rejection("malformed", _first_error(exc))
    env.id = ev_id
    dumped = json.dumps(env.payload, default=str)
    if len(dumped) > MAX_PAYLOAD_BYTES:
        return ev_id, env, None, Rejection("too_large", "payload is too large")
    if "\\u0000" in dumped or "\x00" in env.type or "\x00" in (env.lead_id or ""):
        # PostgreSQL text cannot hold NUL; no legitimate event carries one.
        env.payload, env.type, env.lead_id = {}, env.type.replace("\x00", ""), None
        return ev_id, env, None, Rejection("malformed", "NUL characters are not allowed")
    try:
        env.occurred_at = to_utc_naive(env.occurred_at)
    except Rejection as r:
        return ev_id, env, None, r
    model = PAYLOADS.get(env.type)
    if model is None:
        return ev_id, env, None, Rejection("unknown_type", f"unknown event type {env.type[:40]!r}")
    if env.occurred_at > utcnow() + MAX_FUTURE or env.occurred_at < MIN_DATE:
        return ev_id, env, None, Rejection("bad_time", "occurred_at is out of range")
    if payload_rules.too_deep(env.payload):
        env.payload = {}  # never stored raw
        return ev_id, env, None, Rejection("too_deep", f"payload is nested deeper than {payload_rules.MAX_DEPTH} levels")
    try:
        payload = model.model_validate(env.payload)
    except ValidationError as exc:
        return ev_id, env, None, Rejection("malformed", "payload." + _first_error(exc))
    shape = payload_rules.shape_problem(env.type, payload, env.payload)  # unknown fields: refused, not stored
    if shape is not None:
        env.payload = {k: v for k, v in env.payload.items() if k in type(payload).model_fields}
        return ev_id, env, None, Rejection(*shape)
    return ev_id, env, payload, None


def push(session: Session, p: Principal, raw_events: list[Any]) -> list[dict[str, Any]]:
    """One transaction for the batch; the caller commits (after changes.flush)."""
    parsed = [parse(r) for r in raw_events]
    ids = [pid for pid, env, _pl, _rej in parsed if env is not None]
    existing: dict[str, Event] = {}
    for start in range(0, len(ids), 900):
        for ev in session.execute(select(Event).where(Event.id.in_(ids[start:start + 900]))).scalars():
            existing[ev.id] = ev
    ctx = PushContext(session, p)
    ctx.preload_leads([env.lead_id for _i, env, _pl, _r in parsed if env is not None and env.lead_id])
    ctx.preload_calls([cid for _i, env, pl, _r in parsed
                       if env is not None and isinstance(cid := getattr(pl, "call_id", None), str) and cid])
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    received_at = utcnow()
    for ev_id, env, payload, rej in parsed:
        if env is None:
            # Without a valid id there is nothing to store once; answer and move on.
            results.append({"id": ev_id, "status": PushStatus.REJECTED, "reason": rej.reason, "code": rej.code})
            continue
        prior = existing.get(ev_id)
        if prior is not None or ev_id in seen:
            if prior is not None and prior.user_id != p.user_id:
                results.append({"id": ev_id, "status": PushStatus.REJECTED, "code": "id_conflict",
                                "reason": "event id already used by another user"})
            elif prior is not None and prior.status == OutboxState.REJECTED:
                results.append({"id": ev_id, "status": PushStatus.REJECTED, "reason": prior.reason,
                                "code": prior.reason_code})
            else:
                results.append({"id": ev_id, "status": PushStatus.DUPLICATE})
            continue
        seen.add(ev_id)
        if rej is None:
            try:
                # apply() raises every Rejection before it changes anything.
                apply(ctx, env, payload)
            except Rejection as r:
                rej = r
        stored = OutboxState.ACCEPTED if rej is None else OutboxState.REJECTED
        ctx.new_events[ev_id] = dict(id=ev_id, user_id=p.user_id, lead_id=env.lead_id, type=env.type[:40],
                                     occurred_at=env.occurred_at, received_at=received_at, status=stored,
                                     payload=env.payload if rej is None or rej.code != "too_large" else {},
                                     reason=rej.reason if rej else None, reason_code=rej.code if rej else None)
        item: dict[str, Any] = {"id": ev_id, "status": PushStatus.ACCEPTED if rej is None else PushStatus.REJECTED}
        if rej is not None:
            item.update(reason=rej.reason, code=rej.code)
        results.append(item)
    ctx.flush_rows()
    if ctx.new_events:
        # Same transaction as the derived rows; a parallel retry's insert of the same id
        # still fails here with IntegrityError and run_write retries (it then sees "duplicate").
        # Core, not the ORM's bulk insert (which costs ~3x as much per row).
        session.connection().execute(Event.__table__.insert(), list(ctx.new_events.values()))
    return results
