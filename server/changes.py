"""The change log that ``pull`` reads.

Writers call :func:`note` while they work and :func:`commit` at the end. The
commit takes a block of sequence numbers from the ``change_seq`` counter with one
UPDATE: on PostgreSQL that row lock is held until the transaction ends, so
sequence numbers become visible in commit order and a reader that has seen seq
N has seen every change below N (no gaps a cursor could skip). SQLite has one
writer at a time, which gives the same guarantee.

On PostgreSQL the lock is taken as late as it can be: the writer's own rows are
flushed first, then the counter bump and the change rows go as ONE statement,
pipelined with the COMMIT (one round trip, no client work in between). The row
is locked for the statement and the commit only — before, it stayed locked over
three round trips, and each of them waited for the writer's thread to get the
CPU and the GIL back: under load 2–3 pushes queued on it (docs/server.md).
tests/server/test_change_order.py makes a writer hold its numbers while another
pushes and checks that a pull never skips a change.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, exc, select, update
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


def one_snapshot(session: Session) -> Session:
    """Make ``session``'s next transaction read from ONE snapshot; call before its first
    statement. A pull reads each of its scopes with its own statement (server/pull.py); under
    PostgreSQL's default READ COMMITTED every statement sees the commits made since the last
    one, so a push that committed between them — a DNC number for everyone (seq n) and the
    agent's lead (seq n+1) — showed n+1 but not n, and the cursor passed n for good.
    REPEATABLE READ gives the whole read one snapshot, which under the counter lock holds a
    prefix of the sequence (read-only, it never fails with a serialization error). SQLite:
    a read transaction already has one snapshot."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session


def current_seq(session: Session) -> int:
    return session.execute(select(Counter.value).where(Counter.name == SEQ)).scalar_one()


# PostgreSQL: the bump and the rows in one statement. ``u.k`` counts from 1, so the block is
# top-n+1 … top, in the order the changes were noted (as flush). Without the counter row the
# join gives a NULL seq and the NOT NULL column fails the statement (and so the commit) — it
# never commits changes without numbers.
_PG_ASSIGN = (
    "WITH b AS (UPDATE counters SET value = value + %(n)s WHERE name = %(name)s RETURNING value) "
    "INSERT INTO sync_changes (scope, entity, entity_id, op, seq) "
    "SELECT u.scope, u.entity, u.entity_id, u.op, b.value - %(n)s + u.k "
    "FROM unnest(%(scope)s::text[], %(entity)s::text[], %(entity_id)s::text[], %(op)s::text[]) "
    "WITH ORDINALITY AS u(scope, entity, entity_id, op, k) LEFT JOIN b ON true "
    "ON CONFLICT (scope, entity, entity_id) DO UPDATE SET op = excluded.op, seq = excluded.seq"
)


def _text(v: Any) -> str:
    return str(getattr(v, "value", v))  # WireEnum members as their wire value


def _commit_pg(session: Session, pending: dict) -> None:
    """Number the pending changes and commit in one pipelined round trip (see the module doc)."""
    import psycopg  # the PostgreSQL driver: only here, SQLite deployments need not have it

    session.flush()  # the writer's own rows first: they do not need the counter
    raw = session.connection().connection.driver_connection
    params = {"n": len(pending), "name": SEQ, "scope": [], "entity": [], "entity_id": [], "op": []}
    for (scope, entity, entity_id), op in pending.items():
        params["scope"].append(_text(scope))
        params["entity"].append(_text(entity))
        params["entity_id"].append(_text(entity_id))
        params["op"].append(_text(op))
    try:
        with raw.pipeline():
            raw.execute(_PG_ASSIGN, params)
            raw.commit()
    except psycopg.Error as e:
        # As SQLAlchemy would raise it: run_write retries deadlocks/serialization failures.
        raise exc.DBAPIError.instance(_PG_ASSIGN, params, e, psycopg.Error,
                                      dialect=session.get_bind().dialect) from e
    # The server has committed; this ends SQLAlchemy's transaction (psycopg sends nothing
    # for a connection that is already idle).
    session.commit()


def commit(session: Session) -> None:
    pending = session.info.get(_KEY)
    if pending and session.get_bind().dialect.name == "postgresql":
        session.info.pop(_KEY)
        _commit_pg(session, pending)
        return
    flush(session)
    session.commit()
