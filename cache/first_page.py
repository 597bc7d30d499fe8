"""The lead list's first page in plain SQL: shared by the repository and the start-up peek.

Start-up shows the first page of the default tab before the cache is opened:
opening it means importing SQLAlchemy and the ORM models (~0.3 s on a busy 2-core
PC), all of which the first screen does not need. :func:`peek` reads the page
straight from the file with the standard ``sqlite3`` module, read-only, only
when the file is at the current schema revision (anything else — no file, an
older schema, damage — answers None and the normal path shows the page a moment
later). Nothing here writes: the cache's checks, repairs and migrations still run
before anything is written, and the full list replaces this page once the index
is built.

The SQL (the tab's filter, the index's default order, the row's columns) lives
here once; :class:`cache.repository.Repository` runs the same statements.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cache.lead_order import DONE_STATUSES, NEVER, TABS
from cache.schema_head import HEAD_REVISION
from cache.views import LeadRow
from core.contract import LeadStatus
from core.phone import mask

log = logging.getLogger(__name__)

_PHONES_SQL = ("SELECT lead_id, number_e164 FROM lead_phones WHERE lead_id IN ({marks}) "
               "ORDER BY lead_id, position, id")
_ROWS_SQL = ("SELECT id, name, city, plate, vehicle, policy_expiry, priority, status, "
             "next_callback_at, source, campaign_id, last_disposition, "
             f"CASE WHEN status = '{LeadStatus.NEW}' AND last_attempt_at IS NULL THEN created_at END "
             "FROM leads WHERE id IN ({marks})")


def page_sql(tab: str | None, campaign_id: str | None = None) -> tuple[str, str, tuple[Any, ...]]:
    """(count statement, ids statement with a trailing ``LIMIT ?``, parameters) of a plain tab.

    Same order as the search index's default sort (numpy's stable lexsort over the
    table order), so rows do not jump when the full list replaces the page.
    """
    if tab is not None and tab not in TABS:
        raise ValueError(f"unknown tab {tab!r}; expected one of {TABS}")
    where = ["1"]
    params: tuple[Any, ...] = ()
    if tab == "done":
        where.append(f"status IN {DONE_STATUSES!r}")
    elif tab in ("todo", "callbacks"):
        where.append(f"status NOT IN {DONE_STATUSES!r}")
        where.append("next_callback_at IS NULL" if tab == "todo" else "next_callback_at IS NOT NULL")
    if campaign_id is not None:
        where.append("campaign_id = ?")
        params = (campaign_id,)
    expiry = f"coalesce(CAST(julianday(policy_expiry) AS INTEGER), {NEVER})"
    callback = f"coalesce(CAST(strftime('%s', next_callback_at) AS INTEGER), {NEVER})"
    order = f"{callback}, priority, rowid" if tab == "callbacks" else f"priority, {expiry}, rowid"
    cond = " AND ".join(where)
    return (f"SELECT count(*) FROM leads WHERE {cond}",
            f"SELECT id FROM leads WHERE {cond} ORDER BY {order} LIMIT ?", params)


def read_page(db: sqlite3.Connection, tab: str | None, limit: int,
              campaign_id: str | None = None) -> tuple[int, list[str]]:
    """(total, first ``limit`` ids) on a DB-API connection, inside the caller's snapshot."""
    count_sql, ids_sql, params = page_sql(tab, campaign_id)
    total = db.execute(count_sql, params).fetchone()[0] or 0
    ids = [r[0] for r in db.execute(ids_sql, (*params, int(limit)))]
    return total, ids


def read_rows(db: sqlite3.Connection, ids: Sequence[str], date_of: Callable[[Any], Any],
              datetime_of: Callable[[Any], Any]) -> dict[str, LeadRow]:
    """Lead rows by id (masked first number) on a DB-API connection, inside the caller's snapshot."""
    found: dict[str, LeadRow] = {}
    first_phone: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for lead_id, number in db.execute(_PHONES_SQL.format(marks=marks), chunk):
            first_phone.setdefault(lead_id, number)
        for (lead_id, name, city, plate, vehicle, expiry, priority, status, callback, source,
             campaign_id, last_disposition, waiting) in db.execute(_ROWS_SQL.format(marks=marks), chunk):
            number = first_phone.get(lead_id)
            found[lead_id] = LeadRow(
                id=lead_id, name=name, masked_phone=mask(number) if number else "",
                city=city, plate=plate, vehicle=vehicle, policy_expiry=date_of(expiry),
                priority=priority, status=status, next_callback_at=datetime_of(callback),
                source=source, campaign_id=campaign_id, last_disposition=last_disposition,
                waiting_since=datetime_of(waiting),
            )
    return found


@dataclass(frozen=True)
class Peek:
    tab: str
    total: int
    ids: tuple[str, ...]
    rows: tuple[LeadRow, ...]  # the first ones, in ids order
    elapsed_ms: float


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _datetime(value: Any) -> dt.datetime | None:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS[.ffffff]"; fromisoformat reads the same.
    return None if value is None else dt.datetime.fromisoformat(value)


def peek(path: Path, tab: str, limit: int, rows: int) -> Peek | None:
    """The first ``limit`` ids of ``tab`` and the first ``rows`` rows, read-only; None if not safe."""
    import time

    start = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        db.execute("BEGIN")  # one snapshot for the revision, the page and its rows
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] != HEAD_REVISION:
            return None
        total, ids = read_page(db, tab, limit)
        if not total:
            return None  # a new or empty cache (the demo may be loaded into it): nothing to show early
        first = ids[:rows]
        by_id = read_rows(db, first, _date, _datetime)
        page = tuple(by_id[i] for i in first if i in by_id)
    except (sqlite3.Error, ValueError) as exc:  # damaged or unexpected: the normal path decides
        log.info("start-up: no first page from the file (%s)", exc)
        return None
    finally:
        db.close()
    return Peek(tab, total, tuple(ids), page, (time.perf_counter() - start) * 1000)
