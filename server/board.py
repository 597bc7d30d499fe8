"""The TL's live team board (班组监控): one row per agent of a team.

``snapshot`` reads it from the database (a handful of queries, once per board
connection); after that a board only receives patches published by the writers
(server/floor.py): presence changes, today's numbers after a push, the last
sync, open commands, monitor sessions. The numbers come from the daily report's
code (``reports.agent_stats``), so the board and the 日报表 cannot disagree.

A row (docs/supervisor.md)::

    {"agent_id", "username", "display_name", "sip_user",
     "presence": {"state", "reason", "since", "last_seen", "version",
                  "call": {"call_id", "lead_id", "started_at", "number_masked"} | null},
     "today": {"date", "calls_made", "connected", "talk_seconds", "conversions", "callbacks_due"},
     "targets": {"calls_per_day", "talk_minutes_per_day", "conversions_per_month"},
     "last_sync_at", "pending_command": {…} | null, "monitor": {…} | null}
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.kpi import Targets
from server import floor, floor_control, monitoring, presence, reports
from server.models import Lead, MonitorSession, Presence, Target, Team, User, utcnow
from server.serialize import iso

SWEEP_S = 1.0


def today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def today_view(day: dt.date, stats: dict[str, int]) -> dict[str, Any]:
    return {"date": day.isoformat(), **stats}


def targets_for(s: Session, ids: list[str]) -> dict[str, dict[str, int]]:
    """Each agent's daily targets: those of the campaign most of their leads are in,
    else the ``default`` row, else the built-in defaults (30 calls, 50 minutes)."""
    rows = {t.scope: t for t in s.execute(select(Target)).scalars()}
    best: dict[str, tuple[str, int]] = {}
    if ids:
        for uid, campaign_id, n in s.execute(
                select(Lead.assigned_to, Lead.campaign_id, func.count())
                .where(Lead.assigned_to.in_(ids)).group_by(Lead.assigned_to, Lead.campaign_id)).all():
            if n > best.get(uid, ("", -1))[1]:
                best[uid] = (campaign_id, n)
    builtin = Targets()
    out = {}
    for uid in ids:
        t = rows.get(best.get(uid, ("",))[0]) or rows.get("default")
        out[uid] = {"calls_per_day": t.calls_per_day if t else builtin.calls_per_day,
                    "talk_minutes_per_day": t.talk_minutes_per_day if t else builtin.talk_minutes_per_day,
                    "conversions_per_month": t.conversions_per_month if t else builtin.conversions_per_month}
    return out


def snapshot(s: Session, team_id: str, tz: str) -> dict[str, Any]:
    now = utcnow()
    day = today(tz)
    team = s.get(Team, team_id)
    rows = s.execute(select(User, Presence).outerjoin(Presence, Presence.user_id == User.id)
                     .where(User.team_id == team_id, User.active.is_(True), User.role == "tsr")
                     .order_by(User.username)).all()
    ids = [u.id for u, _ in rows]
    start, end = reports.day_bounds_utc(day, tz)
    stats = reports.agent_stats(s, ids, start, end)
    targets = targets_for(s, ids)
    commands = floor_control.open_commands(s, team_id, now)
    sessions = {m.agent_id: monitoring.board_view(m) for m in s.execute(
        select(MonitorSession).where(MonitorSession.team_id == team_id, MonitorSession.ended_at.is_(None))
        .order_by(MonitorSession.started_at)).scalars()}
    agents = [{
        "agent_id": u.id, "username": u.username, "display_name": u.display_name, "sip_user": u.sip_user,
        "presence": presence.view(row, now), "today": today_view(day, stats[u.id]), "targets": targets[u.id],
        "last_sync_at": iso(row.last_sync_at) if row else None,
        "pending_command": commands.get(u.id), "monitor": sessions.get(u.id),
    } for u, row in rows]
    return {"team_id": team_id, "team_name": team.name if team else None, "server_time": iso(now),
            "timezone": tz, "date": day.isoformat(), "stale_after_s": int(presence.STALE_AFTER.total_seconds()),
            "agents": agents}


def emit_sync(s: Session, user_id: str, team_id: str | None, tz: str, *, with_stats: bool) -> None:
    """After a push (or a pull, at most once a minute): last sync, and today's numbers
    when calls or dispositions came in. Computed once here, in the writer; every board
    of the team gets the same patch."""
    now = utcnow()
    presence.touch_sync(s, user_id, team_id, now)
    if not team_id:
        return
    patch: dict[str, Any] = {"agent_id": user_id, "last_sync_at": iso(now)}
    if with_stats:
        day = today(tz)
        start, end = reports.day_bounds_utc(day, tz)
        s.flush()
        patch["today"] = today_view(day, reports.agent_stats_one(s, user_id, start, end))
    floor.emit(s, floor.team_topic(team_id), "agent", patch)


class OfflineSweeper:
    """Agents whose heartbeats stopped turn offline after 30 s without anyone writing:
    once a second, *per process* and only while boards are open, one query finds them
    and their boards get an offline patch. Never a query per board."""

    def __init__(self, hub: floor.FloorHub, reader: sessionmaker[Session]) -> None:
        self.hub, self.reader = hub, reader
        self._announced: dict[str, int] = {}  # agent id -> presence version announced offline

    def _stale(self, teams: set[str]) -> list[tuple[str, str, int, dt.datetime]]:
        cut = utcnow() - presence.STALE_AFTER
        q = select(Presence.user_id, Presence.team_id, Presence.version, Presence.last_seen).where(
            Presence.state != "offline", Presence.last_seen < cut, Presence.team_id.is_not(None))
        if "*" not in teams:
            q = q.where(Presence.team_id.in_(sorted(teams)))
        with self.reader() as s:
            return [tuple(r) for r in s.execute(q).all()]

    async def __call__(self) -> None:
        teams = self.hub.watched("team:")
        if not teams:
            self._announced.clear()
            return
        rows = await asyncio.to_thread(self._stale, teams)
        seen = set()
        items = []
        for uid, team_id, version, last_seen in rows:
            seen.add(uid)
            if self._announced.get(uid) == version:
                continue
            self._announced[uid] = version
            items.append({"t": floor.team_topic(team_id), "e": "agent", "d": {"agent_id": uid, "presence": {
                "state": "offline", "reason": None, "since": iso(last_seen), "last_seen": iso(last_seen),
                "version": version, "call": None}}})
        for uid in set(self._announced) - seen:
            del self._announced[uid]
        if items:
            self.hub.dispatch(items)


SYNC_NOTE_EVERY = dt.timedelta(seconds=60)
_STATS_TYPES = frozenset({"call_ended", "disposition_recorded"})


def _on_board(role: str, team_id: str | None) -> bool:
    return role == "tsr" and bool(team_id)


def pull_sync_is_stale(s: Session, role: str, user_id: str, team_id: str | None) -> bool:
    """Should this pull be noted as the agent's last sync? (At most once a minute: a pull
    is a read, and most of them change nothing.)"""
    if not _on_board(role, team_id):
        return False
    # One column, not the ORM entity: this runs on every pull.
    last = s.execute(select(Presence.last_sync_at).where(Presence.user_id == user_id)).scalar()
    return last is None or utcnow() - last > SYNC_NOTE_EVERY


def after_push(s: Session, role: str, user_id: str, team_id: str | None, raw_events: list[Any],
               results: list[dict[str, Any]], tz: str) -> None:
    """In the push's transaction: the agent synced; today's numbers if calls or
    dispositions were accepted."""
    if not _on_board(role, team_id) or not results:
        return
    accepted = any(r.get("status") == "accepted" for r in results)
    with_stats = accepted and any(isinstance(e, dict) and e.get("type") in _STATS_TYPES for e in raw_events)
    emit_sync(s, user_id, team_id, tz, with_stats=with_stats)
