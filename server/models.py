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
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    """Naive UTC: every DateTime column in this schema is UTC without tzinfo."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


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
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | callback | done | closed
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
    status: Mapped[str] = mapped_column(String(10))  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Call(Base):
    """One call as reported by ``call_ended`` (the source of 通次/通时)."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_user_dialed", "user_id", "dialed_at"),)

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
    __table_args__ = (Index("ix_dispositions_user_time", "user_id", "occurred_at"),)

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
