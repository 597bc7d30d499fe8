"""Was a lead reclaimed from an agent? Their later events for it are accepted, never lost
(server/distribution.py reclaims; server/events.py asks here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import LeadReclaim


def reclaimed_from(s: Session, lead_id: str, user_id: str) -> bool:
    return s.execute(select(LeadReclaim.id).where(LeadReclaim.lead_id == lead_id,
                                                  LeadReclaim.from_user == user_id).limit(1)).first() is not None
