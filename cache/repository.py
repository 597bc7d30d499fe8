"""The repository: the only way the app reads and writes the local cache.

(The sync loop's bulk upserts live in ``cache.sync_store``.) Reads return
frozen views (``cache.views``), never ORM objects, and never a full phone
number except from :meth:`Repository.number_for_dial`. Every local effect is
written in one ``handle.write()`` transaction together with its outbox event
(:meth:`Repository.append_event`), so "saved" on screen means durably queued
for the server.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from cache.db import CacheHandle
from cache.first_page import read_page, read_rows
from cache.models import (
    CallRecord,
    Campaign,
    Disposition,
    DispositionCode,
    DoNotCall,
    Lead,
    LeadNote,
    LeadPhone,
    OutboxEvent,
    Script,
    SyncState,
    Target,
)
from cache.views import (
    CallHistoryItem,
    CampaignView,
    DispositionCodeView,
    LeadDetail,
    LeadRow,
    NoteView,
    PhoneView,
    ScriptView,
    TargetsView,
)
from core import phone as phone_mod
from core.contract import CodeGroup, EventType, LeadStatus, OutboxState
from core.timeutil import format_iso, utcnow

if TYPE_CHECKING:  # the lead-file reader (csv…) is only needed when a file is imported
    from core.lead_file import LeadInput

# Namespace for ids the embedded (serverless) mode makes itself: stable, so a
# re-import of the same file finds the same leads.
LOCAL_NS = uuid.UUID("6f1d8a52-2b0e-4c57-9a53-5eaf0c1d2b7e")

# Set while a start-up opener runs on the lead worker (see ``defer_warm_up``).
_DEFER_WARM_UP: contextvars.ContextVar[bool] = contextvars.ContextVar("seatmate_defer_warm_up", default=False)


@contextlib.contextmanager
def defer_warm_up():
    """Within this block :meth:`Repository.warm_up` only records that it was asked for.

    The lead service opens the cache with this set: it shows the first page from
    SQL (:meth:`Repository.first_page_ids`, tens of ms) and builds the search
    index right after (:meth:`Repository.finish_warm_up`), so the index build
    (~0.5 s on 100k leads) is no longer between the agent and the list.
    """
    token = _DEFER_WARM_UP.set(True)
    try:
        yield
    finally:
        _DEFER_WARM_UP.reset(token)


class NotFound(LookupError):
    """The lead/phone/campaign is not (or no longer) in the cache."""


def local_campaign_id(name: str) -> str:
    return "local-" + uuid.uuid5(LOCAL_NS, "campaign:" + name.strip()).hex[:16]


def local_lead_id(campaign_id: str, external_id: str) -> str:
    return "local-" + uuid.uuid5(LOCAL_NS, f"lead:{campaign_id}:{external_id}").hex[:20]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_iso(value, "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _first_page(handle: CacheHandle, tab: str | None, limit: int,
                campaign_id: str | None) -> tuple[int, list[str]]:
    with handle.engine.connect() as conn:
        db = conn.connection.driver_connection
        db.execute("BEGIN")  # one snapshot for the count and the ids
        try:
            return read_page(db, tab, limit, campaign_id)
        finally:
            db.execute("ROLLBACK")


@dataclass(frozen=True)
class UpsertResult:
    inserted: int
    updated: int


def _epoch(value: dt.datetime) -> int:
    """UTC epoch seconds (naive datetimes are UTC, as stored in the cache)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp())


_PROCESSORS: dict[int, tuple[Any, Any]] = {}


def _row_processors(dialect: Any) -> tuple[Any, Any]:
    """The dialect's own str → date / datetime converters for Lead.policy_expiry / next_callback_at."""
    found = _PROCESSORS.get(id(dialect))
    if found is None:
        date_p = Lead.__table__.c.policy_expiry.type.dialect_impl(dialect).result_processor(dialect, None)
        datetime_p = Lead.__table__.c.next_callback_at.type.dialect_impl(dialect).result_processor(dialect, None)
        found = (date_p or (lambda v: v), datetime_p or (lambda v: v))
        _PROCESSORS[id(dialect)] = found
    return found


#: Leads written per executemany batch by ``upsert_leads`` (bounds its memory, not its transaction).
_UPSERT_CHUNK = 5000
#: From this many leads, ``upsert_leads`` journals them in bulk instead of firing the per-row triggers.
_BULK_UPSERT_MIN = 1000


class Repository:
    ROW_CACHE_SIZE = 5000

    def __init__(self, handle: CacheHandle) -> None:
        self.handle = handle
        # Recently shown rows: consecutive keystrokes mostly show the same first page.
        # Kept exact by the index's change journal (see _rows_changed).
        self._row_cache: OrderedDict[str, LeadRow] = OrderedDict()
        self._row_lock = threading.Lock()
        self._index_obj: Any = None
        self._index_lock = threading.Lock()
        self.warm_up_deferred = False

    @property
    def _index(self) -> Any:
        # Created on first use: the first page does not need the index module.
        if self._index_obj is None:
            with self._index_lock:
                if self._index_obj is None:
                    from cache.search_index import LeadIndex

                    self._index_obj = LeadIndex(self.handle.engine, on_change=self._rows_changed)
        return self._index_obj

    @property
    def index_built(self) -> bool:
        """True once searches are answered from the in-memory index (no build on the next call)."""
        return self._index_obj is not None and self._index_obj.built

    def _rows_changed(self, lead_ids: Sequence[str] | None) -> None:
        with self._row_lock:
            if lead_ids is None:
                self._row_cache.clear()
            else:
                for lead_id in lead_ids:
                    self._row_cache.pop(lead_id, None)

    # ------------------------------------------------------------ lead list
    def search_lead_ids(self, text: str = "", tab: str | None = None, campaign_id: str | None = None,
                        source: str | None = None, sort: str = "priority",
                        waiting_since_before: dt.datetime | None = None, limit: int | None = None) -> list[str]:
        """Ids of matching leads in display order.

        ``text`` matches name, pinyin ("zhangsan"), initials ("zs"), plate,
        external id, or the last 4+ digits of a number. ``tab``: "todo" (open,
        no callback), "callbacks" (open with a callback; due/overdue first),
        "done" (done/closed), or None for all. ``sort``: priority, expiry,
        callback, name, recent. ``waiting_since_before``: only new leads never tried that
        reached this device at or before that time (the 48-hour first-contact rule).
        ``limit``: only the first ones.
        """
        before = None if waiting_since_before is None else _epoch(waiting_since_before)
        return self._index.search(text, tab=tab, campaign_id=campaign_id, source=source, sort=sort,
                                  waiting_since_before=before, limit=limit)

    def search_hits(self, text: str = "", tab: str | None = None, campaign_id: str | None = None,
                    source: str | None = None, sort: str = "priority",
                    waiting_since_before: dt.datetime | None = None) -> Sequence[str]:
        """Like :meth:`search_lead_ids`, but the ids are made as they are read (a
        ``cache.search_index.LeadHits``): the lead list's keystrokes pay for the page they
        show, not for every matching id."""
        before = None if waiting_since_before is None else _epoch(waiting_since_before)
        return self._index.hits(text, tab=tab, campaign_id=campaign_id, source=source, sort=sort,
                                waiting_since_before=before)

    def waiting_for_first_contact(self, since_before: dt.datetime) -> int:
        """How many new leads, never tried, reached this device at or before ``since_before``."""
        return self._index.waiting_count(_epoch(since_before))

    def first_page_ids(self, tab: str | None = None, limit: int = 100,
                       campaign_id: str | None = None) -> tuple[int, list[str]]:
        """(total, first ``limit`` ids) of an unfiltered tab, straight from SQL, without the index.

        For the very first screen while :meth:`warm_up` builds the search index
        (~50 ms instead of ~0.5 s on 100k leads). Same order as
        ``search_lead_ids("", tab)`` (default sort), so rows don't jump when the
        full list replaces it.
        """
        return _first_page(self.handle, tab, limit, campaign_id)

    def warm_up(self) -> None:
        """Build the search index now (e.g. on a worker thread at start-up).

        Inside :func:`defer_warm_up` it only records the request; the caller then
        shows a first page and calls :meth:`finish_warm_up`.
        """
        if _DEFER_WARM_UP.get():
            self.warm_up_deferred = True
            return
        self._index.prepare()

    def finish_warm_up(self) -> None:
        """Build the index a deferred :meth:`warm_up` asked for (no-op otherwise). Its pair
        lists are left to :meth:`index_step`, a slice at a time between searches."""
        if self.warm_up_deferred:
            self.warm_up_deferred = False
            self._index.prepare(pairs=False)

    def index_step(self) -> bool:
        """A slice (~10 ms) of the search index's remaining start-up work; True when none is left."""
        return self._index.build_pairs()

    @property
    def index_pending(self) -> bool:
        """True while the search index has work left for :meth:`index_step`."""
        return self._index_obj is not None and self._index_obj.pairs_pending

    def lead_rows(self, ids: Sequence[str]) -> list[LeadRow]:
        """Rows for ``ids`` in the same order; ids no longer in the cache are left out."""
        ids = list(ids)
        if not ids:
            return []
        if not self.index_built:  # no change tracking yet: no caching (and no index build here)
            fetched = self._fetch_rows(ids)
            return [fetched[i] for i in ids if i in fetched]
        self._index.refresh()  # evicts cached rows of leads changed by any writer
        seq = self._index.last_seq
        with self._row_lock:
            found: dict[str, LeadRow] = {}
            for i in ids:
                row = self._row_cache.get(i)
                if row is not None:
                    found[i] = row
                    self._row_cache.move_to_end(i)
        missing = [i for i in ids if i not in found]
        if missing:
            fetched = self._fetch_rows(missing)
            with self._row_lock:
                # Rows read while another thread caught up with a change may be stale: don't keep them.
                if self._index.last_seq == seq:
                    for lead_id, row in fetched.items():
                        self._row_cache[lead_id] = row
                while len(self._row_cache) > self.ROW_CACHE_SIZE:
                    self._row_cache.popitem(last=False)
            found.update(fetched)
        return [found[i] for i in ids if i in found]

    def _fetch_rows(self, ids: list[str]) -> dict[str, LeadRow]:
        # Plain sqlite3 on the pooled connection: a page of 50 rows per keystroke (and per
        # scrolled page on the GUI thread) costs ~1 ms instead of ~4 ms through a Session and
        # Core result processing. Dates go through the dialect's own converters, so the rows
        # are exactly what the ORM would have returned.
        date_of, datetime_of = _row_processors(self.handle.engine.dialect)
        with self.handle.engine.connect() as conn:
            db = conn.connection.driver_connection
            db.execute("BEGIN")  # one snapshot for the phones and the rows, like a read session
            try:
                return read_rows(db, ids, date_of, datetime_of)
            finally:
                db.execute("ROLLBACK")

    def lead_count(self) -> int:
        with self.handle.session() as s:
            return s.scalar(select(func.count()).select_from(Lead)) or 0

    # ---------------------------------------------------------- customer card
    def lead_detail(self, lead_id: str) -> LeadDetail:
        with self.handle.session() as s:
            lead = s.get(Lead, lead_id)
            if lead is None:
                raise NotFound(f"lead {lead_id} is not in the cache")
            phones = list(s.scalars(select(LeadPhone).where(LeadPhone.lead_id == lead_id)
                                    .order_by(LeadPhone.position, LeadPhone.id)))
            numbers = [p.number_e164 for p in phones]
            dnc = set(s.scalars(select(DoNotCall.number_e164).where(DoNotCall.number_e164.in_(numbers))))
            phone_views = []
            for p in phones:
                region, carrier = phone_mod.region_and_carrier(p.number_e164)
                phone_views.append(PhoneView(phone_id=p.id, masked=phone_mod.mask(p.number_e164),
                                             region=region, carrier=carrier, label=p.label,
                                             is_dnc=p.number_e164 in dnc and self._dnc_active(s, p.number_e164)))
            masked_by_phone = {p.id: phone_mod.mask(p.number_e164) for p in phones}
            labels = dict(s.execute(select(DispositionCode.code, DispositionCode.label)
                                    .where(DispositionCode.campaign_id == lead.campaign_id)).all())
            disps = list(s.scalars(select(Disposition).where(Disposition.lead_id == lead_id)
                                   .order_by(Disposition.recorded_at)))
            superseded = {d.supersedes_id for d in disps if d.supersedes_id}
            current = [d for d in disps if d.id not in superseded]
            by_call: dict[str, Disposition] = {}
            loose: list[Disposition] = []
            for d in current:
                if d.call_id:
                    by_call[d.call_id] = d  # latest wins (ordered by recorded_at)
                else:
                    loose.append(d)
            history: list[CallHistoryItem] = []
            for c in s.scalars(select(CallRecord).where(CallRecord.lead_id == lead_id)):
                d = by_call.get(c.id)
                history.append(CallHistoryItem(
                    at=c.dialed_at, call_id=c.id, direction=c.direction,
                    masked_number=masked_by_phone.get(c.phone_id or -1, ""), talk_seconds=c.talk_seconds,
                    sip_status=c.sip_status, disposition_code=d.code if d else None,
                    disposition_label=labels.get(d.code, d.code) if d else None,
                    note=d.note if d else "", callback_at=d.callback_at if d else None))
            for d in loose:
                history.append(CallHistoryItem(
                    at=d.recorded_at, call_id=None, direction="", masked_number="", talk_seconds=0,
                    sip_status=None, disposition_code=d.code, disposition_label=labels.get(d.code, d.code),
                    note=d.note, callback_at=d.callback_at))
            history.sort(key=lambda h: h.at, reverse=True)
            notes = tuple(NoteView(id=n.id, text=n.text, created_at=n.created_at) for n in s.scalars(
                select(LeadNote).where(LeadNote.lead_id == lead_id).order_by(LeadNote.created_at.desc())))
            campaign_name = s.scalar(select(Campaign.name).where(Campaign.id == lead.campaign_id)) or ""
            return LeadDetail(
                id=lead.id, campaign_id=lead.campaign_id, campaign_name=campaign_name,
                external_id=lead.external_id, name=lead.name, gender=lead.gender, city=lead.city,
                plate=lead.plate, vehicle=lead.vehicle, policy_expiry=lead.policy_expiry,
                last_premium=lead.last_premium, source=lead.source, priority=lead.priority,
                notes=lead.notes, status=lead.status, assigned_to=lead.assigned_to,
                next_callback_at=lead.next_callback_at, last_attempt_at=lead.last_attempt_at,
                last_disposition=lead.last_disposition, phones=tuple(phone_views),
                history=tuple(history), agent_notes=notes)

    def number_for_dial(self, phone_id: int) -> str:
        """The full E.164 number for the dialer: the only place it leaves the cache."""
        with self.handle.session() as s:
            number = s.scalar(select(LeadPhone.number_e164).where(LeadPhone.id == phone_id))
        if number is None:
            raise NotFound(f"phone {phone_id} is not in the cache")
        return number

    def lead_for_number(self, number_e164: str) -> str | None:
        """The lead a number belongs to (for incoming calls and `seatmate dial`), or None."""
        with self.handle.session() as s:
            return s.scalar(select(LeadPhone.lead_id).where(LeadPhone.number_e164 == number_e164).limit(1))

    # ------------------------------------------------- campaigns and reference
    def campaigns(self) -> list[CampaignView]:
        with self.handle.session() as s:
            counts = dict(s.execute(select(Lead.campaign_id, func.count()).group_by(Lead.campaign_id)).all())
            return [CampaignView(id=c.id, name=c.name, rules=dict(c.rules or {}), lead_count=counts.get(c.id, 0))
                    for c in s.scalars(select(Campaign).order_by(Campaign.name))]

    def campaign_id_by_name(self, name: str) -> str | None:
        with self.handle.session() as s:
            return s.scalar(select(Campaign.id).where(Campaign.name == name.strip()).limit(1))

    def script_for(self, campaign_id: str) -> ScriptView | None:
        with self.handle.session() as s:
            sc = s.scalars(select(Script).where(Script.campaign_id == campaign_id)
                           .order_by(Script.version.desc(), Script.updated_at.desc()).limit(1)).first()
            if sc is None:
                return None
            return ScriptView(id=sc.id, campaign_id=sc.campaign_id, title=sc.title,
                              body_markdown=sc.body_markdown, version=sc.version)

    def disposition_codes(self, campaign_id: str) -> list[DispositionCodeView]:
        with self.handle.session() as s:
            return [DispositionCodeView(
                code=c.code, label=c.label, group=c.group, requires_callback=c.requires_callback,
                requires_note=c.requires_note, adds_to_dnc=c.adds_to_dnc, closes_lead=c.closes_lead,
                is_conversion=c.is_conversion, sip_codes=tuple(int(x) for x in (c.sip_codes or ())),
                position=c.position)
                for c in s.scalars(select(DispositionCode).where(DispositionCode.campaign_id == campaign_id)
                                   .order_by(DispositionCode.position, DispositionCode.id))]

    def targets(self, scope: str = "default") -> TargetsView:
        """Targets for ``scope`` (a campaign id) falling back to "default", then built-in defaults."""
        with self.handle.session() as s:
            t = s.scalar(select(Target).where(Target.scope == scope)) or s.scalar(
                select(Target).where(Target.scope == "default"))
            if t is None:
                return TargetsView(scope="default", calls_per_day=30, talk_minutes_per_day=50,
                                   conversions_per_month=10)
            return TargetsView(scope=t.scope, calls_per_day=t.calls_per_day,
                               talk_minutes_per_day=t.talk_minutes_per_day,
                               conversions_per_month=t.conversions_per_month)

    def is_dnc(self, number_e164: str) -> bool:
        """True if the number is on an active do-not-call entry. Accepts any spelling of the
        number ("138 1234 5678"): a missed match here would let a blocked customer be called."""
        if not number_e164.startswith("+"):
            try:
                number_e164 = phone_mod.normalise(number_e164)
            except phone_mod.PhoneError:
                pass
        with self.handle.session() as s:
            return self._dnc_active(s, number_e164)

    @staticmethod
    def _dnc_active(s: Session, number_e164: str) -> bool:
        row = s.get(DoNotCall, number_e164)
        return row is not None and (row.expires_at is None or row.expires_at > utcnow())

    # ---------------------------------------------------------------- outbox
    @staticmethod
    def append_event(session: Session, type: str, lead_id: str | None, payload: dict[str, Any],
                     occurred_at: dt.datetime | None = None, event_id: str | None = None) -> str:
        """Queue an event in the caller's write transaction; returns its UUID.

        Call inside ``handle.write()`` together with the event's local effect,
        so both commit (durably) or neither does.
        """
        event_id = event_id or str(uuid.uuid4())
        clean = json.loads(json.dumps(payload, default=_json_default, ensure_ascii=False))
        seq = (session.scalar(select(func.max(OutboxEvent.seq))) or 0) + 1
        session.add(OutboxEvent(id=event_id, seq=seq, type=type, lead_id=lead_id, payload=clean,
                                occurred_at=occurred_at or utcnow(), status=OutboxState.PENDING))
        session.flush()
        return event_id

    def pending_event_count(self) -> int:
        with self.handle.session() as s:
            return s.scalar(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.status == OutboxState.PENDING)) or 0

    def rejected_events(self) -> list[tuple[str, str, str | None, str]]:
        """(event id, type, lead id, reason) of events the server refused: shown, never dropped."""
        with self.handle.session() as s:
            return [(e.id, e.type, e.lead_id, e.reject_reason or "")
                    for e in s.scalars(select(OutboxEvent).where(OutboxEvent.status == OutboxState.REJECTED)
                                       .order_by(OutboxEvent.seq))]

    # --------------------------------------------------------- local actions
    def add_note(self, lead_id: str, text: str) -> str:
        """A note on a lead, with its ``note_added`` event, in one transaction."""
        text = text.strip()
        if not text:
            raise ValueError("empty note")
        with self.handle.write() as s:
            if s.get(Lead, lead_id) is None:
                raise NotFound(f"lead {lead_id} is not in the cache")
            event_id = self.append_event(s, EventType.NOTE_ADDED, lead_id, {"text": text})
            s.add(LeadNote(id=event_id, lead_id=lead_id, text=text))
        return event_id

    # ------------------------------------------------------- bulk (embedded)
    def ensure_campaign(self, name: str, rules: dict | None = None) -> str:
        """Create (or update the rules of) a local campaign named ``name``; returns its id."""
        name = name.strip()
        if not name:
            raise ValueError("a campaign needs a name")
        with self.handle.write() as s:
            cid = s.scalar(select(Campaign.id).where(Campaign.name == name).limit(1))
            if cid is None:
                cid = local_campaign_id(name)
                s.add(Campaign(id=cid, name=name, rules=rules or {}))
            elif rules is not None:
                s.execute(update(Campaign).where(Campaign.id == cid).values(rules=rules, updated_at=utcnow()))
        return cid

    def upsert_leads(self, campaign_id: str, leads: Sequence[LeadInput]) -> UpsertResult:
        """Insert or update leads by (campaign, external id); phones are merged by number.

        Only the imported fields change on re-import: the agent's status,
        callbacks and history stay as they are. Bulk statements (executemany):
        10,000 rows take about a second, not a minute of per-row ORM work. One
        transaction, written in chunks of ``_UPSERT_CHUNK`` leads so a 200,000-row list
        does not hold every row's parameters at once; the search journal gets one row
        per lead instead of the per-row triggers (see ``cache.pull_apply._bulk_journal``).
        """
        from cache.pull_apply import _bulk_journal
        from core.pinyin import name_keys

        now = utcnow()
        lt = Lead.__table__
        inserted = updated = 0
        with self.handle.write() as s:
            existing = dict(s.execute(select(lt.c.external_id, lt.c.id).where(lt.c.campaign_id == campaign_id)).all())
            ids = [existing.get(item.external_id) or local_lead_id(campaign_id, item.external_id) for item in leads]
            journal = list(dict.fromkeys(ids)) if len(ids) >= _BULK_UPSERT_MIN else None
            with _bulk_journal(s.connection(), journal):
                for start in range(0, len(leads), _UPSERT_CHUNK):
                    inserts: list[dict[str, Any]] = []
                    updates: list[dict[str, Any]] = []
                    wanted_phones: dict[str, list[str]] = {}
                    for item, lead_id in zip(leads[start : start + _UPSERT_CHUNK], ids[start : start + _UPSERT_CHUNK],
                                             strict=True):
                        pinyin, initials = name_keys(item.name)
                        fields = dict(name=item.name, name_pinyin=pinyin, name_initials=initials,
                                      gender=item.gender, city=item.city, plate=item.plate, vehicle=item.vehicle,
                                      policy_expiry=item.policy_expiry, last_premium=item.last_premium,
                                      source=item.source, priority=item.priority, notes=item.notes, updated_at=now)
                        if item.external_id not in existing:
                            existing[item.external_id] = lead_id
                            inserts.append(dict(id=lead_id, campaign_id=campaign_id, external_id=item.external_id,
                                                status=LeadStatus.NEW, created_at=now, **fields))
                        else:
                            updates.append(dict(b_id=lead_id, **fields))
                        wanted_phones[lead_id] = list(dict.fromkeys(item.phones))
                    if inserts:
                        s.execute(lt.insert(), inserts)
                    if updates:
                        cols = {k: bindparam(k) for k in updates[0] if k != "b_id"}
                        s.execute(lt.update().where(lt.c.id == bindparam("b_id")).values(cols), updates)
                    self._merge_phones(s, wanted_phones)
                    inserted, updated = inserted + len(inserts), updated + len(updates)
        return UpsertResult(inserted=inserted, updated=updated)

    @staticmethod
    def _merge_phones(s: Session, wanted: dict[str, list[str]]) -> None:
        """Make each lead's numbers exactly ``wanted[lead]`` in that order, keeping existing phone ids."""
        pt = LeadPhone.__table__
        have: dict[str, dict[str, tuple[int, int]]] = {}
        lead_ids = list(wanted)
        for start in range(0, len(lead_ids), 500):
            chunk = lead_ids[start : start + 500]
            for pid, lead_id, number, pos in s.execute(
                select(pt.c.id, pt.c.lead_id, pt.c.number_e164, pt.c.position).where(pt.c.lead_id.in_(chunk))
            ):
                have.setdefault(lead_id, {})[number] = (pid, pos)
        add, move, drop = [], [], []
        for lead_id, numbers in wanted.items():
            current = have.get(lead_id, {})
            for pos, number in enumerate(numbers):
                found = current.pop(number, None)
                if found is None:
                    add.append(dict(lead_id=lead_id, number_e164=number, tail4=number[-4:], label="", position=pos))
                elif found[1] != pos:
                    move.append(dict(b_id=found[0], position=pos))
            drop += [dict(b_id=pid) for pid, _ in current.values()]
        if add:
            s.execute(pt.insert(), add)
        if move:
            s.execute(pt.update().where(pt.c.id == bindparam("b_id")).values(position=bindparam("position")), move)
        if drop:
            s.execute(pt.delete().where(pt.c.id == bindparam("b_id")), drop)

    def upsert_disposition_codes(self, campaign_id: str, codes: Sequence[dict[str, Any]]) -> None:
        """Codes shaped like resources/data/dispositions_demo.json; order = position."""
        with self.handle.write() as s:
            have = {c.code: c for c in s.scalars(select(DispositionCode)
                                                  .where(DispositionCode.campaign_id == campaign_id))}
            for pos, c in enumerate(codes):
                row = have.get(c["code"]) or DispositionCode(campaign_id=campaign_id, code=c["code"])
                row.label = c.get("label", c["code"])
                row.group = str(c.get("group", CodeGroup.CONNECTED))
                for flag in ("requires_callback", "requires_note", "adds_to_dnc", "closes_lead", "is_conversion"):
                    setattr(row, flag, bool(c.get(flag, False)))
                row.sip_codes = [int(x) for x in c.get("sip", c.get("sip_codes", []))]
                row.position = int(c.get("position", pos))
                s.add(row)

    def upsert_script(self, script_id: str, campaign_id: str, title: str, body_markdown: str,
                      version: int = 1) -> None:
        with self.handle.write() as s:
            row = s.get(Script, script_id) or Script(id=script_id, campaign_id=campaign_id)
            row.campaign_id, row.title, row.body_markdown, row.version = campaign_id, title, body_markdown, version
            row.updated_at = utcnow()
            s.add(row)

    def upsert_targets(self, scope: str, calls_per_day: int, talk_minutes_per_day: int,
                       conversions_per_month: int) -> None:
        with self.handle.write() as s:
            row = s.scalar(select(Target).where(Target.scope == scope)) or Target(scope=scope)
            row.calls_per_day, row.talk_minutes_per_day = calls_per_day, talk_minutes_per_day
            row.conversions_per_month = conversions_per_month
            s.add(row)

    def get_state(self, key: str) -> str | None:
        """A sync_state value (cursors, markers; never a secret)."""
        with self.handle.session() as s:
            return s.scalar(select(SyncState.value).where(SyncState.key == key))

    def set_state(self, key: str, value: str) -> None:
        with self.handle.write() as s:
            s.merge(SyncState(key=key, value=value))
