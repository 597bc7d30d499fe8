"""Supervisor mode's wire vocabulary and the live board's state (docs/supervisor.md).

Pure: no Qt, no I/O. ``sync.supervisor`` turns the server's JSON into these
values and runs the streams; the TL's screens (app/, ui/) keep a
:class:`BoardState` and repaint the rows :meth:`BoardState.apply` reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from core.contract import WireEnum
from core.timeutil import parse_iso


class BoardEvent(WireEnum):
    """The board stream's events (``/supervisor/board/stream``)."""

    SNAPSHOT = "snapshot"  # the whole team: replaces everything
    AGENT = "agent"  # a patch of one row: replaces the top-level fields it carries
    MESSAGE = "message"  # a TL of the team sent a message


class AgentFeedEvent(WireEnum):
    """The agent stream's events (``/agent/stream``)."""

    HELLO = "hello"  # connected (``resync``: true → pull now, something may have been missed)
    COMMAND = "command"  # an ``agent_command`` (same shape as the pulled entity)
    MESSAGE = "message"  # a ``team_message``


class MonitorMode(WireEnum):
    LISTEN = "listen"  # 监听
    WHISPER = "whisper"  # 耳语
    BARGE = "barge"  # 强插


class CommandStatus(WireEnum):
    PENDING = "pending"
    DEFERRED = "deferred"  # the agent's app will carry it out later (e.g. after the call)
    APPLIED = "applied"
    REFUSED = "refused"
    SUPERSEDED = "superseded"  # a newer order for the same agent replaced it
    EXPIRED = "expired"  # nobody carried it out within 15 minutes


#: What an agent's app may answer to a command (``POST /agent/commands/{id}/ack``).
ACK_RESULTS = (CommandStatus.APPLIED, CommandStatus.DEFERRED, CommandStatus.REFUSED)
OPEN_COMMAND = frozenset({CommandStatus.PENDING, CommandStatus.DEFERRED})


class AuditAction(WireEnum):
    MONITOR_GRANT = "monitor_grant"
    MONITOR_START = "monitor_start"
    MONITOR_MODE = "monitor_mode"
    MONITOR_END = "monitor_end"
    FORCE_STATE = "force_state"
    COMMAND_ACK = "command_ack"
    MESSAGE = "message"


def _t(value: Any) -> dt.datetime | None:
    try:
        return parse_iso(value)
    except (TypeError, ValueError):
        return None


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class CallInfo:
    call_id: str | None
    lead_id: str | None
    started_at: dt.datetime | None
    number_masked: str | None  # "138****5678": the board never gets a whole number

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CallInfo:
        return cls(_s(d.get("call_id")), _s(d.get("lead_id")), _t(d.get("started_at")), _s(d.get("number_masked")))


@dataclass(frozen=True)
class AgentPresence:
    state: str = "offline"  # core.agent_state.AgentState values
    reason: str | None = None
    since: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    version: int = 0
    call: CallInfo | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AgentPresence:
        call = d.get("call")
        return cls(str(d.get("state") or "offline"), _s(d.get("reason")), _t(d.get("since")), _t(d.get("last_seen")),
                   int(d.get("version") or 0), CallInfo.from_json(call) if isinstance(call, dict) else None)


@dataclass(frozen=True)
class TodayNumbers:
    date: str = ""
    calls_made: int = 0  # 通次
    connected: int = 0
    talk_seconds: int = 0  # 通时
    conversions: int = 0
    callbacks_due: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TodayNumbers:
        return cls(str(d.get("date") or ""), *(int(d.get(k) or 0) for k in (
            "calls_made", "connected", "talk_seconds", "conversions", "callbacks_due")))

    @property
    def connect_rate(self) -> float:
        return self.connected / self.calls_made if self.calls_made else 0.0


@dataclass(frozen=True)
class DailyTargets:
    calls_per_day: int = 30
    talk_minutes_per_day: int = 50
    conversions_per_month: int = 10

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DailyTargets:
        return cls(int(d.get("calls_per_day") or 0), int(d.get("talk_minutes_per_day") or 0),
                   int(d.get("conversions_per_month") or 0))


@dataclass(frozen=True)
class AgentCommand:
    """A TL's order (the ``agent_command`` entity / ``command`` event)."""

    id: str
    agent_id: str
    team_id: str
    kind: str  # set_state
    state: str  # paused | ready
    reason: str | None
    issued_by: str
    issued_by_name: str
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    status: str  # CommandStatus
    acked_at: dt.datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AgentCommand:
        return cls(str(d["id"]), str(d.get("agent_id") or ""), str(d.get("team_id") or ""), str(d.get("kind") or ""),
                   str(d.get("state") or ""), _s(d.get("reason")), str(d.get("issued_by") or ""),
                   str(d.get("issued_by_name") or ""), _t(d.get("issued_at")), _t(d.get("expires_at")),
                   str(d.get("status") or CommandStatus.PENDING), _t(d.get("acked_at")))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_COMMAND

    def open_at(self, now: dt.datetime) -> bool:
        """Still to be carried out at ``now`` (naive UTC): open and not past ``expires_at``."""
        return self.is_open and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class TeamMessage:
    """A TL's message (the ``team_message`` entity / ``message`` event); to_agent_id None = the team."""

    id: str
    team_id: str
    sender_id: str
    sender_name: str
    to_agent_id: str | None
    text: str
    sent_at: dt.datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TeamMessage:
        return cls(str(d["id"]), str(d.get("team_id") or ""), str(d.get("sender_id") or ""),
                   str(d.get("sender_name") or ""), _s(d.get("to_agent_id")), str(d.get("text") or ""),
                   _t(d.get("sent_at")))


@dataclass(frozen=True)
class MonitorInfo:
    """The board's ``monitor`` field: a session open on this agent."""

    session_id: str
    tl_id: str
    mode: str
    call_id: str | None
    started_at: dt.datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MonitorInfo:
        return cls(str(d["session_id"]), str(d.get("tl_id") or ""), str(d.get("mode") or ""), _s(d.get("call_id")),
                   _t(d.get("started_at")))


@dataclass(frozen=True)
class BoardRow:
    agent_id: str
    username: str
    display_name: str
    sip_user: str | None
    presence: AgentPresence = AgentPresence()
    today: TodayNumbers = TodayNumbers()
    targets: DailyTargets = DailyTargets()
    last_sync_at: dt.datetime | None = None
    pending_command: AgentCommand | None = None
    monitor: MonitorInfo | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BoardRow:
        row = cls(str(d["agent_id"]), str(d.get("username") or ""), str(d.get("display_name") or ""),
                  _s(d.get("sip_user")))
        return row.patched(d)

    def patched(self, d: dict[str, Any]) -> BoardRow:
        """This row with the top-level fields a patch carries replaced."""
        changes: dict[str, Any] = {}
        if isinstance(d.get("presence"), dict):
            changes["presence"] = AgentPresence.from_json(d["presence"])
        if isinstance(d.get("today"), dict):
            changes["today"] = TodayNumbers.from_json(d["today"])
        if isinstance(d.get("targets"), dict):
            changes["targets"] = DailyTargets.from_json(d["targets"])
        if "last_sync_at" in d:
            changes["last_sync_at"] = _t(d["last_sync_at"])
        if "pending_command" in d:
            pc = d["pending_command"]
            changes["pending_command"] = AgentCommand.from_json(pc) if isinstance(pc, dict) else None
        if "monitor" in d:
            m = d["monitor"]
            changes["monitor"] = MonitorInfo.from_json(m) if isinstance(m, dict) else None
        return replace(self, **changes) if changes else self


#: ``BoardState.apply`` returns this when every row may have changed (a snapshot).
ALL_ROWS = frozenset({"*"})


@dataclass
class BoardState:
    """The TL's board as the last snapshot and the patches since made it.

    ``apply`` is the one reducer: it drops presence patches older than what the
    row shows (the server filters too), and reports which rows changed so a
    view repaints only those. ``received_at`` (naive UTC, the caller's clock) is
    when the server last spoke; ``connected`` False makes the board stale.
    """

    team_id: str | None = None
    team_name: str | None = None
    timezone: str = "Asia/Shanghai"
    date: str = ""
    stale_after_s: int = 30
    server_time: dt.datetime | None = None
    rows: dict[str, BoardRow] = field(default_factory=dict)
    messages: list[TeamMessage] = field(default_factory=list)
    connected: bool = False
    received_at: dt.datetime | None = None

    def apply(self, event: str, data: dict[str, Any], now: dt.datetime | None = None) -> frozenset[str]:
        """Apply one stream event; returns the agent ids whose rows changed (ALL_ROWS)."""
        if now is not None:
            self.received_at = now
        if event == BoardEvent.SNAPSHOT:
            self.team_id, self.team_name = _s(data.get("team_id")), _s(data.get("team_name"))
            self.timezone = str(data.get("timezone") or self.timezone)
            self.date = str(data.get("date") or "")
            self.stale_after_s = int(data.get("stale_after_s") or 30)
            self.server_time = _t(data.get("server_time"))
            self.rows = {r.agent_id: r for r in (BoardRow.from_json(a) for a in data.get("agents") or [])}
            self.connected = True
            return ALL_ROWS
        if event == BoardEvent.MESSAGE:
            self.messages.append(TeamMessage.from_json(data))
            return frozenset()
        if event != BoardEvent.AGENT:
            return frozenset()
        agent_id = str(data.get("agent_id") or "")
        row = self.rows.get(agent_id)
        if row is None:
            return frozenset()
        pres = data.get("presence")
        if isinstance(pres, dict):
            version = int(pres.get("version") or 0)
            if version < row.presence.version or (version == row.presence.version
                                                  and pres.get("state") == row.presence.state):
                data = {k: v for k, v in data.items() if k != "presence"}
        new = row.patched(data)
        if new == row:
            return frozenset()
        self.rows[agent_id] = new
        return frozenset({agent_id})

    def disconnected(self) -> None:
        self.connected = False

    def age_s(self, now: dt.datetime) -> float | None:
        """Seconds since the server last spoke (None before the first snapshot)."""
        return None if self.received_at is None else max(0.0, (now - self.received_at).total_seconds())

    def is_stale(self, now: dt.datetime, after_s: float = 20.0) -> bool:
        """Disconnected, or silent for longer than the server's keep-alive allows."""
        age = self.age_s(now)
        return not self.connected or age is None or age > after_s


def time_in_state(presence: AgentPresence, now: dt.datetime) -> float:
    """Seconds in the current state (0 when unknown). ``now``: naive UTC, the server's clock
    as best known (``server_time`` of the snapshot + elapsed)."""
    if presence.since is None:
        return 0.0
    return max(0.0, (now - presence.since).total_seconds())


def projected_finish(done: float, target: float, work_start: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When the target is reached at today's pace so far ("on track for 17:00"): None
    before any progress or before the day's work started; ``now`` once it is reached."""
    if target <= 0 or done >= target:
        return now
    worked = (now - work_start).total_seconds()
    if done <= 0 or worked <= 0:
        return None
    return now + dt.timedelta(seconds=(target - done) * worked / done)
