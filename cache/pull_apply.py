"""Applying pulled pages to the cache: one page and its cursor in ONE write transaction.

After a crash the cache holds either the whole page and its cursor, or neither,
so the page is simply pulled again (every change is an upsert or a tombstone,
so applying a page twice is harmless). Leads the page overwrote get the
agent's pending events laid on top again (cache.overlay).

Bulk writes go through SQLAlchemy Core ``executemany`` or plain DB-API
``executemany`` (the ORM unit of work is ~10x slower for 100,000 leads).
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import itertools
import json
import logging
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cache import models as m
from cache.overlay import overlay_pending
from cache.sync_state import (
    CLOCK_OFFSET,
    CURSOR,
    LAST_SYNC_AT,
    MONITOR_PUBLIC_KEY,
    SETTING_PREFIX,
    CacheHandleLike,
    put_state,
    read_state,
)
from core.contract import ENTITY_APPLY_ORDER, ChangeOp, CodeGroup, Entity, LeadStatus
from core.pinyin import name_keys
from core.timeutil import format_iso, parse_iso, utcnow

log = logging.getLogger(__name__)

_IN_CHUNK = 500  # SQLite's variable limit is generous, but big IN lists plan badly
#: sync_state key: the CREATE INDEX statements of leads / lead_phones dropped while a first
#: pull fills an empty cache (a JSON list). Written in the transaction that drops them and
#: removed in the one that creates them again: present exactly while they are missing.
DEFERRED_INDEXES = "deferred_lead_indexes"
#: A first page with fewer leads is not worth dropping indexes for.
_DEFER_MIN_LEADS = 1000
_CACHE_KIB = 64 * 1024  # page cache of the sync connection while applying a page
#: WAL pages between automatic checkpoints on the sync connection: SQLite's default (1000)
#: normally; more while a first pull fills an empty cache (see apply_page).
_WAL_CHECKPOINT_PAGES = 1000
_WAL_CHECKPOINT_PAGES_FIRST_PULL = 8000


@dataclass(frozen=True)
class ChangeSummary:
    """What one pull changed, so each screen refreshes only what it shows."""

    upserted: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    #: Changed lead ids, or None when there were too many to list (reload all).
    lead_ids: frozenset[str] | None = frozenset()
    setting_keys: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.upserted and not self.deleted

    def merged(self, other: ChangeSummary, max_ids: int = 2000) -> ChangeSummary:
        up = dict(self.upserted)
        for k, v in other.upserted.items():
            up[k] = up.get(k, 0) + v
        de = dict(self.deleted)
        for k, v in other.deleted.items():
            de[k] = de.get(k, 0) + v
        ids: frozenset[str] | None
        if self.lead_ids is None or other.lead_ids is None:
            ids = None
        else:
            ids = self.lead_ids | other.lead_ids
            if len(ids) > max_ids:
                ids = None
        return ChangeSummary(up, de, ids, self.setting_keys | other.setting_keys)


# -- value conversion --------------------------------------------------------


def _parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value)[:10])


def _s(value: Any, limit: int, default: str = "") -> str:
    """A string column value: None becomes the default, too long is cut (never an error)."""
    if value is None:
        return default
    text = str(value)
    return text[:limit]


def _chunks(seq: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


# -- applying a page ----------------------------------------------------------


class PageApplier:
    """Writes pulled pages. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle

    def apply_page(self, changes: Sequence[Any], next_cursor: str | None, *,
                   monitor_public_key: str | None = None, server_time: str | None = None,
                   clock_offset_s: float | None = None, prepared: PreparedLeads | None = None,
                   defer_indexes: bool = False) -> ChangeSummary:
        """Apply one pulled page and its cursor in one transaction (all or nothing).

        ``prepared``: ``prepare_leads(changes)``, when the caller made it already.
        ``defer_indexes``: more pages of a first pull follow. Into an empty cache, the
        secondary indexes of leads and lead_phones are then dropped and created once by the
        page applied without it (the last one): one sorted build instead of 100,000 random
        insertions into nine B-trees. A pull that stops early leaves them to
        ``restore_indexes`` (the engine, or open_cache after a crash).

        The commit is not fsynced (``handle.write(durable=False)``): a page lost to a power
        cut is lost with its cursor and pulled again."""
        by_entity: dict[str, tuple[list[Any], list[str]]] = {}
        for c in changes:
            ups, dels = by_entity.setdefault(c.entity, ([], []))
            if c.op == ChangeOp.UPSERT:
                ups.append(c)
            else:
                dels.append(c.id)
        upserted: dict[str, int] = {}
        deleted: dict[str, int] = {}
        lead_ids: set[str] = set()
        setting_keys: set[str] = set()
        with self.handle.write(durable=False) as s:
            # Big pages insert into a dozen B-trees (leads, phones, their indexes, the
            # search journal) at random positions: a larger page cache for this
            # connection keeps them in memory (SQLite's default is 2 MB).
            s.connection().exec_driver_sql(f"PRAGMA cache_size = -{_CACHE_KIB}")
            # A page of random ids rewrites nearly every leaf of the two unique indexes
            # (id; campaign_id + external_id), ~2,000 WAL pages a commit, so with the default
            # every page commit also ran a checkpoint (copy + two fsyncs). While more pages
            # of a first pull follow, checkpoint every ~4 pages instead (a leaf rewritten by
            # each of them is copied once): commits 0.50 -> 0.35 s of wall per 100,000 leads,
            # in-process; the WAL file peaks at ~41 MB instead of ~22 MB. A connection setting,
            # so the last page (and every later pull) puts the default back.
            s.connection().exec_driver_sql(
                f"PRAGMA wal_autocheckpoint = "
                f"{_WAL_CHECKPOINT_PAGES_FIRST_PULL if defer_indexes else _WAL_CHECKPOINT_PAGES}")
            deferred = read_state(s, DEFERRED_INDEXES) is not None
            if (defer_indexes and not deferred and len(by_entity.get(Entity.LEAD, ((), ()))[0]) >= _DEFER_MIN_LEADS
                    and s.scalar(select(m.Lead.id).limit(1)) is None):
                _drop_lead_indexes(s)
                deferred = True
            # Parents first, then children; deletions of children before parents.
            for entity in ENTITY_APPLY_ORDER:
                ups, dels = by_entity.pop(entity, ([], []))
                if not ups and not dels:
                    continue
                applier = _APPLIERS[entity]
                if entity == Entity.LEAD:
                    _Leads().upsert(s, ups, prepared)
                else:
                    applier.upsert(s, ups)
                applier.delete(s, dels)
                if ups:
                    upserted[entity.value] = len(ups)
                if dels:
                    deleted[entity.value] = len(dels)
                if entity == Entity.LEAD:
                    lead_ids.update(c.id for c in ups)
                    lead_ids.update(dels)
                if entity == Entity.SETTING:
                    setting_keys.update(c.id for c in ups)
                    setting_keys.update(dels)
            for entity, (ups, dels) in by_entity.items():
                # A newer server may send entities this client does not know yet.
                log.warning("pull: ignoring %d changes of unknown entity %r", len(ups) + len(dels), entity)
            if lead_ids:
                overlay_pending(s, lead_ids)
            if deferred and not defer_indexes:
                _create_lead_indexes(s)
            put_state(s, CURSOR, next_cursor)
            put_state(s, LAST_SYNC_AT, format_iso(utcnow()))
            if monitor_public_key:
                put_state(s, MONITOR_PUBLIC_KEY, monitor_public_key)
            if clock_offset_s is not None:
                put_state(s, CLOCK_OFFSET, f"{clock_offset_s:.3f}")
        return ChangeSummary(
            upserted, deleted, frozenset(lead_ids) if len(lead_ids) <= 2000 else None, frozenset(setting_keys)
        )

    def restore_indexes(self) -> bool:
        """Create the indexes a first pull deferred, if it stopped before its last page."""
        with self.handle.session() as s:
            if read_state(s, DEFERRED_INDEXES) is None:
                return False
        with self.handle.write() as s:
            return _create_lead_indexes(s)


def _drop_lead_indexes(s: Session) -> None:
    conn = s.connection()
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('leads', 'lead_phones') "
        "AND sql IS NOT NULL"  # not the automatic ones (primary key, unique constraints): those stay
    ).all()
    for name, _sql in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    put_state(s, DEFERRED_INDEXES, json.dumps([sql for _name, sql in found]))
    log.info("first pull into an empty cache: %d lead indexes deferred to its last page", len(found))


def _create_lead_indexes(s: Session) -> bool:
    raw = read_state(s, DEFERRED_INDEXES)
    if raw is None:
        return False
    conn = s.connection()
    for sql in json.loads(raw):
        # IF NOT EXISTS: a schema migration run in between (open_cache migrates first) may
        # have created some of them already.
        conn.exec_driver_sql(re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX IF NOT EXISTS ", sql))
    put_state(s, DEFERRED_INDEXES, None)
    return True


def restore_deferred_indexes(handle: CacheHandleLike) -> bool:
    """open_cache: a first pull killed half-way left the lead indexes dropped; create them."""
    return PageApplier(handle).restore_indexes()


def clear_server_data(s: Session) -> None:
    """Remove what the previous owner pulled (customer data first of all)."""
    lead_ids = list(s.scalars(select(m.Lead.id)))
    delete_leads(s, lead_ids)
    for model in (m.Script, m.DispositionCode, m.Campaign, m.Target):
        s.execute(delete(model))
    s.execute(delete(m.DoNotCall).where(m.DoNotCall.source == "server"))
    s.execute(delete(m.SyncState).where(m.SyncState.key.startswith(SETTING_PREFIX)))
    s.execute(delete(m.SyncState).where(m.SyncState.key.in_((MONITOR_PUBLIC_KEY, SIP_ACCOUNT_STATE))))


def delete_leads(s: Session, ids: list[str]) -> None:
    """Remove leads with their local history (notes, dispositions, callbacks), as ON DELETE
    CASCADE says; calls keep their record without the lead; the outbox keeps every event
    the agent made (it has no foreign key)."""
    for chunk in _chunks(ids):
        for model in (m.LeadPhone, m.Callback, m.Disposition, m.LeadNote):
            s.execute(delete(model).where(model.lead_id.in_(chunk)))
        s.execute(update(m.CallRecord).where(m.CallRecord.lead_id.in_(chunk)).values(lead_id=None, phone_id=None))
        s.execute(delete(m.Lead).where(m.Lead.id.in_(chunk)))


# -- per-entity appliers -----------------------------------------------------


def _upsert(s: Session, table: Any, rows: list[dict[str, Any]], keys: Sequence[str],
            update_cols: Sequence[str] | None = None) -> None:
    if not rows:
        return
    stmt = sqlite_insert(table)
    cols = update_cols if update_cols is not None else [c for c in rows[0] if c not in keys]
    if cols:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    s.execute(stmt, rows)


def _ensure_campaigns(s: Session, campaign_ids: set[str]) -> None:
    """A child can arrive before its campaign (or the campaign is out of scope):
    keep the row with a placeholder campaign rather than refuse the whole page."""
    if campaign_ids:
        _upsert(s, m.Campaign.__table__, [{"id": c, "name": c, "rules": {}, "updated_at": utcnow()}
                                          for c in sorted(campaign_ids)], ["id"], update_cols=[])


class _Applier(abc.ABC):
    """How one pulled entity kind is written into the cache."""

    @abc.abstractmethod
    def upsert(self, s: Session, changes: list[Any]) -> None: ...

    @abc.abstractmethod
    def delete(self, s: Session, ids: list[str]) -> None: ...


class _Campaigns(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = utcnow()
        rows = [{"id": c.id, "name": _s(c.data.get("name"), 200, c.id), "rules": c.data.get("rules") or {},
                 "updated_at": now} for c in changes]
        _upsert(s, m.Campaign.__table__, rows, ["id"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            # Children first: SQLite only cascades when foreign_keys is on.
            for model in (m.Script, m.DispositionCode):
                s.execute(delete(model).where(model.campaign_id.in_(chunk)))
            lead_ids = list(s.scalars(select(m.Lead.id).where(m.Lead.campaign_id.in_(chunk))))
            delete_leads(s, lead_ids)
            s.execute(delete(m.Campaign).where(m.Campaign.id.in_(chunk)))


class _Scripts(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = utcnow()
        rows = [{"id": c.id, "campaign_id": str(c.data["campaign_id"]), "title": _s(c.data.get("title"), 200),
                 "body_markdown": c.data.get("body_markdown") or "", "version": int(c.data.get("version") or 1),
                 "updated_at": now} for c in changes]
        _ensure_campaigns(s, {r["campaign_id"] for r in rows})
        _upsert(s, m.Script.__table__, rows, ["id"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            s.execute(delete(m.Script).where(m.Script.id.in_(chunk)))


def _code_key(change_id: str, data: dict[str, Any] | None) -> tuple[str, str]:
    if data and data.get("campaign_id") is not None and data.get("code") is not None:
        return str(data["campaign_id"]), str(data["code"])
    campaign, _, code = change_id.rpartition(":")
    return campaign, code


class _Codes(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        rows = []
        for c in changes:
            d = c.data
            campaign, code = _code_key(c.id, d)
            rows.append({
                "campaign_id": campaign, "code": _s(code, 40), "label": _s(d.get("label"), 100, code),
                "group": _s(d.get("group"), 20, CodeGroup.CONNECTED),
                "requires_callback": bool(d.get("requires_callback")), "requires_note": bool(d.get("requires_note")),
                "adds_to_dnc": bool(d.get("adds_to_dnc")), "closes_lead": bool(d.get("closes_lead")),
                "is_conversion": bool(d.get("is_conversion")), "sip_codes": list(d.get("sip") or []),
                "position": int(d.get("position") or 0),
            })
        _ensure_campaigns(s, {r["campaign_id"] for r in rows})
        _upsert(s, m.DispositionCode.__table__, rows, ["campaign_id", "code"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for cid in ids:
            campaign, code = _code_key(cid, None)
            s.execute(delete(m.DispositionCode).where(m.DispositionCode.campaign_id == campaign,
                                                      m.DispositionCode.code == code))


_LEAD_UPDATE_COLS = (
    "campaign_id", "external_id", "name", "name_pinyin", "name_initials", "gender", "city", "plate", "vehicle",
    "policy_expiry", "last_premium", "source", "priority", "notes", "status", "assigned_to", "next_callback_at",
    "last_attempt_at", "last_disposition", "updated_at",
)


def _db_datetime(value: Any) -> str | None:
    """ISO from the server → the text SQLAlchemy's SQLite DateTime stores ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    if value is None:
        return None
    if type(value) is str and len(value) == 24 and value[10] == "T" and value[23] == "Z" and value[19] == ".":
        # The server's own format ("2026-11-25T08:00:00.123Z"): no parsing needed.
        return f"{value[:10]} {value[11:23]}000"
    parsed = parse_iso(value)
    return None if parsed is None else parsed.isoformat(" ", "microseconds")


def _db_date(value: Any) -> str | None:
    parsed = _parse_date(value)
    return None if parsed is None else parsed.isoformat()


_LEAD_INSERT_COLS = ("id", *_LEAD_UPDATE_COLS, "created_at")
# Plain DB-API executemany: the ORM/Core parameter machinery costs more than SQLite
# itself for 100,000 rows. Column values are converted here exactly as SQLAlchemy would.
_LEAD_INSERT_HEAD = f"INSERT INTO leads ({', '.join(_LEAD_INSERT_COLS)}) VALUES "
_LEAD_UPSERT_TAIL = f" ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in _LEAD_UPDATE_COLS)}"
_PHONE_INSERT_HEAD = "INSERT INTO lead_phones (lead_id, number_e164, tail4, label, position) VALUES "
#: Rows per INSERT statement of a page (``_insert_many``).
_ROWS_PER_STATEMENT = 50


def _insert_many(conn: Any, head: str, tail: str, rows: Sequence[tuple]) -> None:
    """``head`` + VALUES + ``tail`` for ``rows`` (tuples of the same width), as multi-row
    statements of ``_ROWS_PER_STATEMENT`` rows each.

    Python's sqlite3 releases the GIL around every statement step and takes it back after:
    with one row per step, a 100,000-lead pull handed the GIL over 200,000 times, and each
    time the prefetch thread (parsing the next page) held it, the writer waited up to a
    switch interval for it. Fifty rows per step: 50x fewer hand-overs and less CPU (one
    statement run per 50 rows). Measured on 100,000 leads, one thread: 1.20-1.25 s → 1.06-1.12 s
    of CPU; next to a thread that always wants the GIL: 18-45 s → 8-15 s of wall time. Rows
    go in in order, one after the other, as with executemany: ON CONFLICT sees a row inserted
    earlier in the same statement."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    k = _ROWS_PER_STATEMENT
    full = len(rows) - len(rows) % k
    chain = itertools.chain.from_iterable
    if full:
        conn.exec_driver_sql(f"{head}{', '.join([one] * k)}{tail}",
                             [tuple(chain(rows[i:i + k])) for i in range(0, full, k)])
    if full < len(rows):
        rest = rows[full:]
        conn.exec_driver_sql(f"{head}{', '.join([one] * len(rest))}{tail}", tuple(chain(rest)))


@dataclass(frozen=True)
class PreparedLeads:
    """Lead rows converted for the database; made off the writing thread (see prepare_leads)."""

    rows: list[tuple]
    phones: list[tuple]
    campaigns: frozenset[str]


#: The lead fields prepare_leads reads, all at once (``operator.itemgetter``: one C call
#: instead of 19 ``dict.get`` calls per lead; a lead without one of them takes ``dict.get``).
_LEAD_FIELDS = ("name", "external_id", "gender", "city", "plate", "vehicle", "policy_expiry", "last_premium",
                "source", "priority", "notes", "status", "assigned_to", "next_callback_at", "last_attempt_at",
                "last_disposition", "updated_at", "phones")
_lead_fields = operator.itemgetter(*_LEAD_FIELDS)


def prepare_leads(changes: Sequence[Any]) -> PreparedLeads:
    """Convert pulled lead upserts to DB rows (pinyin keys included). Pure Python, no I/O:
    the sync engine runs it on the sync thread while the server makes the next page."""
    rows: list[tuple] = []
    phones: list[tuple] = []
    now = utcnow().isoformat(" ", "microseconds")
    campaigns: set[str] = set()
    lead, upsert = Entity.LEAD, ChangeOp.UPSERT
    for c in changes:
        if c.entity != lead or c.op != upsert:
            continue
        d = c.data
        try:
            (name, external, gender, city, plate, vehicle, expiry, premium, source, priority, notes, status,
             assigned, callback_at, attempt_at, disposition, updated, phone_list) = _lead_fields(d)
        except KeyError:  # a field missing (an older server, a partial lead): None, as before
            get = d.get
            (name, external, gender, city, plate, vehicle, expiry, premium, source, priority, notes, status,
             assigned, callback_at, attempt_at, disposition, updated, phone_list) = [get(k) for k in _LEAD_FIELDS]
        # ``_s(v, limit)`` inlined for the usual case, a short string (one call less per
        # column: a fifth of this loop); anything else still goes through _s.
        if type(name) is not str or len(name) > 100:
            name = _s(name, 100)
        pinyin, initials = name_keys(name)
        campaign_id = str(d["campaign_id"])
        campaigns.add(campaign_id)
        # Order: _LEAD_INSERT_COLS.
        rows.append((
            c.id, campaign_id, _s(external, 100, c.id), name, pinyin[:300], initials[:50],
            gender if type(gender) is str and len(gender) <= 10 else _s(gender, 10),
            city if type(city) is str and len(city) <= 50 else _s(city, 50),
            plate if type(plate) is str and len(plate) <= 20 else _s(plate, 20),
            vehicle if type(vehicle) is str and len(vehicle) <= 100 else _s(vehicle, 100),
            # The server's date ("2027-01-31") checked and kept; anything else normalised.
            expiry if type(expiry) is str and len(expiry) == 10 and expiry[4] == expiry[7] == "-"
            and dt.date.fromisoformat(expiry) else _db_date(expiry),
            None if premium in (None, "") else int(premium),
            source if type(source) is str and len(source) <= 100 else _s(source, 100),
            int(priority or 3), str(notes or ""),
            status if type(status) is str and len(status) <= 20 else _s(status, 20, LeadStatus.NEW),
            None if assigned is None else str(assigned),
            None if callback_at is None else _db_datetime(callback_at),  # mostly None
            None if attempt_at is None else _db_datetime(attempt_at),
            disposition, _db_datetime(updated) or now, now,
        ))
        if not phone_list:
            continue
        if not isinstance(phone_list, (list, tuple)):  # a string would be stored digit by digit
            raise TypeError("lead phones is not a list")
        for pos, p in enumerate(phone_list):
            number = str(p.get("number") or "") if isinstance(p, dict) else str(p)
            if not number:
                continue
            tail = number[-4:]
            if not tail.isdigit():
                tail = "".join(ch for ch in number if ch.isdigit())[-4:]
            label = p.get("label") if isinstance(p, dict) else ""
            phones.append((c.id, number[:20], tail,
                           label if type(label) is str and len(label) <= 30 else _s(label, 30), pos))
    return PreparedLeads(rows, phones, frozenset(campaigns))


#: From this many leads in one page, the per-row search-journal triggers are swapped for
#: one bulk journal insert (the triggers cost more than the rows themselves).
_BULK_JOURNAL_MIN = 1000


def _ids_in(conn: Any, sql: str, values: Sequence[str], *first: Any) -> list[str]:
    """``sql`` ends in ``IN``: run it for all ``values`` at once, the parameters after ``first``.

    The values go in as one JSON array that SQLite unpacks itself (``json_each``; the plan
    is one primary-key or unique-index probe per value): one statement, one step without
    the GIL, per page instead of ten of 500 bound parameters each. Measured: the same
    ~0.2 s of CPU per 100,000 pulled leads (the probes themselves), with fewer GIL
    hand-overs. (Lead rows themselves through json_each cost ~2x executemany's CPU on
    SQLite 3.40: see _insert_many for what they use.)"""
    if not values:
        return []
    payload = json.dumps(list(values), ensure_ascii=False)
    return [r[0] for r in conn.exec_driver_sql(f"{sql} (SELECT value FROM json_each(?))", (*first, payload))]


class _Leads(_Applier):
    def upsert(self, s: Session, changes: list[Any], prepared: PreparedLeads | None = None) -> None:
        if prepared is None:
            prepared = prepare_leads(changes)
        rows, phones, campaigns = prepared.rows, prepared.phones, prepared.campaigns
        _ensure_campaigns(s, campaigns)
        ids = [r[0] for r in rows]
        existing: set[str] = set()
        # An empty cache (the first pull) has nothing to look up or replace.
        conn = s.connection()
        if s.scalar(select(m.Lead.id).limit(1)) is not None:
            # Plain SQL: SQLAlchemy compiling these IN lists (20 per page) cost more than
            # running them (~0.4 s of CPU per 100,000 pulled leads).
            existing.update(_ids_in(conn, "SELECT id FROM leads WHERE id IN", ids))
            # external_id is unique per campaign: a lead re-created on the server under a
            # new id replaces the old local row instead of failing the page.
            by_campaign: dict[str, list[str]] = {}
            for r in rows:
                if r[0] not in existing:
                    by_campaign.setdefault(r[1], []).append(r[2])
            clash: list[str] = []
            for campaign_id, externals in by_campaign.items():
                # campaign_id = ? AND external_id IN (…) walks the unique index; a row-value
                # IN would scan the whole table once per chunk.
                clash.extend(_ids_in(conn, "SELECT id FROM leads WHERE campaign_id = ? AND external_id IN",
                                     externals, campaign_id))
            id_set = set(ids)
            clash = [cid for cid in clash if cid not in id_set]
            if clash:
                self.delete(s, clash)
        with _bulk_journal(conn, ids if len(ids) >= _BULK_JOURNAL_MIN else None):
            _insert_many(conn, _LEAD_INSERT_HEAD, _LEAD_UPSERT_TAIL, rows)
            # Phones are replaced as a set: the server sends the lead whole.
            stale = [i for i in ids if i in existing]
            for chunk in _chunks(stale):
                s.execute(delete(m.LeadPhone).where(m.LeadPhone.lead_id.in_(chunk)))
            _insert_many(conn, _PHONE_INSERT_HEAD, "", phones)

    def delete(self, s: Session, ids: list[str]) -> None:
        delete_leads(s, ids)


@contextlib.contextmanager
def _bulk_journal(conn: Any, lead_ids: list[str] | None) -> Iterator[None]:
    """Journal ``lead_ids`` once each in ``lead_changes`` instead of firing the
    per-row triggers (migration 0002) for every lead and phone row.

    Inside our write transaction: the triggers are dropped, the rows written,
    the journal filled in bulk and the triggers re-created from their own SQL,
    all committed (or rolled back) together; no other writer can slip in between.
    """
    if not lead_ids:
        yield
        return
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('leads', 'lead_phones')"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    if triggers:
        _insert_many(conn, "INSERT INTO lead_changes (lead_id) VALUES ", "", [(i,) for i in lead_ids])
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


class _Dnc(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = utcnow()
        rows = [{"number_e164": _s(c.data.get("number") or c.id, 20), "reason": _s(c.data.get("reason"), 200),
                 "added_at": now, "expires_at": parse_iso(c.data.get("expires_at")), "source": "server"}
                for c in changes]
        # The agent's own refusal stays "local" (see delete: the server may withdraw only what it
        # sent); the server's entry can only make it last longer.
        local: dict[str, Any] = {}
        for chunk in _chunks([r["number_e164"] for r in rows]):
            local.update((number, expires) for number, expires in s.execute(
                select(m.DoNotCall.number_e164, m.DoNotCall.expires_at).where(
                    m.DoNotCall.number_e164.in_(chunk), m.DoNotCall.source == "local")))
        for r in rows:
            if r["number_e164"] in local:
                mine, theirs = local[r["number_e164"]], r["expires_at"]
                if mine is not None and (theirs is None or theirs.replace(tzinfo=None) > mine):
                    s.execute(update(m.DoNotCall).where(m.DoNotCall.number_e164 == r["number_e164"])
                              .values(expires_at=None if theirs is None else theirs.replace(tzinfo=None)))
        rows = [r for r in rows if r["number_e164"] not in local]
        _upsert(s, m.DoNotCall.__table__, rows, ["number_e164"], update_cols=["reason", "expires_at", "source"])

    def delete(self, s: Session, ids: list[str]) -> None:
        # Only what the server sent may be withdrawn by it: the agent's own 拒绝再联系 (source
        # "local", not yet echoed back by the server) keeps blocking at once, whatever an older
        # server change says (the regulation's "stops calls at once", ../shared/DESIGN.md).
        for chunk in _chunks(ids):
            s.execute(delete(m.DoNotCall).where(m.DoNotCall.number_e164.in_(chunk), m.DoNotCall.source != "local"))


class _Targets(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        rows = []
        for c in changes:
            d = c.data
            rows.append({"scope": _s(d.get("scope") or c.id, 64), "calls_per_day": int(d.get("calls_per_day") or 0),
                         "talk_minutes_per_day": int(d.get("talk_minutes_per_day") or 0),
                         "conversions_per_month": int(d.get("conversions_per_month") or 0)})
        _upsert(s, m.Target.__table__, rows, ["scope"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            s.execute(delete(m.Target).where(m.Target.scope.in_(chunk)))


class _Settings(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        for c in changes:
            key = str(c.data.get("key") or c.id)
            put_state(s, SETTING_PREFIX + key, json.dumps(c.data.get("value"), ensure_ascii=False))

    def delete(self, s: Session, ids: list[str]) -> None:
        for key in ids:
            put_state(s, SETTING_PREFIX + key, None)


SIP_ACCOUNT_STATE = "sip_account"  # the provisioned SIP account, without its password (sync state)


class _SipAccount(_Applier):
    """The caller's provisioned SIP account, as pulled minus the password (the sync layer
    took that to the keyring: sync/sip_provisioning.py). A password that still arrives
    here is dropped, never stored."""

    def upsert(self, s: Session, changes: list[Any]) -> None:
        for c in changes:
            data = {k: v for k, v in (c.data or {}).items() if k != "password"}
            put_state(s, SIP_ACCOUNT_STATE, json.dumps(data, ensure_ascii=False))

    def delete(self, s: Session, ids: list[str]) -> None:
        if ids:
            put_state(s, SIP_ACCOUNT_STATE, None)


_APPLIERS: dict[str, _Applier] = {
    Entity.SIP_ACCOUNT: _SipAccount(),
    Entity.CAMPAIGN: _Campaigns(), Entity.SCRIPT: _Scripts(), Entity.DISPOSITION_CODE: _Codes(),
    Entity.LEAD: _Leads(), Entity.DNC: _Dnc(), Entity.TARGET: _Targets(), Entity.SETTING: _Settings(),
}


__all__ = ["DEFERRED_INDEXES", "ChangeSummary", "PageApplier", "PreparedLeads", "clear_server_data", "delete_leads",
           "prepare_leads", "restore_deferred_indexes"]
