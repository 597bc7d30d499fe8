"""Coaching (辅导表) reads and the question inbox (docs/coaching.md).

Evaluations and the agent's answers are *events* (``POST /sync/push``) and reach the apps by
pull; these endpoints are the direct reads a screen needs (one call, one recording), and
the inbox, whose answer writes a new script version.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import Field

from core import questions
from server import coaching, inbox, serialize
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, require, run_write, supervised_team
from server.models import CoachingForm, User
from server.security import Principal

router = APIRouter(prefix="/api/v1", tags=["coaching"], responses=ERRORS)
Supervisor = Annotated[Principal, Depends(require("tl", "admin"))]
ID = r"^[A-Za-z0-9_-]+$"


@router.get("/coaching/forms/{campaign_id}")
def form(campaign_id: Annotated[str, PathParam(max_length=64)], _p: Caller, ctx: Ctx) -> dict[str, Any]:
    """A campaign's coaching form with item ids (the pulled ``coaching_form`` entity)."""
    with ctx.reader() as s:
        row = s.get(CoachingForm, campaign_id)
        if row is None:
            raise ApiError(404, "not_found", "this campaign has no coaching form")
        return serialize.coaching_form(row)


@router.get("/coaching/evaluations")
def evaluations(p: Caller, ctx: Ctx, agent_id: str | None = Query(default=None, max_length=64),
                call_id: str | None = Query(default=None, max_length=64),
                team_id: str | None = Query(default=None, max_length=64, pattern=ID),
                include_superseded: bool = False,
                limit: int = Query(default=200, ge=1, le=1000)) -> dict[str, Any]:
    """Evaluations: an agent's own; a TL's team's (with the agents' acknowledgements and
    disputes); an admin's any. Newest first; corrections replace what they supersede unless
    ``include_superseded``."""
    if p.role == "tsr":
        if agent_id and agent_id != p.user_id:
            raise ApiError(403, "forbidden", "only your own evaluations")
        agent_id, team_id = p.user_id, None
    elif p.role == "tl":
        team_id = supervised_team(p, team_id)
    with ctx.reader() as s:
        rows = coaching.evaluations(s, agent_id=agent_id, team_id=team_id, call_id=call_id,
                                    include_superseded=include_superseded, limit=limit)
        return {"evaluations": [serialize.coaching_evaluation(e) for e in rows]}


class AnswerIn(In):
    campaign_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(default=None, max_length=64, pattern=ID)
    question_ids: list[str] = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=200, description="the ## heading under 异议处理")
    answer: str = Field(min_length=1, max_length=4000)


@router.get("/supervisor/questions", tags=["inbox"])
def question_inbox(p: Supervisor, ctx: Ctx, campaign_id: str | None = Query(default=None, max_length=64),
                   team_id: str | None = Query(default=None, max_length=64, pattern=ID),
                   status: Literal["open", "answered", "all"] = "open",
                   threshold: float = Query(default=questions.SIMILAR, ge=0.1, le=1.0),
                   days: int = Query(default=90, ge=1, le=366)) -> dict[str, Any]:
    """The team's unscripted questions (记录新问题), grouped by campaign and similar wording,
    each with the agent, lead and call it came from."""
    team = supervised_team(p, team_id) if (p.role == "tl" or team_id) else None
    with ctx.reader() as s:
        return inbox.listing(s, team, campaign_id, status, threshold, days)


@router.post("/supervisor/questions/answer", tags=["inbox"])
def answer_questions(body: AnswerIn, p: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """Answer a group of questions: a new entry under 异议处理 of the campaign's script (a new
    version, marked ``<!-- new: date -->``), pulled by every agent; the questions are answered."""
    team = supervised_team(p, body.team_id) if (p.role == "tl" or body.team_id) else None

    def go(s) -> dict[str, Any]:
        me = s.get(User, p.user_id)
        try:
            return inbox.answer(s, me, team, body.campaign_id, list(dict.fromkeys(body.question_ids)),
                                body.question, body.answer, ctx.config.tz)
        except inbox.InboxError as exc:
            raise ApiError(exc.status, exc.code, str(exc)) from None

    return run_write(ctx, go)
