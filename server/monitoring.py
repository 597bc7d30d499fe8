"""Monitor sessions (监听 / 耳语 / 强插): their lifecycle, audit and board patches.

A session starts from a grant the TL's app used (``monitor_audit.jti``), changes
mode any number of times and ends when the TL's app says so, or when the agent's
call ends (their presence leaves that call). Every step is one audit row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import audit, floor
from server.models import MonitorSession
from server.serialize import iso

MODES = ("listen", "whisper", "barge")


def duration_s(m: MonitorSession, now: dt.datetime) -> int:
    return max(0, round(((m.ended_at or now) - m.started_at).total_seconds()))


def view(m: MonitorSession, now: dt.datetime) -> dict[str, Any]:
    return {"session_id": m.id, "jti": m.jti, "team_id": m.team_id, "tl_id": m.tl_id, "agent_id": m.agent_id,
            "call_id": m.call_id, "mode": m.mode, "started_at": iso(m.started_at), "ended_at": iso(m.ended_at),
            "end_reason": m.end_reason, "duration_s": duration_s(m, now)}


def board_view(m: MonitorSession | None) -> dict[str, Any] | None:
    """The board's ``monitor`` field of an agent: who listens, how, since when."""
    if m is None or m.ended_at is not None:
        return None
    return {"session_id": m.id, "tl_id": m.tl_id, "mode": m.mode, "call_id": m.call_id,
            "started_at": iso(m.started_at)}


def publish(s: Session, m: MonitorSession) -> None:
    floor.emit(s, floor.team_topic(m.team_id), "agent", {"agent_id": m.agent_id, "monitor": board_view(m)})


def end(s: Session, m: MonitorSession, now: dt.datetime, reason: str, actor_id: str | None = None) -> bool:
    """End an open session (False if it had ended already)."""
    if m.ended_at is not None:
        return False
    m.ended_at, m.end_reason = now, reason[:20]
    audit.record(s, action="monitor_end", actor_id=actor_id or m.tl_id, team_id=m.team_id, agent_id=m.agent_id,
                 call_id=m.call_id, session_id=m.id, mode=m.mode, duration_s=duration_s(m, now),
                 detail={"reason": m.end_reason}, at=now)
    publish(s, m)
    return True


def close_for_agent(s: Session, agent_id: str, now: dt.datetime, reason: str) -> int:
    """The agent's call ended: end every session still open on them."""
    n = 0
    for m in s.execute(select(MonitorSession).where(MonitorSession.agent_id == agent_id,
                                                    MonitorSession.ended_at.is_(None))).scalars():
        n += end(s, m, now, reason)
    return n
