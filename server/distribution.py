"""Lead distribution (分配名单) and reclaim (收回), per campaign and team (docs/coaching.md).

How many leads each agent gets is core.distribution's (largest remainder, weighted by each
agent's conversion rate over a period, with a floor). Exclusivity: every lead is assigned
to one agent at a time, also when two TLs distribute at once. Each assignment is a
conditional ``UPDATE … WHERE assigned_to IS NULL`` (a reclaim: ``WHERE assigned_to =
<agent>``), so a lead another transaction took is never taken again; on PostgreSQL a
transaction-scoped advisory lock per campaign also serialises distributions, so the
second TL picks from what the first left (not fewer leads than asked), and SQLite has one
writer at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from core.contract import OPEN_STATUSES, ChangeOp, Entity
from core.distribution import EVEN, apportion, weights_for
from core.kpi import KpiSnapshot
from server import changes, floor_control
from server.models import Campaign, Disposition, Event, Lead, LeadReclaim, User, utcnow
from server.reports import agent_stats, day_bounds_utc

MAX_LEADS = 100_000
_LEADS = Lead.__table__  # Core statements: a 10,000-lead commit skips the ORM's bulk layer


class DistributionError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _lock(s: Session, campaign_id: str) -> None:
    if s.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"distribute:{campaign_id}".encode()).digest()[:8], "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _agents(s: Session, team_id: str, only: Sequence[str] | None = None,
            exclude: Sequence[str] = ()) -> list[User]:
    q = select(User).where(User.team_id == team_id, User.role == "tsr", User.active.is_(True))
    if only:
        q = q.where(User.id.in_(list(only)))
    agents = [u for u in s.execute(q.order_by(User.username)).scalars() if u.id not in set(exclude)]
    if only and len(agents) != len(set(only) - set(exclude)):
        raise DistributionError("not_your_team", "an agent is not an active agent of this team")
    return agents


def campaign_of(s: Session, campaign_id: str) -> Campaign:
    c = s.get(Campaign, campaign_id)
    if c is None:
        raise DistributionError("unknown_campaign", "no such campaign")
    return c


def overview(s: Session, campaign_id: str, team_id: str, tz: str, period_days: int = 30,
             today: dt.date | None = None) -> dict[str, Any]:
    """Unassigned leads of the campaign; each agent's open leads, contacts today (calls made)
    and conversion rate over the last ``period_days`` days; late dispositions of reclaimed leads."""
    campaign_of(s, campaign_id)
    today = today or dt.datetime.now(ZoneInfo(tz)).date()
    agents = _agents(s, team_id)
    ids = [a.id for a in agents]
    unassigned = s.execute(select(func.count()).select_from(Lead).where(
        Lead.campaign_id == campaign_id, Lead.assigned_to.is_(None), Lead.status.in_(OPEN_STATUSES))).scalar_one()
    open_by: dict[str, int] = dict(s.execute(
        select(Lead.assigned_to, func.count()).where(Lead.campaign_id == campaign_id, Lead.assigned_to.in_(ids),
                                                     Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.assigned_to)).all()) if ids else {}
    t0, t1 = day_bounds_utc(today, tz)
    now_stats = agent_stats(s, ids, t0, t1)
    p0, _ = day_bounds_utc(today - dt.timedelta(days=max(1, period_days) - 1), tz)
    period = agent_stats(s, ids, p0, t1)
    rows = []
    for a in agents:
        snap = KpiSnapshot(connected=period[a.id]["connected"], conversions=period[a.id]["conversions"])
        rows.append({"agent_id": a.id, "username": a.username, "display_name": a.display_name,
                     "open_leads": int(open_by.get(a.id, 0)), "contacts_today": now_stats[a.id]["calls_made"],
                     "connected_today": now_stats[a.id]["connected"],
                     "conversions_period": snap.conversions, "connected_period": snap.connected,
                     "conversion_rate": round(snap.conversion_rate, 4)})
    return {"campaign_id": campaign_id, "team_id": team_id, "date": today.isoformat(),
            "period_days": period_days, "unassigned": int(unassigned), "agents": rows,
            "after_reclaim": after_reclaim(s, team_id, campaign_id)}


def after_reclaim(s: Session, team_id: str, campaign_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Dispositions an agent pushed for a lead after it was reclaimed from them (kept, shown here)."""
    q = (select(Disposition, LeadReclaim.at, Event.received_at)
         .join(LeadReclaim, (LeadReclaim.lead_id == Disposition.lead_id)
               & (LeadReclaim.from_user == Disposition.user_id))
         .join(Event, Event.id == Disposition.id)
         .where(LeadReclaim.team_id == team_id, Event.received_at >= LeadReclaim.at)
         .order_by(Event.received_at.desc()).limit(limit))
    if campaign_id:
        q = q.join(Lead, Lead.id == Disposition.lead_id).where(Lead.campaign_id == campaign_id)
    out, seen = [], set()
    for d, at, received in s.execute(q).all():
        if d.id in seen:
            continue
        seen.add(d.id)
        out.append({"disposition_id": d.id, "lead_id": d.lead_id, "agent_id": d.user_id, "code": d.code,
                    "call_id": d.call_id, "occurred_at": d.occurred_at.isoformat() + "Z",
                    "reclaimed_at": at.isoformat() + "Z", "received_at": received.isoformat() + "Z",
                    "flag": "after_reclaim"})
    return out


def plan(agents: list[dict[str, Any]], n: int, mode: str, floor: int) -> dict[str, int]:
    """How many leads each agent gets (agent rows from ``overview``)."""
    rates = [a["conversion_rate"] for a in agents]
    counts = apportion(n, weights_for(mode, rates), floor)
    return {a["agent_id"]: c for a, c in zip(agents, counts, strict=True)}


def _deal(lead_ids: list[str], quota: dict[str, int]) -> dict[str, list[str]]:
    """Leads in priority order dealt out in rounds, so the best ones are spread across agents."""
    left = dict(quota)
    out: dict[str, list[str]] = {a: [] for a in quota}
    it = iter(lead_ids)
    while any(v > 0 for v in left.values()):
        for a in quota:
            if left[a] > 0:
                nxt = next(it, None)
                if nxt is None:
                    return out
                out[a].append(nxt)
                left[a] -= 1
    return out


def _assign(s: Session, ids_by_agent: dict[str, list[str]], agents: dict[str, User]) -> dict[str, int]:
    now = utcnow()
    got: dict[str, int] = {}
    for aid, ids in ids_by_agent.items():
        team = agents[aid].team_id
        n = 0
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            taken = s.connection().execute(
                update(_LEADS).where(_LEADS.c.id.in_(chunk), _LEADS.c.assigned_to.is_(None))
                .values(assigned_to=aid, team_id=team, updated_at=now).returning(_LEADS.c.id)).scalars().all()
            for lid in taken:
                for scope in changes.lead_scopes(aid, team):
                    changes.note(s, scope, Entity.LEAD, lid)
            n += len(taken)
        got[aid] = n
    return got


def distribute(s: Session, campaign_id: str, team_id: str, tz: str, *, count: int, mode: str = EVEN,
               floor: int = 0, period_days: int = 30, agent_ids: Sequence[str] | None = None,
               exclude: Sequence[str] = (), lead_ids: Sequence[str] | None = None,
               commit: bool = False) -> dict[str, Any]:
    """Preview (``commit=False``: nothing changes) or hand out up to ``count`` unassigned open
    leads of the campaign (or exactly ``lead_ids``) to the team's agents."""
    if not 0 <= count <= MAX_LEADS:
        raise DistributionError("bad_count", f"count must be 0..{MAX_LEADS}")
    if commit:
        _lock(s, campaign_id)
    ov = overview(s, campaign_id, team_id, tz, period_days)
    rows = [a for a in ov["agents"] if (not agent_ids or a["agent_id"] in set(agent_ids))
            and a["agent_id"] not in set(exclude)]
    if agent_ids and len(rows) != len(set(agent_ids) - set(exclude)):
        raise DistributionError("not_your_team", "an agent is not an active agent of this team")
    if not rows:
        raise DistributionError("no_agents", "no agents to distribute to")
    q = select(Lead.id).where(Lead.campaign_id == campaign_id, Lead.assigned_to.is_(None),
                              Lead.status.in_(OPEN_STATUSES))
    if lead_ids is not None:
        q = q.where(Lead.id.in_(list(lead_ids)))
    available = list(s.execute(q.order_by(Lead.priority, Lead.policy_expiry, Lead.external_id)
                               .limit(count)).scalars())
    quota = plan(rows, len(available), mode, floor)
    result = {"campaign_id": campaign_id, "team_id": team_id, "mode": mode, "floor": floor,
              "period_days": period_days, "requested": count, "available": len(available),
              "agents": [{**a, "planned": quota[a["agent_id"]]} for a in rows]}
    if not commit:
        return {**result, "committed": False}
    users = {u.id: u for u in _agents(s, team_id, only=[a["agent_id"] for a in rows])}
    got = _assign(s, _deal(available, quota), users)
    for a in result["agents"]:
        a["assigned"] = got.get(a["agent_id"], 0)
    return {**result, "committed": True, "assigned": sum(got.values())}


def reclaim(s: Session, tl: User, campaign_id: str | None, team_id: str, agent_id: str, tz: str, *,
            redistribute: bool = True, mode: str = EVEN, floor: int = 0,
            period_days: int = 30) -> dict[str, Any]:
    """Take an (absent) agent's open leads back; optionally hand them to the team's other agents.
    The agent gets a tombstone per lead and a message; what they record offline is kept."""
    agent = s.get(User, agent_id)
    if agent is None or agent.team_id != team_id or agent.role != "tsr":
        raise DistributionError("not_your_team", "agent is not in your team")
    if campaign_id:
        campaign_of(s, campaign_id)
        _lock(s, campaign_id)
    q = select(Lead.id, Lead.campaign_id).where(Lead.assigned_to == agent_id, Lead.status.in_(OPEN_STATUSES))
    if campaign_id:
        q = q.where(Lead.campaign_id == campaign_id)
    now = utcnow()
    reclaimed: dict[str, list[str]] = {}
    rows = s.execute(q.order_by(Lead.priority, Lead.policy_expiry, Lead.external_id)).all()
    for start in range(0, len(rows), 900):
        chunk = [r[0] for r in rows[start:start + 900]]
        camp = {r[0]: r[1] for r in rows[start:start + 900]}
        taken = s.connection().execute(
            update(_LEADS).where(_LEADS.c.id.in_(chunk), _LEADS.c.assigned_to == agent_id)
            .values(assigned_to=None, team_id=None, updated_at=now).returning(_LEADS.c.id)).scalars().all()
        for lid in taken:
            s.add(LeadReclaim(lead_id=lid, from_user=agent_id, by_user=tl.id, team_id=team_id, at=now))
            changes.note(s, changes.user_scope(agent_id), Entity.LEAD, lid, ChangeOp.DELETE)
            changes.note(s, changes.team_scope(team_id), Entity.LEAD, lid, ChangeOp.DELETE)
            changes.note(s, changes.ADMIN, Entity.LEAD, lid)
            reclaimed.setdefault(camp[lid], []).append(lid)
    total = sum(len(v) for v in reclaimed.values())
    if total:
        floor_control.send_message(
            s, tl, team_id, f"你的 {total} 条未完成名单已由{tl.display_name or tl.username}收回并重新分配；"
            "已记录的通话结果都会保留。", agent, now)
    out: dict[str, Any] = {"agent_id": agent_id, "reclaimed": total, "redistributed": 0, "agents": []}
    if redistribute and total:
        for camp_id, ids in reclaimed.items():
            res = distribute(s, camp_id, team_id, tz, count=len(ids), mode=mode, floor=floor,
                             period_days=period_days, exclude=[agent_id], lead_ids=ids, commit=True)
            out["redistributed"] += res["assigned"]
            out["agents"].extend(res["agents"])
    return out

