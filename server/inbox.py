"""The question inbox (记录新问题 → 异议处理): agents' unscripted questions for a TL, grouped by
similar wording (core.questions), answered into the campaign's script as a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import questions
from core.contract import Entity, EventType, OutboxState
from server import changes
from server.models import Event, Lead, QuestionAnswer, Script, User, utcnow

MAX_ROWS = 5000


class InboxError(ValueError):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code = status, code


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") + "Z" if t else None


def listing(s: Session, team_id: str | None, campaign_id: str | None, status: str = "open",
            threshold: float = questions.SIMILAR, days: int = 90) -> dict[str, Any]:
    """Questions of the team's agents (all agents for an admin without a team) in the last
    ``days`` days, grouped by campaign and similar wording, oldest first."""
    since = utcnow() - dt.timedelta(days=days)
    q = (select(Event.id, Event.user_id, Event.lead_id, Event.occurred_at, Event.payload, User.username,
                User.display_name, Lead.name, Lead.campaign_id, QuestionAnswer.answered_at, QuestionAnswer.title,
                QuestionAnswer.script_version)
         .join(User, User.id == Event.user_id)
         .outerjoin(Lead, Lead.id == Event.lead_id)
         .outerjoin(QuestionAnswer, QuestionAnswer.question_id == Event.id)
         .where(Event.type == EventType.UNSCRIPTED_QUESTION, Event.status == OutboxState.ACCEPTED,
                Event.occurred_at >= since)
         .order_by(Event.occurred_at, Event.id).limit(MAX_ROWS))
    if team_id:
        q = q.where(User.team_id == team_id)
    if status == "open":
        q = q.where(QuestionAnswer.question_id.is_(None))
    elif status == "answered":
        q = q.where(QuestionAnswer.question_id.is_not(None))
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for r in s.execute(q).all():
        payload = r.payload if isinstance(r.payload, dict) else {}
        camp = r.campaign_id or str(payload.get("campaign_id") or "")
        if campaign_id and camp != campaign_id:
            continue
        by_campaign.setdefault(camp, []).append({
            "id": r.id, "text": str(payload.get("text", "")), "agent_id": r.user_id, "username": r.username,
            "agent_name": r.display_name, "lead_id": r.lead_id, "lead_name": r.name,
            "call_id": payload.get("call_id"), "script_section": payload.get("script_section"),
            "occurred_at": _iso(r.occurred_at), "answered": r.answered_at is not None,
            "answered_at": _iso(r.answered_at), "answer_title": r.title, "script_version": r.script_version})
    groups = []
    for camp, items in by_campaign.items():
        for idx in questions.group([i["text"] for i in items], threshold):
            members = [items[i] for i in idx]
            groups.append({"campaign_id": camp or None, "key": members[0]["id"], "text": members[0]["text"],
                           "count": len(members), "agents": len({m["agent_id"] for m in members}),
                           "answered": all(m["answered"] for m in members), "questions": members})
    return {"team_id": team_id, "campaign_id": campaign_id, "status": status, "threshold": threshold,
            "groups": groups}


def answer(s: Session, answered_by: User, team_id: str | None, campaign_id: str, question_ids: list[str],
           title: str, text: str, tz: str) -> dict[str, Any]:
    """Append ``## title`` + the answer (marked new) under 异议处理 of the campaign's script
    (a new version every agent pulls) and mark the questions answered."""
    rows = s.execute(select(Event, User.team_id).join(User, User.id == Event.user_id)
                     .where(Event.id.in_(question_ids), Event.type == EventType.UNSCRIPTED_QUESTION)).all()
    if len(rows) != len(set(question_ids)) or (team_id and any(t != team_id for _e, t in rows)):
        raise InboxError(403, "not_your_team", "a question is not from your team")
    done = set(s.execute(select(QuestionAnswer.question_id).where(
        QuestionAnswer.question_id.in_(question_ids))).scalars())
    if done == set(question_ids):
        raise InboxError(409, "already_answered", "these questions are answered already")
    script = s.execute(select(Script).where(Script.campaign_id == campaign_id)
                       .order_by(Script.updated_at.desc(), Script.id).limit(1).with_for_update()).scalar_one_or_none()
    if script is None:
        raise InboxError(409, "no_script", "the campaign has no script to add the answer to")
    now = utcnow()
    day = dt.datetime.now(ZoneInfo(tz)).date()
    script.body_markdown = questions.append_objection(script.body_markdown, title, text, day)
    script.version += 1
    script.updated_at = now
    changes.note(s, changes.ALL, Entity.SCRIPT, script.id)
    clean = questions.objection_title(title)
    for ev, _t in rows:
        if ev.id not in done:
            s.add(QuestionAnswer(question_id=ev.id, campaign_id=campaign_id, answered_by=answered_by.id,
                                 answered_at=now, title=clean[:200], script_id=script.id,
                                 script_version=script.version))
    return {"script_id": script.id, "version": script.version, "title": clean, "campaign_id": campaign_id,
            "answered": sorted(set(question_ids) - done), "new_marker": questions.new_marker(day)}
