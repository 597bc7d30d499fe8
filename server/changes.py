"""The change log that ``pull`` reads.

Writers call :func:`note` while they work and :func:`flush` right before the
commit. ``flush`` takes a block of sequence numbers from the ``change_seq``
counter with one UPDATE: on PostgreSQL that row lock is held until commit, so
sequence numbers become visible in commit order and a reader that has seen seq
N has seen every change below N (no gaps a cursor could skip). SQLite has one
writer at a time, which gives the same guarantee.
"""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.contract import ChangeOp, Entity
from server.models import Counter, Lead, SyncChange

SEQ = "change_seq"
ALL = "all"
ADMIN = "*"

_KEY = "pending_changes"


def user_scope(user_id: str) -> str:
    return f"u:{user_id}"


def team_scope(team_id: str) -> str:
    return f"t:{team_id}"


def lead_scopes(assigned_to: str | None, team_id: str | None) -> list[str]:
    scopes = [ADMIN]
    if assigned_to:
        scopes.append(user_scope(assigned_to))
    if team_id:
        scopes.append(team_scope(team_id))
    return scopes


def note(session: Session, scope: str, entity: str, entity_id: str, op: str = ChangeOp.UPSERT) -> None:
    pending: dict = session.info.setdefault(_KEY, {})
    key = (scope, entity, entity_id)
    pending.pop(key, None)  # re-insert so the latest op keeps its place at the end
    pending[key] = op


def note_lead(session: Session, lead: Lead, old_assigned: str | None = None,
              old_team: str | None = None, moved: bool = False) -> None:
    """Record a lead change; if it moved, the old audience gets a tombstone first."""
    new_scopes = lead_scopes(lead.assigned_to, lead.team_id)
    if moved:
        for scope in lead_scopes(old_assigned, old_team):
            if scope not in new_scopes:
                note(session, scope, Entity.LEAD, lead.id, ChangeOp.DELETE)
    for scope in new_scopes:
        note(session, scope, Entity.LEAD, lead.id, ChangeOp.UPSERT)


# Built once: constructing these statements costs more than running them.
_BUMP = (update(Counter).where(Counter.name == SEQ).values(value=Counter.value + bindparam("n"))
         .returning(Counter.value))


@functools.cache
def _upsert(dialect: str):
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SyncChange)
    return ins.on_conflict_do_update(index_elements=["scope", "entity", "entity_id"],
                                     set_={"op": ins.excluded.op, "seq": ins.excluded.seq})


def flush(session: Session) -> int:
    """Write pending changes with fresh sequence numbers; returns how many."""
    pending: dict = session.info.pop(_KEY, {})
    if not pending:
        return 0
    n = len(pending)
    top = session.execute(_BUMP, {"n": n}).scalar_one()
    first = top - n + 1
    rows = [{"scope": s, "entity": e, "entity_id": i, "op": op, "seq": first + k}
            for k, ((s, e, i), op) in enumerate(pending.items())]
    stmt = _upsert(session.get_bind().dialect.name)
    conn = session.connection()  # Core executemany: the ORM's bulk-insert layer tripled the cost
    for start in range(0, len(rows), 2000):
        conn.execute(stmt, rows[start:start + 2000])
    return n


def current_seq(session: Session) -> int:
    return session.execute(select(Counter.value).where(Counter.name == SEQ)).scalar_one()


def commit(session: Session) -> None:
    flush(session)
    session.commit()
