"""Agent presence: the current state per agent, heartbeats, the TL's view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Presence, User, utcnow
from server.serialize import iso

# No heartbeat for this long (clients send one every 5 s) = offline.
STALE_AFTER = dt.timedelta(seconds=30)
# A heartbeat that changes nothing only refreshes last_seen when it is this old:
# two of three heartbeats cost no write.
TOUCH_AFTER = dt.timedelta(seconds=14)


def effective_state(row: Presence, now: dt.datetime) -> str:
    return "offline" if now - row.last_seen > STALE_AFTER else row.state


def needs_write(row: Presence | None, state: str, reason: str | None, call_id: str | None,
                lead_id: str | None, now: dt.datetime) -> bool:
    if row is None:
        return True
    same = (row.state, row.reason, row.call_id, row.lead_id) == (state, reason, call_id, lead_id)
    return not same or now - row.last_seen > TOUCH_AFTER


def record(s: Session, user_id: str, team_id: str | None, state: str, reason: str | None,
           call_id: str | None, lead_id: str | None) -> Presence:
    now = utcnow()
    row = s.get(Presence, user_id)
    if row is None:
        row = Presence(user_id=user_id, team_id=team_id, state=state, reason=reason, call_id=call_id,
                       lead_id=lead_id, since=now, last_seen=now, version=1)
        s.add(row)
        return row
    was_stale = now - row.last_seen > STALE_AFTER
    if (row.state, row.reason, row.call_id, row.lead_id) != (state, reason, call_id, lead_id) or was_stale:
        row.state, row.reason, row.call_id, row.lead_id = state, reason, call_id, lead_id
        row.since = now
        row.version += 1
    row.team_id = team_id
    row.last_seen = now
    return row


def snapshot(s: Session, team_id: str | None, user_id: str | None = None) -> list[dict[str, Any]]:
    """Presence of a team's members (or everyone with team_id None, or one user)."""
    q = select(User, Presence).outerjoin(Presence, Presence.user_id == User.id).where(User.active.is_(True))
    if user_id is not None:
        q = q.where(User.id == user_id)
    elif team_id is not None:
        q = q.where(User.team_id == team_id)
    q = q.where(User.role != "admin").order_by(User.username)
    now = utcnow()
    out = []
    for user, row in s.execute(q).all():
        state = effective_state(row, now) if row else "offline"
        out.append({
            "agent_id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role, "team_id": user.team_id, "state": state,
            "reason": row.reason if row and state != "offline" else None,
            "call_id": row.call_id if row and state != "offline" else None,
            "lead_id": row.lead_id if row and state != "offline" else None,
            "since": iso(row.since) if row else None, "last_seen": iso(row.last_seen) if row else None,
        })
    return out
