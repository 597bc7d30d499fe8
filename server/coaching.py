"""Coaching (辅导表) on the server: the campaign's form, evaluation events, the agent's answer.

Events (docs/coaching.md), pushed through ``/sync/push`` like every other event and stored
once by id (server/events.py calls :func:`apply`):

* ``coaching_evaluation_recorded`` (a TL of the agent's team, or an admin): items answered
  Y / N / NA on the campaign's form, each with a comment and an optional moment in the call;
  the score is core.coaching's. A correction is a new event with ``supersedes``: the old row
  stays, marked ``superseded_by`` (never overwritten).
* ``coaching_acknowledged`` / ``coaching_disputed`` (only the evaluated agent; a dispute
  needs a comment).

Pull: ``coaching_evaluation`` goes to the agent (``u:``), their team's TLs (``t:``) and
admins; ``coaching_form`` to everyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import coaching as rules
from core.contract import Entity, EventType
from server import changes
from server.models import Call, CoachingEvaluation, CoachingForm, Lead, User, utcnow
from server.security import Principal


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class _P(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4000)


class Item(_P):
    item: str = Field(min_length=1, max_length=20)
    answer: Literal["Y", "N", "NA"]
    comment: str = Field(default="", max_length=rules.COMMENT_LIMIT)
    at_s: float | None = Field(default=None, ge=0, le=24 * 3600)


class EvaluationRecorded(_P):
    agent_id: str = Field(min_length=1, max_length=64)
    call_id: str = Field(min_length=1, max_length=64)
    campaign_id: str | None = Field(default=None, max_length=64)
    source: Literal["live", "recording"] = "recording"
    items: list[Item] = Field(min_length=1, max_length=rules.MAX_ITEMS)
    overall_comment: str = Field(default="", max_length=4000)
    supersedes: str | None = Field(default=None, max_length=36)


class Acknowledged(_P):
    evaluation_id: str = Field(min_length=1, max_length=36)
    comment: str = Field(default="", max_length=4000)


class Disputed(_P):
    evaluation_id: str = Field(min_length=1, max_length=36)
    comment: str = Field(min_length=1, max_length=4000)


PAYLOADS: dict[str, type[BaseModel]] = {
    EventType.COACHING_EVALUATION_RECORDED: EvaluationRecorded,
    EventType.COACHING_ACKNOWLEDGED: Acknowledged,
    EventType.COACHING_DISPUTED: Disputed,
}
EVENT_TYPES = frozenset(PAYLOADS)


def note_evaluation(s: Session, ev: CoachingEvaluation) -> None:
    changes.note(s, changes.user_scope(ev.agent_id), Entity.COACHING_EVALUATION, ev.id)
    if ev.team_id:
        changes.note(s, changes.team_scope(ev.team_id), Entity.COACHING_EVALUATION, ev.id)
    changes.note(s, changes.ADMIN, Entity.COACHING_EVALUATION, ev.id)


def form_for(s: Session, campaign_id: str) -> rules.CoachingForm | None:
    row = s.get(CoachingForm, campaign_id)
    return rules.parse_form(row.form) if row is not None else None


def load_form(s: Session, campaign_id: str, data: dict[str, Any]) -> CoachingForm:
    """Store (or replace) a campaign's form; raises core.coaching.FormError when invalid."""
    form = rules.parse_form(data)
    row = s.get(CoachingForm, campaign_id)
    body = form.to_json()
    if row is None:
        row = CoachingForm(campaign_id=campaign_id, form=body, version=1, updated_at=utcnow())
        s.add(row)
    elif row.form != body:
        row.form, row.version, row.updated_at = body, row.version + 1, utcnow()
    else:
        return row
    changes.note(s, changes.ALL, Entity.COACHING_FORM, campaign_id)
    return row


def _evaluation(s: Session, p: Principal, ev_id: str, at: dt.datetime, pl: EvaluationRecorded) -> None:
    if p.role not in ("tl", "admin"):
        raise Refused("forbidden", "only a team leader evaluates calls")
    agent = s.get(User, pl.agent_id)
    if agent is None or agent.role != "tsr" or (p.role == "tl" and (p.team_id is None or agent.team_id != p.team_id)):
        raise Refused("forbidden", "agent is not in your team")
    call = s.get(Call, pl.call_id)
    if call is not None and call.user_id != agent.id:
        raise Refused("call_mismatch", "the call is not this agent's")
    campaign_id = pl.campaign_id
    if campaign_id is None and call is not None and call.lead_id:
        lead = s.get(Lead, call.lead_id)
        campaign_id = lead.campaign_id if lead else None
    if campaign_id is None:
        raise Refused("campaign_required", "campaign_id is needed (the call is not known yet)")
    form = form_for(s, campaign_id)
    if form is None:
        raise Refused("no_form", "this campaign has no coaching form")
    answers = [rules.ItemAnswer(i.item, i.answer, i.comment, i.at_s) for i in pl.items]
    problems = rules.check_answers(form, answers)
    if problems:
        raise Refused("malformed", "payload.items: " + problems[0])
    prior = None
    if pl.supersedes:
        prior = s.get(CoachingEvaluation, pl.supersedes)
        if prior is None or prior.agent_id != agent.id or prior.call_id != pl.call_id:
            raise Refused("bad_supersedes", "supersedes no evaluation of this call")
        if prior.superseded_by is not None:
            raise Refused("bad_supersedes", "that evaluation was already corrected")
    row = CoachingEvaluation(
        id=ev_id, call_id=pl.call_id, agent_id=agent.id, team_id=agent.team_id, evaluator_id=p.user_id,
        campaign_id=campaign_id, source=pl.source, items=[i.model_dump() for i in pl.items],
        overall_comment=pl.overall_comment, score=rules.score(answers), supersedes=pl.supersedes,
        evaluated_at=at, ack_state=rules.ACK_NONE)
    s.add(row)
    if prior is not None:
        prior.superseded_by = ev_id
        note_evaluation(s, prior)
    note_evaluation(s, row)


def _answer(s: Session, p: Principal, at: dt.datetime, pl: Acknowledged | Disputed, state: str) -> None:
    ev = s.get(CoachingEvaluation, pl.evaluation_id)
    if ev is None or ev.agent_id != p.user_id:
        # Same answer for "no such evaluation" and "not yours".
        raise Refused("not_your_evaluation", "only the evaluated agent answers an evaluation")
    if ev.ack_at is not None and ev.ack_at > at:
        return  # an older answer arriving late does not win
    ev.ack_state, ev.ack_comment, ev.ack_at = state, pl.comment or None, at
    note_evaluation(s, ev)


def apply(s: Session, p: Principal, ev_id: str, at: dt.datetime, payload: BaseModel) -> None:
    if isinstance(payload, EvaluationRecorded):
        _evaluation(s, p, ev_id, at, payload)
    elif isinstance(payload, Acknowledged):
        _answer(s, p, at, payload, rules.ACK_ACKNOWLEDGED)
    elif isinstance(payload, Disputed):
        _answer(s, p, at, payload, rules.ACK_DISPUTED)


def evaluations(s: Session, *, agent_id: str | None = None, team_id: str | None = None,
                call_id: str | None = None, include_superseded: bool = False, limit: int = 500) -> list[CoachingEvaluation]:
    q = select(CoachingEvaluation)
    if agent_id:
        q = q.where(CoachingEvaluation.agent_id == agent_id)
    if team_id:
        q = q.where(CoachingEvaluation.team_id == team_id)
    if call_id:
        q = q.where(CoachingEvaluation.call_id == call_id)
    if not include_superseded:
        q = q.where(CoachingEvaluation.superseded_by.is_(None))
    return list(s.execute(q.order_by(CoachingEvaluation.evaluated_at.desc()).limit(limit)).scalars())
