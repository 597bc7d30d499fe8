"""Floor control: a TL orders an agent to 小休 (with a reason) or back to 就绪, and
sends short messages to one agent or the whole team.

Both reach the agent twice: durably through the pull (entities ``agent_command``
and ``team_message``) and at once on the agent's stream (server/api/agent.py).
A command is carried out by the agent's app through its own state rules (a pause
ordered during a call starts after the wrap-up), which acknowledges it:
``applied``, ``deferred`` (will apply later) or ``refused``. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import audit, changes, floor, serialize
from server.models import AgentCommand, TeamMessage, User

COMMAND_TTL = dt.timedelta(minutes=15)  # an order nobody carried out by then is moot
FORCE_STATES = ("paused", "ready")
ACK_RESULTS = ("applied", "deferred", "refused")
OPEN_RESULTS = (None, "deferred")
MESSAGE_MAX = 500


command_data = serialize.agent_command
message_data = serialize.team_message


def open_commands(s: Session, team_id: str, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The latest open (pending or deferred, not expired) command per agent of a team."""
    out: dict[str, dict[str, Any]] = {}
    for c in s.execute(select(AgentCommand).where(AgentCommand.team_id == team_id,
                                                  AgentCommand.acked_at.is_(None),
                                                  AgentCommand.expires_at > now)
                       .order_by(AgentCommand.issued_at)).scalars():
        out[c.agent_id] = command_data(c, now)
    return out


def _publish_command(s: Session, c: AgentCommand, now: dt.datetime) -> None:
    data = command_data(c, now)
    changes.note(s, changes.user_scope(c.agent_id), "agent_command", c.id)
    floor.emit(s, floor.user_topic(c.agent_id), "command", data)
    is_open = data["status"] in ("pending", "deferred")
    floor.emit(s, floor.team_topic(c.team_id), "agent",
               {"agent_id": c.agent_id, "pending_command": data if is_open else None})


def force_state(s: Session, tl: User, agent: User, state: str, reason: str | None,
                now: dt.datetime) -> AgentCommand:
    assert state in FORCE_STATES and agent.team_id
    for old in s.execute(select(AgentCommand).where(AgentCommand.agent_id == agent.id,
                                                    AgentCommand.acked_at.is_(None))).scalars():
        old.result, old.acked_at = "superseded", now  # the newest order wins
        changes.note(s, changes.user_scope(old.agent_id), "agent_command", old.id)
    c = AgentCommand(id=str(uuid.uuid4()), team_id=agent.team_id, agent_id=agent.id, issued_by=tl.id,
                     issued_by_name=tl.display_name or tl.username, kind="set_state", state=state,
                     reason=reason if state == "paused" else None, issued_at=now, expires_at=now + COMMAND_TTL)
    s.add(c)
    audit.record(s, action="force_state", actor_id=tl.id, team_id=agent.team_id, agent_id=agent.id, at=now,
                 detail={"command_id": c.id, "state": state, "reason": c.reason})
    _publish_command(s, c, now)
    return c


def acknowledge(s: Session, c: AgentCommand, result: str, now: dt.datetime, detail: str | None = None) -> bool:
    """The agent's app reports what it did; False if the command was closed already."""
    assert result in ACK_RESULTS
    if c.acked_at is not None or (result == "deferred" and c.result == "deferred"):
        return False
    c.result = result
    if result != "deferred":
        c.acked_at = now
    audit.record(s, action="command_ack", actor_id=c.agent_id, team_id=c.team_id, agent_id=c.agent_id, at=now,
                 detail={"command_id": c.id, "state": c.state, "result": result,
                         **({"note": detail[:200]} if detail else {})})
    _publish_command(s, c, now)
    return True


def send_message(s: Session, tl: User, team_id: str, text: str, agent: User | None,
                 now: dt.datetime) -> TeamMessage:
    m = TeamMessage(id=str(uuid.uuid4()), team_id=team_id, sender_id=tl.id,
                    sender_name=tl.display_name or tl.username, to_agent_id=agent.id if agent else None,
                    text=text[:MESSAGE_MAX], sent_at=now)
    s.add(m)
    if agent is not None:
        members = [agent.id]
    else:
        members = list(s.execute(select(User.id).where(User.team_id == team_id, User.active.is_(True),
                                                       User.role == "tsr")).scalars())
    for uid in members:
        changes.note(s, changes.user_scope(uid), "team_message", m.id)
    changes.note(s, changes.team_scope(team_id), "team_message", m.id)  # the team's TLs: the sent log
    audit.record(s, action="message", actor_id=tl.id, team_id=team_id, agent_id=agent.id if agent else None,
                 at=now, detail={"message_id": m.id, "to": "agent" if agent else "team", "text": m.text})
    data = message_data(m)
    floor.emit(s, floor.user_topic(agent.id) if agent else floor.agents_topic(team_id), "message", data)
    floor.emit(s, floor.team_topic(team_id), "message", data)
    return m
