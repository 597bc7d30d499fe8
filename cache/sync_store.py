"""The cache side of sync: apply pulled pages, read and settle the outbox.

Rules this module keeps (DESIGN.md, "Data and the sync contract"):

- One pulled page is applied in ONE write transaction together with the new
  cursor: after a crash the cache holds either the whole page and its cursor,
  or neither, so the page is simply pulled again (every change is an upsert or
  a tombstone, so applying a page twice is harmless).
- The outbox is read in ``seq`` order. ``accepted`` and ``duplicate`` answers
  mark an event acknowledged; ``rejected`` marks it rejected with the server's
  reason. Rejected events stay in the table (the user sees them) and never
  block the queue: only ``pending`` events are ever sent.
- The app shows server state with the agent's own pending events on top: when
  a pulled page overwrites a lead that still has pending events, their local
  effect is applied again (``overlay_pending``).

Bulk writes go through SQLAlchemy Core ``executemany`` (the ORM unit of work is
~10x slower for 100,000 leads).
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cache import models as m
from core.pinyin import name_keys

log = logging.getLogger(__name__)

# sync_state keys
CURSOR = "pull_cursor"
IDENTITY = "identity"
SERVER_URL = "server_url"
DEVICE_ID = "device_id"
LAST_SYNC_AT = "last_sync_at"
CLOCK_OFFSET = "server_clock_offset_s"
MONITOR_PUBLIC_KEY = "monitor_public_key"
SETTING_PREFIX = "setting:"
LAST_USER = "last_username"  # survives logout: who owns what is in this cache

_IN_CHUNK = 500
_CACHE_KIB = 64 * 1024  # page cache of the sync connection while applying a page  # SQLite's variable limit is generous, but big IN lists plan badly


class CacheHandleLike(Protocol):
    """What cache.db.open_cache returns (only what this module uses)."""

    def session(self) -> Any: ...

    def write(self) -> Any: ...


class IdentityConflict(RuntimeError):
    """Another user's unsent events are in this cache; the message is for the user."""


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


@dataclass(frozen=True)
class RejectedEvent:
    """An event the server refused; shown to the user with the reason."""

    id: str
    type: str
    lead_id: str | None
    occurred_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class SettleOutcome:
    acknowledged: int
    rejected: int
    unanswered: int


# -- value conversion --------------------------------------------------------


def parse_datetime(value: Any) -> dt.datetime | None:
    """ISO 8601 (``…Z`` or with an offset) → naive UTC, as every cache column stores it."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def _parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value)[:10])


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def _s(value: Any, limit: int, default: str = "") -> str:
    """A string column value: None becomes the default, too long is cut (never an error)."""
    if value is None:
        return default
    text = str(value)
    return text[:limit]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _chunks(seq: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class SyncStore:
    """All sync reads and writes of one cache. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle

    # -- sync_state ---------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self.handle.session() as s:
            return s.scalar(select(m.SyncState.value).where(m.SyncState.key == key))

    def set_state(self, key: str, value: str | None) -> None:
        with self.handle.write() as s:
            _put_state(s, key, value)

    def cursor(self) -> str | None:
        return self.get_state(CURSOR)

    def reset_cursor(self) -> None:
        self.set_state(CURSOR, None)

    def device_id(self) -> str:
        """A stable id for this installation (made once; the server ties sessions to it)."""
        current = self.get_state(DEVICE_ID)
        if current:
            return current
        with self.handle.write() as s:
            current = s.scalar(select(m.SyncState.value).where(m.SyncState.key == DEVICE_ID))
            if not current:
                current = str(uuid.uuid4())
                _put_state(s, DEVICE_ID, current)
            return current

    def identity_json(self) -> dict[str, Any] | None:
        raw = self.get_state(IDENTITY)
        return json.loads(raw) if raw else None

    def check_switch(self, username: str, server_url: str) -> None:
        """Raise IdentityConflict when another user's (or server's) events are still unsent here.

        Called before logging in: pushing them under someone else's session would
        attribute them to the wrong agent, and dropping them would lose them.
        """
        with self.handle.session() as s:
            if _same_owner(s, username, server_url):
                return
            pending = s.scalar(select(func.count()).select_from(m.OutboxEvent)
                               .where(m.OutboxEvent.status == "pending")) or 0
            owner = s.scalar(select(m.SyncState.value).where(m.SyncState.key == LAST_USER))
        if pending and owner is not None:
            raise IdentityConflict(
                f"{pending} events recorded by {owner} on this computer have not been sent yet; "
                f"{owner} must log in once to send them"
            )

    def save_identity(self, identity: dict[str, Any], server_url: str) -> None:
        """Remember who logged in (never a secret) so the next start works offline.

        A different user or server than last time starts from a clean slate: the
        previous owner's leads and other server data are removed, the cursor reset.
        """
        username = str(identity.get("username") or "")
        with self.handle.write() as s:
            if not _same_owner(s, username, server_url):
                if s.scalar(select(m.SyncState.value).where(m.SyncState.key == LAST_USER)) is not None:
                    pending = s.scalar(select(func.count()).select_from(m.OutboxEvent)
                                       .where(m.OutboxEvent.status == "pending")) or 0
                    if pending:
                        raise IdentityConflict(f"{pending} events of the previous user are not sent yet")
                    _clear_server_data(s)
                _put_state(s, CURSOR, None)
            _put_state(s, IDENTITY, json.dumps(identity, ensure_ascii=False))
            _put_state(s, SERVER_URL, server_url)
            _put_state(s, LAST_USER, username)

    def forget_identity(self) -> None:
        with self.handle.write() as s:
            _put_state(s, IDENTITY, None)

    def settings(self) -> dict[str, Any]:
        """Settings the server sent (key → JSON value)."""
        with self.handle.session() as s:
            rows = s.execute(
                select(m.SyncState.key, m.SyncState.value).where(m.SyncState.key.startswith(SETTING_PREFIX))
            ).all()
        return {k[len(SETTING_PREFIX) :]: json.loads(v) for k, v in rows}

    # -- pull ---------------------------------------------------------------

    def apply_page(self, changes: Sequence[Any], next_cursor: str | None, *,
                   monitor_public_key: str | None = None, server_time: str | None = None,
                   clock_offset_s: float | None = None, prepared: PreparedLeads | None = None) -> ChangeSummary:
        """Apply one pulled page and its cursor in one transaction (all or nothing).

        ``prepared``: ``prepare_leads(changes)``, when the caller made it already."""
        by_entity: dict[str, tuple[list[Any], list[str]]] = {}
        for c in changes:
            ups, dels = by_entity.setdefault(c.entity, ([], []))
            if c.op == "upsert":
                ups.append(c)
            else:
                dels.append(c.id)
        upserted: dict[str, int] = {}
        deleted: dict[str, int] = {}
        lead_ids: set[str] = set()
        setting_keys: set[str] = set()
        with self.handle.write() as s:
            # Big pages insert into a dozen B-trees (leads, phones, their indexes, the
            # search journal) at random positions: a larger page cache for this
            # connection keeps them in memory (SQLite's default is 2 MB).
            s.connection().exec_driver_sql(f"PRAGMA cache_size = -{_CACHE_KIB}")
            # Parents first, then children; deletions of children before parents.
            for entity in ("campaign", "script", "disposition_code", "lead", "dnc", "target", "setting"):
                ups, dels = by_entity.pop(entity, ([], []))
                if not ups and not dels:
                    continue
                applier = _APPLIERS[entity]
                if entity == "lead":
                    _Leads().upsert(s, ups, prepared)
                else:
                    applier.upsert(s, ups)
                applier.delete(s, dels)
                if ups:
                    upserted[entity] = len(ups)
                if dels:
                    deleted[entity] = len(dels)
                if entity == "lead":
                    lead_ids.update(c.id for c in ups)
                    lead_ids.update(dels)
                if entity == "setting":
                    setting_keys.update(c.id for c in ups)
                    setting_keys.update(dels)
            for entity, (ups, dels) in by_entity.items():
                # A newer server may send entities this client does not know yet.
                log.warning("pull: ignoring %d changes of unknown entity %r", len(ups) + len(dels), entity)
            if lead_ids:
                overlay_pending(s, lead_ids)
            _put_state(s, CURSOR, next_cursor)
            _put_state(s, LAST_SYNC_AT, format_datetime(_utcnow()))
            if monitor_public_key:
                _put_state(s, MONITOR_PUBLIC_KEY, monitor_public_key)
            if clock_offset_s is not None:
                _put_state(s, CLOCK_OFFSET, f"{clock_offset_s:.3f}")
        return ChangeSummary(
            upserted, deleted, frozenset(lead_ids) if len(lead_ids) <= 2000 else None, frozenset(setting_keys)
        )

    # -- push ---------------------------------------------------------------

    def pending_count(self) -> int:
        with self.handle.session() as s:
            return s.scalar(
                select(func.count()).select_from(m.OutboxEvent).where(m.OutboxEvent.status == "pending")
            ) or 0

    def pending_batch(self, limit: int, after_seq: int | None = None) -> list[dict[str, Any]]:
        """The oldest pending events, in creation order, in the wire format of the push."""
        q = (
            select(m.OutboxEvent.id, m.OutboxEvent.seq, m.OutboxEvent.type, m.OutboxEvent.occurred_at,
                   m.OutboxEvent.lead_id, m.OutboxEvent.payload)
            .where(m.OutboxEvent.status == "pending")
            .order_by(m.OutboxEvent.seq)
            .limit(limit)
        )
        if after_seq is not None:
            q = q.where(m.OutboxEvent.seq > after_seq)
        with self.handle.session() as s:
            rows = s.execute(q).all()
        return [
            {
                "id": r.id,
                "type": r.type,
                "occurred_at": format_datetime(r.occurred_at),
                "lead_id": r.lead_id,
                "payload": r.payload or {},
                "_seq": r.seq,
            }
            for r in rows
        ]

    def settle(self, sent_ids: Sequence[str], results: Sequence[Any]) -> SettleOutcome:
        """Record the server's answers for one push, in one transaction.

        ``results`` are objects with ``id``, ``status`` and ``reason``. Events
        sent but not answered stay pending (their attempt is counted).
        """
        now = _utcnow()
        acked = [r.id for r in results if r.status in ("accepted", "duplicate")]
        rejected = [r for r in results if r.status == "rejected"]
        with self.handle.write() as s:
            for ids in _chunks(list(sent_ids)):
                s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id.in_(ids))
                    .values(attempts=m.OutboxEvent.attempts + 1, last_attempt_at=now)
                )
            for ids in _chunks(acked):
                s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id.in_(ids), m.OutboxEvent.status == "pending")
                    .values(status="accepted", acknowledged_at=now)
                )
            touched_leads: set[str] = set()
            for r in rejected:
                res = s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id == r.id, m.OutboxEvent.status == "pending")
                    .values(status="rejected", reject_reason=(r.reason or "rejected by the server")[:2000],
                            acknowledged_at=now)
                    .returning(m.OutboxEvent.lead_id)
                )
                lead_id = res.scalar()
                if lead_id:
                    touched_leads.add(lead_id)
            if touched_leads:
                revert_rejected(s, touched_leads)
        unanswered = len(set(sent_ids) - {r.id for r in results})
        return SettleOutcome(len(acked), len(rejected), unanswered)

    def rejected_events(self, limit: int = 500) -> list[RejectedEvent]:
        with self.handle.session() as s:
            rows = s.execute(
                select(m.OutboxEvent.id, m.OutboxEvent.type, m.OutboxEvent.lead_id, m.OutboxEvent.occurred_at,
                       m.OutboxEvent.reject_reason)
                .where(m.OutboxEvent.status == "rejected")
                .order_by(m.OutboxEvent.seq.desc())
                .limit(limit)
            ).all()
        return [RejectedEvent(r.id, r.type, r.lead_id, r.occurred_at, r.reject_reason or "") for r in rows]


def _same_owner(s: Session, username: str, server_url: str) -> bool:
    last = s.scalar(select(m.SyncState.value).where(m.SyncState.key == LAST_USER))
    url = s.scalar(select(m.SyncState.value).where(m.SyncState.key == SERVER_URL))
    return last == username and url == server_url


def _clear_server_data(s: Session) -> None:
    """Remove what the previous owner pulled (customer data first of all)."""
    lead_ids = list(s.scalars(select(m.Lead.id)))
    _Leads().delete(s, lead_ids)
    for model in (m.Script, m.DispositionCode, m.Campaign, m.Target):
        s.execute(delete(model))
    s.execute(delete(m.DoNotCall).where(m.DoNotCall.source == "server"))
    s.execute(delete(m.SyncState).where(m.SyncState.key.startswith(SETTING_PREFIX)))
    s.execute(delete(m.SyncState).where(m.SyncState.key == MONITOR_PUBLIC_KEY))


def _put_state(s: Session, key: str, value: str | None) -> None:
    if value is None:
        s.execute(delete(m.SyncState).where(m.SyncState.key == key))
        return
    stmt = sqlite_insert(m.SyncState).values(key=key, value=value)
    s.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))


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
        _upsert(s, m.Campaign.__table__, [{"id": c, "name": c, "rules": {}, "updated_at": _utcnow()}
                                          for c in sorted(campaign_ids)], ["id"], update_cols=[])


class _Applier(abc.ABC):
    """How one pulled entity kind is written into the cache."""

    @abc.abstractmethod
    def upsert(self, s: Session, changes: list[Any]) -> None: ...

    @abc.abstractmethod
    def delete(self, s: Session, ids: list[str]) -> None: ...


class _Campaigns(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = _utcnow()
        rows = [{"id": c.id, "name": _s(c.data.get("name"), 200, c.id), "rules": c.data.get("rules") or {},
                 "updated_at": now} for c in changes]
        _upsert(s, m.Campaign.__table__, rows, ["id"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            # Children first: SQLite only cascades when foreign_keys is on.
            for model in (m.Script, m.DispositionCode):
                s.execute(delete(model).where(model.campaign_id.in_(chunk)))
            lead_ids = list(s.scalars(select(m.Lead.id).where(m.Lead.campaign_id.in_(chunk))))
            _Leads().delete(s, lead_ids)
            s.execute(delete(m.Campaign).where(m.Campaign.id.in_(chunk)))


class _Scripts(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = _utcnow()
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
                "group": _s(d.get("group"), 20, "connected"),
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
    parsed = parse_datetime(value)
    return None if parsed is None else parsed.isoformat(" ", "microseconds")


def _db_date(value: Any) -> str | None:
    parsed = _parse_date(value)
    return None if parsed is None else parsed.isoformat()


_LEAD_INSERT_COLS = ("id", *_LEAD_UPDATE_COLS, "created_at")
# Plain DB-API executemany: the ORM/Core parameter machinery costs more than SQLite
# itself for 100,000 rows. Column values are converted here exactly as SQLAlchemy would.
_LEAD_UPSERT_SQL = (
    f"INSERT INTO leads ({', '.join(_LEAD_INSERT_COLS)}) VALUES ({', '.join('?' * len(_LEAD_INSERT_COLS))}) "
    f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in _LEAD_UPDATE_COLS)}"
)
_PHONE_INSERT_SQL = "INSERT INTO lead_phones (lead_id, number_e164, tail4, label, position) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class PreparedLeads:
    """Lead rows converted for the database; made off the writing thread (see prepare_leads)."""

    rows: list[tuple]
    phones: list[tuple]
    campaigns: frozenset[str]


def prepare_leads(changes: Sequence[Any]) -> PreparedLeads:
    """Convert pulled lead upserts to DB rows (pinyin keys included). Pure Python, no I/O:
    the sync engine runs it on its prefetch thread while the previous page is written."""
    rows: list[tuple] = []
    phones: list[tuple] = []
    now = _utcnow().isoformat(" ", "microseconds")
    campaigns: set[str] = set()
    for c in changes:
        if c.entity != "lead" or c.op != "upsert":
            continue
        d = c.data
        name = _s(d.get("name"), 100)
        pinyin, initials = name_keys(name)
        campaign_id = str(d["campaign_id"])
        campaigns.add(campaign_id)
        premium = d.get("last_premium")
        assigned = d.get("assigned_to")
        # Order: _LEAD_INSERT_COLS.
        rows.append((
            c.id, campaign_id, _s(d.get("external_id"), 100, c.id), name, pinyin[:300], initials[:50],
            _s(d.get("gender"), 10), _s(d.get("city"), 50), _s(d.get("plate"), 20), _s(d.get("vehicle"), 100),
            _db_date(d.get("policy_expiry")), None if premium in (None, "") else int(premium),
            _s(d.get("source"), 100), int(d.get("priority") or 3), str(d.get("notes") or ""),
            _s(d.get("status"), 20, "new"), None if assigned is None else str(assigned),
            _db_datetime(d.get("next_callback_at")), _db_datetime(d.get("last_attempt_at")),
            d.get("last_disposition"), _db_datetime(d.get("updated_at")) or now, now,
        ))
        for pos, p in enumerate(d.get("phones") or ()):
            number = str(p.get("number") or "") if isinstance(p, dict) else str(p)
            if not number:
                continue
            tail = number[-4:]
            if not tail.isdigit():
                tail = "".join(ch for ch in number if ch.isdigit())[-4:]
            phones.append((c.id, number[:20], tail, _s(p.get("label") if isinstance(p, dict) else "", 30), pos))
    return PreparedLeads(rows, phones, frozenset(campaigns))


#: From this many leads in one page, the per-row search-journal triggers are swapped for
#: one bulk journal insert (the triggers cost more than the rows themselves).
_BULK_JOURNAL_MIN = 1000


class _Leads(_Applier):
    def upsert(self, s: Session, changes: list[Any], prepared: PreparedLeads | None = None) -> None:
        if prepared is None:
            prepared = prepare_leads(changes)
        rows, phones, campaigns = prepared.rows, prepared.phones, prepared.campaigns
        _ensure_campaigns(s, campaigns)
        ids = [r[0] for r in rows]
        existing: set[str] = set()
        # An empty cache (the first pull) has nothing to look up or replace.
        if s.scalar(select(m.Lead.id).limit(1)) is not None:
            for chunk in _chunks(ids):
                existing.update(s.scalars(select(m.Lead.id).where(m.Lead.id.in_(chunk))))
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
                for chunk in _chunks(externals):
                    clash.extend(s.scalars(select(m.Lead.id).where(m.Lead.campaign_id == campaign_id,
                                                                   m.Lead.external_id.in_(chunk))))
            id_set = set(ids)
            clash = [cid for cid in clash if cid not in id_set]
            if clash:
                self.delete(s, clash)
        conn = s.connection()
        with _bulk_journal(conn, ids if len(ids) >= _BULK_JOURNAL_MIN else None):
            conn.exec_driver_sql(_LEAD_UPSERT_SQL, rows)
            # Phones are replaced as a set: the server sends the lead whole.
            stale = [i for i in ids if i in existing]
            for chunk in _chunks(stale):
                s.execute(delete(m.LeadPhone).where(m.LeadPhone.lead_id.in_(chunk)))
            if phones:
                conn.exec_driver_sql(_PHONE_INSERT_SQL, phones)

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            # Local history (notes, dispositions) goes with the lead, as ON DELETE CASCADE says;
            # the outbox keeps every event the agent made (it has no foreign key).
            for model in (m.LeadPhone, m.Callback, m.Disposition, m.LeadNote):
                s.execute(delete(model).where(model.lead_id.in_(chunk)))
            s.execute(update(m.CallRecord).where(m.CallRecord.lead_id.in_(chunk)).values(lead_id=None, phone_id=None))
            s.execute(delete(m.Lead).where(m.Lead.id.in_(chunk)))


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
        conn.exec_driver_sql("INSERT INTO lead_changes (lead_id) VALUES (?)", [(i,) for i in lead_ids])
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


class _Dnc(_Applier):
    def upsert(self, s: Session, changes: list[Any]) -> None:
        now = _utcnow()
        rows = [{"number_e164": _s(c.data.get("number") or c.id, 20), "reason": _s(c.data.get("reason"), 200),
                 "added_at": now, "expires_at": parse_datetime(c.data.get("expires_at")), "source": "server"}
                for c in changes]
        _upsert(s, m.DoNotCall.__table__, rows, ["number_e164"], update_cols=["reason", "expires_at", "source"])

    def delete(self, s: Session, ids: list[str]) -> None:
        for chunk in _chunks(ids):
            s.execute(delete(m.DoNotCall).where(m.DoNotCall.number_e164.in_(chunk)))


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
            _put_state(s, SETTING_PREFIX + key, json.dumps(c.data.get("value"), ensure_ascii=False))

    def delete(self, s: Session, ids: list[str]) -> None:
        for key in ids:
            _put_state(s, SETTING_PREFIX + key, None)


_APPLIERS: dict[str, _Applier] = {
    "campaign": _Campaigns(), "script": _Scripts(), "disposition_code": _Codes(), "lead": _Leads(),
    "dnc": _Dnc(), "target": _Targets(), "setting": _Settings(),
}


# -- pending events on top of server state -------------------------------------


def _pending_by_lead(s: Session, lead_ids: set[str]) -> dict[str, list[Any]]:
    rows = s.execute(
        select(m.OutboxEvent.lead_id, m.OutboxEvent.type, m.OutboxEvent.payload, m.OutboxEvent.occurred_at)
        .where(m.OutboxEvent.status == "pending", m.OutboxEvent.lead_id.is_not(None))
        .order_by(m.OutboxEvent.seq)
    ).all()
    out: dict[str, list[Any]] = {}
    for r in rows:
        if r.lead_id in lead_ids:
            out.setdefault(r.lead_id, []).append(r)
    return out


def overlay_pending(s: Session, lead_ids: set[str]) -> int:
    """Apply the local effect of pending events to leads the server just overwrote.

    The server has not seen these events yet, so its copy of the lead is older
    than what the agent did; the agent must keep seeing their own work.
    Returns the number of leads touched.
    """
    pending = _pending_by_lead(s, lead_ids)
    for lead_id, events in pending.items():
        lead = s.get(m.Lead, lead_id)
        if lead is None:
            continue
        for ev in events:
            apply_local_effect(s, lead, ev.type, ev.payload or {}, ev.occurred_at)
    if pending:
        s.flush()
    return len(pending)


def apply_local_effect(s: Session, lead: m.Lead, type_: str, payload: dict[str, Any],
                       occurred_at: dt.datetime) -> None:
    """The effect of one event on its lead, as the server derives it (server/ is the authority)."""
    if type_ == "call_attempted":
        if lead.last_attempt_at is None or occurred_at > lead.last_attempt_at:
            lead.last_attempt_at = occurred_at
    elif type_ == "disposition_recorded":
        # Mirrors server/events.py: the server derives the lead's state the same way.
        code = payload.get("code")
        row = s.scalar(select(m.DispositionCode).where(m.DispositionCode.campaign_id == lead.campaign_id,
                                                       m.DispositionCode.code == code))
        if lead.last_attempt_at is None or occurred_at > lead.last_attempt_at:
            lead.last_attempt_at = occurred_at
        lead.last_disposition = code
        callback_at = parse_datetime(payload.get("callback_at"))
        if row is not None and row.closes_lead:
            lead.status, lead.next_callback_at = "closed", None
        elif callback_at is not None:
            lead.status, lead.next_callback_at = "callback", callback_at
        elif row is not None and (row.is_conversion or row.group == "connected"):
            lead.status, lead.next_callback_at = "done", None
        # not connected, no callback: the lead stays in its queue as it was
    elif type_ == "callback_scheduled":
        due = parse_datetime(payload.get("due_at"))
        if due is not None and lead.status != "closed":
            lead.status, lead.next_callback_at = "callback", due


def revert_rejected(s: Session, lead_ids: set[str]) -> None:
    """Undo the local effect of rejected events on their leads.

    The cache has no separate copy of the server's lead, so the lead's derived
    fields are recomputed from the newest disposition that was not rejected,
    then pending events are laid on top again.
    """
    rejected_ids = set(
        s.scalars(select(m.OutboxEvent.id).where(m.OutboxEvent.status == "rejected",
                                                 m.OutboxEvent.lead_id.in_(list(lead_ids))))
    )
    for lead_id in lead_ids:
        lead = s.get(m.Lead, lead_id)
        if lead is None:
            continue
        history = s.execute(
            select(m.Disposition).where(m.Disposition.lead_id == lead_id).order_by(m.Disposition.recorded_at.desc())
        ).scalars().all()
        kept = [d for d in history if d.id not in rejected_ids]
        if any(d.id in rejected_ids and d.code == lead.last_disposition for d in history):
            if kept:
                last = kept[0]
                apply_local_effect(s, lead, "disposition_recorded",
                                   {"code": last.code, "callback_at": last.callback_at and format_datetime(last.callback_at)},
                                   last.recorded_at)
            else:
                lead.status, lead.last_disposition, lead.next_callback_at = "new", None, None
    overlay_pending(s, lead_ids)
