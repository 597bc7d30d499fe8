"""SQLAlchemy 2 models of the central server.

The server is the authority on leads: their status, next callback, last
attempt and last disposition are derived from the events agents push. Every
change a client must see is also written to ``sync_changes`` (see
server/changes.py), which is what ``pull`` reads.

Schema changes go through Alembic (server/migrations); never edit a released
migration, add a new one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.contract import LeadStatus

# Naive UTC: every DateTime column in this schema is UTC without tzinfo. (Still importable
# from here for the server modules that name it so.)
from core.timeutil import utcnow


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(10))  # admin | tl | tsr
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), nullable=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    sip_user: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # When role, team or active last changed (admin.update_user): every server instance
    # reads the users changed recently once a second (security.RevocationCache), so an
    # access token signed with the old role/team stops carrying it within seconds.
    authz_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # compliance, targets, pause_reasons — shaped like resources/data/dispositions_demo.json
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Script(Base):
    __tablename__ = "scripts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DispositionCode(Base):
    __tablename__ = "disposition_codes"

    id: Mapped[str] = mapped_column(String(110), primary_key=True)  # "<campaign_id>:<code>"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    group: Mapped[str] = mapped_column(String(20))  # connected | not_connected
    requires_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_note: Mapped[bool] = mapped_column(Boolean, default=False)
    adds_to_dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    closes_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    is_conversion: Mapped[bool] = mapped_column(Boolean, default=False)
    sip: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "external_id", name="uq_lead_campaign_external"),
        Index("ix_leads_assigned_callback", "assigned_to", "next_callback_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(50), default="")
    plate: Mapped[str] = mapped_column(String(20), default="")
    vehicle: Mapped[str] = mapped_column(String(100), default="")
    policy_expiry: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    last_premium: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(100), default="")
    priority: Mapped[int] = mapped_column(Integer, default=3)
    notes: Mapped[str] = mapped_column(Text, default="")
    # [{"number": "+86…", "label": ""}] — kept on the row: a lead is read and sent whole.
    phones: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW)  # core.contract.LeadStatus
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    # The assignee's team, denormalised so scope checks need no join.
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    next_callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_disposition: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # occurred_at of the event that last set status: older events arriving late do not win.
    state_event_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DncEntry(Base):
    __tablename__ = "dnc_entries"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Target(Base):
    __tablename__ = "targets"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)  # "default" or a campaign id
    calls_per_day: Mapped[int] = mapped_column(Integer, default=30)
    talk_minutes_per_day: Mapped[int] = mapped_column(Integer, default=50)
    conversions_per_month: Mapped[int] = mapped_column(Integer, default=10)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON, nullable=True)


class Counter(Base):
    """Named monotonic counters; ``change_seq`` orders sync_changes (see changes.py)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncChange(Base):
    """The latest change of one entity as seen by one audience (scope).

    scope: ``all`` (everyone), ``u:<user id>`` (an agent), ``t:<team id>`` (a TL),
    ``*`` (admins). One row per (scope, entity, id): a newer change moves the row
    to a newer seq, so a pull never returns stale versions.
    """

    __tablename__ = "sync_changes"
    __table_args__ = (
        UniqueConstraint("scope", "entity", "entity_id", name="uq_change_scope_entity"),
        Index("ix_changes_scope_seq", "scope", "seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    scope: Mapped[str] = mapped_column(String(70))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(120))
    op: Mapped[str] = mapped_column(String(10))  # upsert | delete
    seq: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """Every event ever pushed, stored once by its client-made UUID (the primary key)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_type_time", "user_id", "type", "occurred_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    lead_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10))  # core.contract.OutboxState: accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Call(Base):
    """One call as reported by ``call_ended`` (the source of 通次/通时)."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_user_dialed", "user_id", "dialed_at"),
        # Covering indexes for the 日报表 over a range (server/reports.py): the period's calls,
        # and a disposition's call, are read from the index alone.
        Index("ix_calls_report", "user_id", "dialed_at", "answered_at", "ended_at", "talk_seconds"),
        Index("ix_calls_id_times", "id", "ended_at", "answered_at", "talk_seconds"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's call_id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    lead_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dialed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    sip_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)


class Disposition(Base):
    __tablename__ = "dispositions"
    __table_args__ = (
        Index("ix_dispositions_user_time", "user_id", "occurred_at"),
        Index("ix_dispositions_report", "user_id", "occurred_at", "call_id", "code", "is_conversion",
              "callback_at", "supersedes"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # = the event id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    lead_id: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code: Mapped[str] = mapped_column(String(40))
    is_conversion: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    supersedes: Mapped[str | None] = mapped_column(String(36), nullable=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)


class RefreshFamily(Base):
    """One login on one device; every rotated refresh token and access token belongs to it."""

    __tablename__ = "refresh_families"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex; never the token
    family_id: Mapped[str] = mapped_column(ForeignKey("refresh_families.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "user:<name>" | "ip:<addr>"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Presence(Base):
    __tablename__ = "presence"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(20), default="offline")
    reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lead_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    since: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The current call's number, masked (138****5678): the board never gets a full number.
    call_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The agent's last push, or pull (written at most once a minute): the board's 最后同步.
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Recording(Base):
    __tablename__ = "recordings"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="uploading")  # uploading | complete
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class MonitorAudit(Base):
    """One row per monitor grant issued: who listened to whom, how, when."""

    __tablename__ = "monitor_audit"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    tl_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ServerSecret(Base):
    """Server-generated keys (grant signing key, access-token HMAC key). Never sent to clients."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AgentCommand(Base):
    """A TL's floor-control order to one agent (force 小休 / back to 就绪), pulled by the
    agent as ``agent_command`` and pushed on the agent stream; the agent acknowledges it."""

    __tablename__ = "agent_commands"
    __table_args__ = (Index("ix_agent_commands_team_open", "team_id", "acked_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    issued_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    issued_by_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))  # set_state
    state: Mapped[str] = mapped_column(String(20))  # paused | ready
    reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # applied | deferred | refused | superseded; acked_at is set when it is final (not deferred)
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    acked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class TeamMessage(Base):
    """A TL's short message to one agent or (to_agent_id NULL) the whole team."""

    __tablename__ = "team_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    sender_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    to_agent_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    text: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)


class MonitorSession(Base):
    """One monitoring session (监听 / 耳语 / 强插) started with a grant: mode changes and the
    end are reported by the TL's app; the agent's call ending closes it too."""

    __tablename__ = "monitor_sessions"
    __table_args__ = (Index("ix_monitor_sessions_team_open", "team_id", "ended_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    jti: Mapped[str] = mapped_column(ForeignKey("monitor_audit.jti"), unique=True)
    team_id: Mapped[str] = mapped_column(String(64))
    tl_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mode: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class SupervisorAudit(Base):
    """The supervisor audit trail a TL can list: who did what to whom, on which call, when,
    for how long (grants, monitor start / mode change / end, forced states, messages)."""

    __tablename__ = "supervisor_audit"
    __table_args__ = (Index("ix_supervisor_audit_team_id", "team_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    duration_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class FloorFeed(Base):
    """Live-floor messages for the other worker processes of an SQLite server run with
    several workers (PostgreSQL uses LISTEN/NOTIFY instead); kept for minutes only."""

    __tablename__ = "floor_feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


# -- Supervisor mode, part 2 (docs/coaching.md): playback audit, coaching, inbox, reclaims ---

class RecordingPlayback(Base):
    """One row per recording stream request (a playback or a seek): who, which, when, where."""

    __tablename__ = "recording_playbacks"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    range_start: Mapped[int] = mapped_column(BigInteger, default=0)
    range_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class CoachingForm(Base):
    """A campaign's coaching form (辅导表), pulled by everyone as ``coaching_form``."""

    __tablename__ = "coaching_forms"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    form: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CoachingEvaluation(Base):
    """One ``coaching_evaluation_recorded`` event (its id), with the agent's answer. A
    correction is a new row that ``supersedes`` this one (``superseded_by`` is set here)."""

    __tablename__ = "coaching_evaluations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    campaign_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10), default="recording")  # live | recording
    items: Mapped[list] = mapped_column(JSON, default=list)
    overall_comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    supersedes: Mapped[str | None] = mapped_column(String(36), nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ack_state: Mapped[str] = mapped_column(String(12), default="none")  # none | acknowledged | disputed
    ack_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    ack_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class QuestionAnswer(Base):
    """An agent's ``unscripted_question`` (its event id) answered by a TL into the script."""

    __tablename__ = "question_answers"

    question_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    answered_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    title: Mapped[str] = mapped_column(String(200))
    script_id: Mapped[str] = mapped_column(String(64))
    script_version: Mapped[int] = mapped_column(Integer)


class LeadReclaim(Base):
    """A lead taken back from an agent: the agent's later events for it are still accepted
    (flagged ``after_reclaim`` for the TL), never lost."""

    __tablename__ = "lead_reclaims"
    __table_args__ = (Index("ix_lead_reclaims_lead_user", "lead_id", "from_user"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    lead_id: Mapped[str] = mapped_column(String(64))
    from_user: Mapped[str] = mapped_column(ForeignKey("users.id"))
    by_user: Mapped[str] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class SipAccount(Base):
    """A user's SIP account, provisioned centrally (``seatmate-server set-sip``) and pulled by
    that user only (entity ``sip_account``). The password is encrypted at rest with the
    server's SIP key (server/sip_accounts.py: Fernet, the key outside the database)."""

    __tablename__ = "sip_accounts"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    settings: Mapped[dict] = mapped_column(JSON)  # core.sip_settings fields, never the password
    password_enc: Mapped[str] = mapped_column(Text, default="")  # Fernet token ("" = none)
    version: Mapped[int] = mapped_column(Integer, default=1)  # +1 on every change (the app re-registers)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
