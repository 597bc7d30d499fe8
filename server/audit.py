"""The supervisor audit trail: who did what to whom, on which call, when, for how long.

Written in the same transaction as the action it records; read by a TL for
their own team (``GET /api/v1/supervisor/audit``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.supervisor import AuditAction
from server.models import SupervisorAudit, User, utcnow
from server.serialize import iso

#: Every action the trail records (core.supervisor.AuditAction, docs/supervisor.md "Audit").
ACTIONS = tuple(a.value for a in AuditAction)


def record(s: Session, *, action: str, actor_id: str, team_id: str | None, agent_id: str | None = None,
           call_id: str | None = None, session_id: str | None = None, mode: str | None = None,
           duration_s: int | None = None, detail: dict[str, Any] | None = None,
           at: dt.datetime | None = None) -> SupervisorAudit:
    assert action in ACTIONS, action
    row = SupervisorAudit(at=at or utcnow(), team_id=team_id, actor_id=actor_id, agent_id=agent_id,
                          action=action, call_id=call_id, session_id=session_id, mode=mode,
                          duration_s=duration_s, detail=detail or {})
    s.add(row)
    return row


def listing(s: Session, team_id: str, *, agent_id: str | None = None, action: str | None = None,
            since: dt.datetime | None = None, until: dt.datetime | None = None, before: int | None = None,
            limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first. Returns (items, the ``before`` for the next page or None)."""
    actor, agent = aliased(User), aliased(User)
    q = (select(SupervisorAudit, actor.username, actor.display_name, agent.username, agent.display_name)
         .join(actor, actor.id == SupervisorAudit.actor_id)
         .outerjoin(agent, agent.id == SupervisorAudit.agent_id)
         .where(SupervisorAudit.team_id == team_id))
    if agent_id is not None:
        q = q.where(SupervisorAudit.agent_id == agent_id)
    if action is not None:
        q = q.where(SupervisorAudit.action == action)
    if since is not None:
        q = q.where(SupervisorAudit.at >= since)
    if until is not None:
        q = q.where(SupervisorAudit.at < until)
    if before is not None:
        q = q.where(SupervisorAudit.id < before)
    rows = s.execute(q.order_by(SupervisorAudit.id.desc()).limit(limit + 1)).all()
    items = [{
        "id": a.id, "at": iso(a.at), "action": a.action,
        "actor_id": a.actor_id, "actor_username": actor_user, "actor_name": actor_name,
        "agent_id": a.agent_id, "agent_username": agent_user, "agent_name": agent_name,
        "call_id": a.call_id, "session_id": a.session_id, "mode": a.mode, "duration_s": a.duration_s,
        "detail": a.detail or {},
    } for a, actor_user, actor_name, agent_user, agent_name in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)
