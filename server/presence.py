"""Agent presence: the current state per agent, heartbeats, the TL's view.

The ``presence`` table is the one truth (no per-process cache): a heartbeat
reads the agent's row and writes only when something changed or ``last_seen``
needs refreshing. Every change is published on the live floor (server/floor.py)
as a board patch, from inside the transaction that made it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, select, update
from sqlalchemy.orm import Session

from core.phone import mask
from server import floor, monitoring
from server.models import Lead, Presence, User, utcnow
from server.serialize import iso

# No heartbeat for this long (clients send one every 5 s) = offline.
STALE_AFTER = dt.timedelta(seconds=30)
# A heartbeat that changes nothing only refreshes last_seen when it is this old:
# two of three heartbeats cost no write.
TOUCH_AFTER = dt.timedelta(seconds=14)


def effective_state(row: Presence, now: dt.datetime) -> str:
    return "offline" if now - row.last_seen > STALE_AFTER else row.state


# What a heartbeat compares with: five columns by primary key, read through a plain
# connection (no ORM session, identity map or entity load: ~3x cheaper per heartbeat).
HEARTBEAT_READ = select(Presence.state, Presence.reason, Presence.call_id, Presence.lead_id,
                         Presence.last_seen).where(Presence.user_id == bindparam("uid"))


# A heartbeat that changes nothing but needs ``last_seen`` refreshed: one conditional UPDATE
# (no row lock taken first, no ORM, nothing published — like record() for an unchanged,
# live row). It matches only while the row still holds this exact state and is not stale;
# otherwise (another instance changed it meanwhile, or the agent comes back from offline,
# which the boards must hear) it updates nothing and the caller takes record().
_t = Presence.__table__
TOUCH = (update(_t).where(_t.c.user_id == bindparam("b_uid"), _t.c.state == bindparam("b_state"),
                          _t.c.reason.is_not_distinct_from(bindparam("b_reason")),
                          _t.c.call_id.is_not_distinct_from(bindparam("b_call_id")),
                          _t.c.lead_id.is_not_distinct_from(bindparam("b_lead_id")),
                          _t.c.last_seen >= bindparam("b_fresh_after"))
         .values(last_seen=bindparam("b_now"), team_id=bindparam("b_team")))


def touch_params(user_id: str, team_id: str | None, state: str, reason: str | None, call_id: str | None,
                 lead_id: str | None, now: dt.datetime) -> dict[str, Any]:
    # (bindparam names must differ from the columns an UPDATE sets)
    return {"b_uid": user_id, "b_state": state, "b_reason": reason, "b_call_id": call_id, "b_lead_id": lead_id,
            "b_fresh_after": now - STALE_AFTER, "b_now": now, "b_team": team_id}


def is_touch(row: Row | Presence | None, state: str, reason: str | None, call_id: str | None,
             lead_id: str | None, now: dt.datetime) -> bool:
    """The write ``needs_write`` asked for only refreshes ``last_seen`` (nothing to publish)."""
    return row is not None and (row.state, row.reason, row.call_id, row.lead_id) == (state, reason, call_id, lead_id) \
        and now - row.last_seen <= STALE_AFTER


class HeartbeatRow(NamedTuple):
    """HEARTBEAT_READ's columns, from a plain DB-API tuple (the event-loop path)."""

    state: str
    reason: str | None
    call_id: str | None
    lead_id: str | None
    last_seen: dt.datetime


def heartbeat_row(conn: Connection, user_id: str) -> Row | None:
    """The agent's stored (state, reason, call_id, lead_id, last_seen), or None."""
    return conn.execute(HEARTBEAT_READ, {"uid": user_id}).first()


def claim_checked(row: Row | Presence | None, state: str, call_id: str | None, lead_id: str | None) -> bool:
    """True when the stored row already names this call and lead in this state: its lead was
    checked (``owns_lead``) when that heartbeat was written, so a repeat needs no lookup."""
    return row is not None and (row.state, row.call_id, row.lead_id) == (state, call_id, lead_id)


def needs_write(row: Row | Presence | None, state: str, reason: str | None, call_id: str | None,
                lead_id: str | None, now: dt.datetime) -> bool:
    if row is None:
        return True
    same = (row.state, row.reason, row.call_id, row.lead_id) == (state, reason, call_id, lead_id)
    return not same or now - row.last_seen > TOUCH_AFTER


def view(row: Presence | None, now: dt.datetime) -> dict[str, Any]:
    """The board's ``presence`` object for one agent (docs/supervisor.md)."""
    if row is None:
        return {"state": "offline", "reason": None, "since": None, "last_seen": None, "version": 0, "call": None}
    stale = now - row.last_seen > STALE_AFTER
    state = "offline" if stale else row.state
    call = None
    if state == "on_call":
        call = {"call_id": row.call_id, "lead_id": row.lead_id, "started_at": iso(row.since),
                "number_masked": row.call_number}
    return {"state": state, "reason": None if stale else row.reason,
            # Offline for lack of heartbeats: since the last sign of life.
            "since": iso(row.last_seen if stale else row.since), "last_seen": iso(row.last_seen),
            "version": row.version, "call": call}


def _masked_number(s: Session, user_id: str, lead_id: str | None, number: str | None) -> str | None:
    """The current call's number as the board may show it: masked, never whole. From the
    number the agent's app sent, else the agent's own lead's first phone."""
    if number:
        return mask(number)[:32]
    if not lead_id:
        return None
    lead = s.get(Lead, lead_id)
    if lead is None or lead.assigned_to != user_id:
        return None  # not the agent's lead: show nothing rather than someone else's customer
    for ph in lead.phones or []:
        if isinstance(ph, dict) and ph.get("number"):
            return mask(str(ph["number"]))[:32]
    return None


def record(s: Session, user_id: str, team_id: str | None, state: str, reason: str | None,
           call_id: str | None, lead_id: str | None, number: str | None = None) -> Presence:
    """Store a heartbeat / state; publish a board patch when the state changed."""
    now = utcnow()
    # Locked: with several instances two heartbeats of one agent may be written at once;
    # the second sees the first's version, so versions only grow (boards drop older ones).
    row = s.get(Presence, user_id, with_for_update=True)
    if row is None:
        row = Presence(user_id=user_id, team_id=team_id, state=state, reason=reason, call_id=call_id,
                       lead_id=lead_id, since=now, last_seen=now, version=1)
        s.add(row)
        changed, prev_state, prev_call = True, "offline", None
    else:
        prev_state, prev_call = effective_state(row, now), row.call_id
        was_stale = prev_state == "offline" and row.state != "offline"
        changed = (row.state, row.reason, row.call_id, row.lead_id) != (state, reason, call_id, lead_id) or was_stale
        if changed:
            row.state, row.reason, row.call_id, row.lead_id = state, reason, call_id, lead_id
            row.since = now
            row.version += 1
        row.team_id = team_id
        row.last_seen = now
    if changed:
        row.call_number = _masked_number(s, user_id, lead_id, number) if state == "on_call" else None
        after_change(s, row, prev_state, prev_call, now)
    return row


def after_change(s: Session, row: Presence, prev_state: str, prev_call: str | None, now: dt.datetime) -> None:
    """Publish the patch; a call that ended ends the monitor sessions on it."""
    if row.team_id:
        floor.emit(s, floor.team_topic(row.team_id), "agent",
                   {"agent_id": row.user_id, "presence": view(row, now)})
    if prev_state == "on_call" and (row.state != "on_call" or row.call_id != prev_call):
        monitoring.close_for_agent(s, row.user_id, now, "call_ended")


def touch_sync(s: Session, user_id: str, team_id: str | None, now: dt.datetime) -> None:
    """Note the agent's sync (push, or a pull at most once a minute) for the board."""
    # One UPDATE on every push instead of loading the ORM row to set one column; a row
    # loaded in this session anyway (an agent_state_changed event) is updated in place too.
    loaded = s.identity_map.get(s.identity_key(Presence, user_id)) or next(
        (o for o in s.new if isinstance(o, Presence) and o.user_id == user_id), None)
    if isinstance(loaded, Presence):
        loaded.last_sync_at = now
        return
    table = Presence.__table__
    done = s.connection().execute(update(table).where(table.c.user_id == user_id).values(last_sync_at=now))
    if done.rowcount == 0:
        s.add(Presence(user_id=user_id, team_id=team_id, state="offline", since=now, last_seen=now, version=1,
                       last_sync_at=now))


def snapshot(s: Session, team_id: str | None, user_id: str | None = None) -> list[dict[str, Any]]:
    """Presence of a team's members (or everyone with team_id None, or one user)."""
    q = select(User, Presence).outerjoin(Presence, Presence.user_id == User.id).where(User.active.is_(True))
    if user_id is not None:
        q = q.where(User.id == user_id)
    elif team_id is not None:
        q = q.where(User.team_id == team_id)
    q = q.where(User.role != "admin").order_by(User.username)
    now = utcnow()
    return [legacy_item(user, row, now) for user, row in s.execute(q).all()]


def legacy_item(user: User, row: Presence | None, now: dt.datetime) -> dict[str, Any]:
    """One agent in the shape of ``GET /presence`` and ``/presence/stream``."""
    state = effective_state(row, now) if row else "offline"
    live = row is not None and state != "offline"
    return {
        "agent_id": user.id, "username": user.username, "display_name": user.display_name,
        "role": user.role, "team_id": user.team_id, "state": state,
        "reason": row.reason if live else None,
        "call_id": row.call_id if live else None,
        "lead_id": row.lead_id if live else None,
        "since": iso(row.since) if row else None, "last_seen": iso(row.last_seen) if row else None,
    }
