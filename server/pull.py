"""``GET /sync/pull``: the caller's changes since a cursor, oldest first."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import operator
from collections import defaultdict
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    import json as orjson  # type: ignore[no-redef]

from core.contract import ChangeOp, Entity
from core.timeutil import format_iso
from server import changes, serialize
from server.security import Principal

#: The lead columns of the wire's lead shape (serialize.lead), in the order of _lead_data.
LEAD_COLUMNS = ("id", "campaign_id", "external_id", "name", "gender", "city", "plate", "vehicle", "policy_expiry",
                "last_premium", "source", "priority", "notes", "phones", "status", "assigned_to",
                "next_callback_at", "last_attempt_at", "last_disposition", "updated_at")

# One statement per scope: the change rows in seq order with their lead joined (one primary-key
# probe per row, no IN lists). A text() statement: its columns come back as the driver gives them,
# without SQLAlchemy's per-value result processing (on SQLite that parsed every date and time
# only for serialize to format it again: with the ORM-shaped query and serialize.lead, a page of
# 5,000 leads cost ~170 ms of server CPU; see _lead_data for what replaces them).
_PAGE_SQL = text(
    "SELECT sc.seq, sc.entity, sc.entity_id, sc.op, "
    + ", ".join(f"l.{c}" for c in LEAD_COLUMNS)
    + " FROM sync_changes sc LEFT JOIN leads l"
    "   ON sc.entity = :lead AND sc.op = :upsert AND l.id = sc.entity_id"
    " WHERE sc.scope = :scope AND sc.seq > :cursor ORDER BY sc.seq LIMIT :limit"
)


def scopes_for(p: Principal) -> list[str]:
    if p.role == "admin":
        return [changes.ALL, changes.ADMIN]
    if p.role == "tl":
        return [changes.ALL, changes.team_scope(p.team_id)] if p.team_id else [changes.ALL]
    return [changes.ALL, changes.user_scope(p.user_id)]


def _iso(value: Any) -> str | None:
    """serialize.iso (format_iso, milliseconds) of a raw driver value: a datetime (PostgreSQL) or
    SQLAlchemy's SQLite text ``YYYY-MM-DD HH:MM:SS.ffffff``, cut instead of parsed (same result:
    isoformat(timespec="milliseconds") truncates)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:23]}Z"
        value = dt.datetime.fromisoformat(value)  # another spelling: the slow, exact way
    return format_iso(value)


def _date(value: Any) -> str | None:
    if not value:  # serialize.lead: ``x.policy_expiry.isoformat() if x.policy_expiry else None``
        return None
    if isinstance(value, str):
        return value if len(value) == 10 else dt.date.fromisoformat(value[:10]).isoformat()
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _phones(value: Any) -> list:
    if isinstance(value, str):  # SQLite: the JSON text as stored
        value = orjson.loads(value)
    return list(value or [])


def _lead_data(r: Any) -> dict[str, Any]:
    """serialize.lead's shape from a _PAGE_SQL row (columns 4… are LEAD_COLUMNS).
    tests/server/test_pull_fast.py checks the two agree, value for value, on both backends."""
    return {"id": r[4], "campaign_id": r[5], "external_id": r[6], "name": r[7], "gender": r[8], "city": r[9],
            "plate": r[10], "vehicle": r[11], "policy_expiry": _date(r[12]), "last_premium": r[13],
            "source": r[14], "priority": r[15], "notes": r[16], "phones": _phones(r[17]), "status": r[18],
            "assigned_to": r[19], "next_callback_at": _iso(r[20]), "last_attempt_at": _iso(r[21]),
            "last_disposition": r[22], "updated_at": _iso(r[23])}


def pull(session: Session, p: Principal, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
    # One index range scan per scope, merged here: with ``scope IN (…)`` the database
    # collects every row past the cursor and sorts them before LIMIT, which made
    # each page of a 100,000-lead first pull cost as much as the whole rest.
    per_scope = [
        session.execute(_PAGE_SQL, {"lead": Entity.LEAD.value, "upsert": ChangeOp.UPSERT.value, "scope": scope,
                                    "cursor": cursor, "limit": limit + 1}).all()
        for scope in scopes_for(p)
    ]
    rows = list(itertools.islice(heapq.merge(*per_scope, key=operator.itemgetter(0)), limit + 1))
    has_more = len(rows) > limit
    rows = rows[:limit]
    upsert, lead = ChangeOp.UPSERT.value, Entity.LEAD.value
    # The other entities (a handful per page): their models and serialize's functions.
    wanted: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r[3] == upsert and r[1] != lead and r[1] in serialize.ENTITIES:
            wanted[r[1]].append(r[2])
    loaded: dict[tuple[str, str], dict[str, Any]] = {}
    for entity, ids in wanted.items():
        model, pk, fn = serialize.ENTITIES[entity]
        table = model.__table__
        col = table.c[pk]
        for start in range(0, len(ids), 2000):  # well under SQLite's bound-parameter limit
            for row in session.execute(select(*table.c).where(col.in_(ids[start:start + 2000]))):
                loaded[(entity, str(getattr(row, pk)))] = fn(row)
    out: list[dict[str, Any]] = []
    append = out.append
    for r in rows:
        entity, entity_id, op = r[1], r[2], r[3]
        if op == upsert:
            if entity == lead:
                data = _lead_data(r) if r[4] is not None else None
            else:
                data = loaded.get((entity, entity_id))
            if data is not None:
                append({"entity": entity, "id": entity_id, "op": upsert, "data": data})
                continue
        # Deleted, or gone since the change was written: a tombstone is the truth.
        append({"entity": entity, "id": entity_id, "op": ChangeOp.DELETE.value})
    next_cursor = rows[-1][0] if rows else cursor
    return out, next_cursor, has_more
