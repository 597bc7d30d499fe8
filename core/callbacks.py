"""Callbacks and the 48-hour first-contact rule, as pure functions.

A lead is *waiting for its first contact* while its status is ``new`` and no
call attempt was ever made to it; it is *overdue* once it has waited
:data:`FIRST_CONTACT_HOURS` since it reached this device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from core.contract import LeadStatus
from core.dialing import OVERDUE_GRACE
from core.timeutil import naive_utc

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


def split_due(callbacks: Iterable[DueCallback], now: dt.datetime) -> tuple[list[DueCallback], list[DueCallback]]:
    """(due, overdue) among callbacks whose time has come."""
    now = naive_utc(now)
    due, overdue = [], []
    for cb in callbacks:
        at = naive_utc(cb.due_at)
        if at < now - OVERDUE_GRACE:
            overdue.append(cb)
        elif at <= now:
            due.append(cb)
    return due, overdue


def first_contact_cutoff(now: dt.datetime, hours: int = FIRST_CONTACT_HOURS) -> dt.datetime:
    """Leads waiting since this moment or earlier (naive UTC) are overdue at ``now``."""
    return naive_utc(now) - dt.timedelta(hours=hours)


def stale_new_leads(
    leads: Iterable[NewLeadFact], now: dt.datetime, hours: int = FIRST_CONTACT_HOURS
) -> list[str]:
    """Ids of new leads never attempted within ``hours`` of being handed out."""
    limit = first_contact_cutoff(now, hours)
    return [
        lead.lead_id
        for lead in leads
        if lead.status == LeadStatus.NEW and lead.last_attempt_at is None and naive_utc(lead.created_at) <= limit
    ]
