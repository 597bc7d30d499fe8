"""Dialing order: which lead is next (overdue callbacks, due callbacks, fresh work by
priority and nearest policy expiry). Pure rules over small candidate lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from core.contract import OPEN_STATUSES
from core.timeutil import naive_utc

OVERDUE_GRACE = dt.timedelta(minutes=10)


class DialMode(str, Enum):
    PREVIEW = "preview"
    POWER = "power"


@dataclass(frozen=True)
class LeadCandidate:
    lead_id: str
    status: str
    priority: int = 3
    policy_expiry: dt.date | None = None
    next_callback_at: dt.datetime | None = None  # naive UTC, like the cache
    created_at: dt.datetime | None = None


def bucket(lead: LeadCandidate, now: dt.datetime) -> int:
    """0 overdue callback, 1 due callback, 2 fresh work, 3 callback not yet due, 9 not callable."""
    if lead.status not in OPEN_STATUSES:
        return 9
    now = naive_utc(now)
    if lead.next_callback_at is not None:
        due = naive_utc(lead.next_callback_at)
        if due < now - OVERDUE_GRACE:
            return 0
        if due <= now:
            return 1
        return 3
    return 2


def rank_key(lead: LeadCandidate, now: dt.datetime) -> tuple:
    b = bucket(lead, now)
    far = dt.date.max
    if b in (0, 1, 3):
        return (b, naive_utc(lead.next_callback_at), lead.priority, lead.policy_expiry or far, lead.lead_id)
    return (b, dt.datetime.min, lead.priority, lead.policy_expiry or far, lead.created_at or dt.datetime.min,
            lead.lead_id)


def rank_leads(candidates: Iterable[LeadCandidate], now: dt.datetime) -> list[LeadCandidate]:
    """Callable leads best first; callbacks not yet due are left out."""
    usable = [c for c in candidates if bucket(c, now) in (0, 1, 2)]
    return sorted(usable, key=lambda c: rank_key(c, now))
