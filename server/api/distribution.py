"""Lead distribution (分配名单): overview, preview, commit, reclaim (docs/coaching.md).

A TL works on their own team; an admin names ``team_id``. TSRs get 403.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from core.distribution import EVEN
from server import distribution
from server.api.common import ERRORS, ApiError, Ctx, In, require, run_write, supervised_team
from server.models import User
from server.security import Principal

router = APIRouter(prefix="/api/v1/supervisor/distribution", tags=["distribution"], responses=ERRORS)
Supervisor = Annotated[Principal, Depends(require("tl", "admin"))]
ID = r"^[A-Za-z0-9_-]+$"


class DistributeIn(In):
    campaign_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(default=None, max_length=64, pattern=ID)
    count: int = Field(ge=0, le=distribution.MAX_LEADS)
    mode: Literal["even", "weighted"] = EVEN
    floor: int = Field(default=0, ge=0, le=10_000)
    period_days: int = Field(default=30, ge=1, le=366)
    agent_ids: list[str] | None = Field(default=None, max_length=500)


class ReclaimIn(In):
    agent_id: str = Field(min_length=1, max_length=64)
    campaign_id: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64, pattern=ID)
    redistribute: bool = True
    mode: Literal["even", "weighted"] = EVEN
    floor: int = Field(default=0, ge=0, le=10_000)
    period_days: int = Field(default=30, ge=1, le=366)


def _err(exc: distribution.DistributionError) -> ApiError:
    status = {"not_your_team": 403, "unknown_campaign": 404}.get(exc.code, 409 if exc.code == "no_agents" else 400)
    return ApiError(status, exc.code, str(exc))


@router.get("")
def overview(p: Supervisor, ctx: Ctx, campaign_id: str = Query(min_length=1, max_length=64),
             team_id: str | None = Query(default=None, max_length=64, pattern=ID),
             period_days: int = Query(default=30, ge=1, le=366)) -> dict[str, Any]:
    """Unassigned leads; per agent: open leads, contacts today, conversion rate over the period;
    dispositions recorded for leads after they were reclaimed (``after_reclaim``)."""
    team = supervised_team(p, team_id)
    with ctx.reader() as s:
        try:
            return distribution.overview(s, campaign_id, team, ctx.config.tz, period_days)
        except distribution.DistributionError as exc:
            raise _err(exc) from None


def _run(p: Principal, ctx: Ctx, body: DistributeIn, commit: bool) -> dict[str, Any]:
    team = supervised_team(p, body.team_id)

    def go(s) -> dict[str, Any]:
        try:
            return distribution.distribute(s, body.campaign_id, team, ctx.config.tz, count=body.count,
                                           mode=body.mode, floor=body.floor, period_days=body.period_days,
                                           agent_ids=body.agent_ids, commit=commit)
        except distribution.DistributionError as exc:
            raise _err(exc) from None

    if not commit:
        with ctx.reader() as s:
            return go(s)
    return run_write(ctx, go)


@router.post("/preview")
def preview(body: DistributeIn, p: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """What a commit would do now (nothing changes): each agent's ``planned`` count."""
    return _run(p, ctx, body, commit=False)


@router.post("/commit")
def commit(body: DistributeIn, p: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """Hand out up to ``count`` unassigned leads; each agent's ``assigned`` count."""
    return _run(p, ctx, body, commit=True)


@router.post("/reclaim")
def reclaim(body: ReclaimIn, p: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """Take an absent agent's open leads back (they get a tombstone per lead and a message)
    and, with ``redistribute``, hand them to the team's other agents."""
    team = supervised_team(p, body.team_id)

    def go(s) -> dict[str, Any]:
        tl = s.get(User, p.user_id)
        try:
            return distribution.reclaim(s, tl, body.campaign_id, team, body.agent_id, ctx.config.tz,
                                        redistribute=body.redistribute, mode=body.mode, floor=body.floor,
                                        period_days=body.period_days)
        except distribution.DistributionError as exc:
            raise _err(exc) from None

    return run_write(ctx, go)
