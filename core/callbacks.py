"""Callbacks and the 48-hour first-contact rule, as pure functions.

A lead is *waiting for its first contact* while its status is ``new`` and no
call attempt was ever made to it; it is *overdue* once it has waited
:data:`FIRST_CONTACT_HOURS` since it reached this device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from core.dialing import OVERDUE_GRACE

FIRST_CONTACT_HOURS = 48


@dataclass(frozen=True)
class DueCallback:
    lead_id: str
    lead_name: str
    due_at: dt.datetime  # naive UTC
    callback_id: str = ""


@dataclass(frozen=True)
class NewLeadFact:
    lead_id: str
    status: str
    created_at: dt.datetime  # naive UTC
    last_attempt_at: dt.datetime | None = None


def _naive(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def split_due(callbacks: Iterable[DueCallback], now: dt.datetime) -> tuple[list[DueCallback], list[DueCallback]]:
    """(due, overdue) among callbacks whose time has come."""
    now = _naive(now)
    due, overdue = [], []
    for cb in callbacks:
        at = _naive(cb.due_at)
        if at < now - OVERDUE_GRACE:
            overdue.append(cb)
        elif at <= now:
            due.append(cb)
    return due, overdue


def first_contact_cutoff(now: dt.datetime, hours: int = FIRST_CONTACT_HOURS) -> dt.datetime:
    """Leads waiting since this moment or earlier (naive UTC) are overdue at ``now``."""
    return _naive(now) - dt.timedelta(hours=hours)


def stale_new_leads(
    leads: Iterable[NewLeadFact], now: dt.datetime, hours: int = FIRST_CONTACT_HOURS
) -> list[str]:
    """Ids of new leads never attempted within ``hours`` of being handed out."""
    limit = first_contact_cutoff(now, hours)
    return [
        lead.lead_id
        for lead in leads
        if lead.status == "new" and lead.last_attempt_at is None and _naive(lead.created_at) <= limit
    ]
