"""SQLAlchemy 2 models of the agent's local cache.

The cache mirrors what the server sent (campaigns, leads, scripts, codes,
do-not-call numbers, targets) plus what the agent did locally. Everything the
agent does is also an immutable event in ``outbox_events``, written in the same
transaction as its local effect; the outbox is the source of truth for sync.

Schema changes go through Alembic (``cache/migrations``); never edit a
released migration, add a new one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.contract import CallDirection, LeadStatus, OutboxState
from core.timeutil import utcnow  # the column default; still importable from here


class Base(DeclarativeBase):
    pass


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Compliance rules, targets and pause reasons as shaped in dispositions_demo.json.
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    leads: Mapped[list[Lead]] = relationship(back_populates="campaign")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "external_id", name="uq_lead_campaign_external"),
        Index("ix_leads_status_priority", "status", "priority"),
        Index("ix_leads_next_callback", "next_callback_at"),
        Index("ix_leads_updated_at", "updated_at"),  # 0002
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    # Search keys: full pinyin without tones ("zhangsan") and initials ("zs").
    name_pinyin: Mapped[str] = mapped_column(String(300), default="")
    name_initials: Mapped[str] = mapped_column(String(50), default="")
    gender: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(50), default="")
    plate: Mapped[str] = mapped_column(String(20), default="", index=True)
    vehicle: Mapped[str] = mapped_column(String(100), default="")
    policy_expiry: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    last_premium: Mapped[int | None] = mapped_column(Integer, nullable=True)  # whole CNY
    source: Mapped[str] = mapped_column(String(100), default="")
    priority: Mapped[int] = mapped_column(Integer, default=3)
    notes: Mapped[str] = mapped_column(Text, default="")
    # new | callback | done | closed — server-derived; local pending events are applied on top.
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW)
    assigned_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    next_callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_disposition: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="leads")
    phones: Mapped[list[LeadPhone]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadPhone.position"
    )


class LeadPhone(Base):
    __tablename__ = "lead_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    # E.164 ("+8613800000000"): used only to dial; display always goes through core.phone.mask().
    number_e164: Mapped[str] = mapped_column(String(20), index=True)
    # Last four digits, for "search by number tail" without touching the full number.
    tail4: Mapped[str] = mapped_column(String(4), index=True, default="")
    label: Mapped[str] = mapped_column(String(30), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    lead: Mapped[Lead] = relationship(back_populates="phones")


class Script(Base):
    __tablename__ = "scripts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DispositionCode(Base):
    __tablename__ = "disposition_codes"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_code_campaign"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    group: Mapped[str] = mapped_column(String(20))  # connected | not_connected
    requires_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_note: Mapped[bool] = mapped_column(Boolean, default=False)
    adds_to_dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    closes_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    is_conversion: Mapped[bool] = mapped_column(Boolean, default=False)
    sip_codes: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CallRecord(Base):
    __tablename__ = "call_records"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # client UUID
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), nullable=True, index=True)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("lead_phones.id", ondelete="SET NULL"), nullable=True)
    direction: Mapped[str] = mapped_column(String(10), default=CallDirection.OUT)
    dialed_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    ringing_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    sip_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)
    recording_path: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Disposition(Base):
    """One recorded outcome. Corrections are new rows that point at what they supersede."""

    __tablename__ = "dispositions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # = the event id
    call_id: Mapped[str | None] = mapped_column(ForeignKey("call_records.id", ondelete="SET NULL"), nullable=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    supersedes_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class DoNotCall(Base):
    __tablename__ = "dnc_entries"

    number_e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(10), default="local")  # local | server


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64), default="default", unique=True)  # "default" or a campaign id
    calls_per_day: Mapped[int] = mapped_column(Integer, default=30)
    talk_minutes_per_day: Mapped[int] = mapped_column(Integer, default=50)
    conversions_per_month: Mapped[int] = mapped_column(Integer, default=10)


class OutboxEvent(Base):
    """An immutable fact the agent produced; pushed to the server once, by its UUID."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_status_seq", "status", "seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # client UUID
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # local order of creation
    type: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # pending | accepted | rejected
    status: Mapped[str] = mapped_column(String(10), default=OutboxState.PENDING)
    reject_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SyncState(Base):
    """Key/value: pull cursor, last successful sync, cached identity (never a secret)."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LeadNote(Base):
    """A note the agent added to a lead (its ``note_added`` event has the same id). Added in 0002."""

    __tablename__ = "lead_notes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # = the event id
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LeadChange(Base):
    """Journal of changed lead ids, filled by SQLite triggers (0002) on leads and lead_phones.

    Lets the in-memory search index catch up with changes made by any writer
    (the sync loop, a CLI import in another process) without rescanning 100k leads.
    Pruned at start-up (the newest row is kept so seq keeps growing); a reader
    that finds a hole in the seq range rebuilds its index from scratch.
    """

    __tablename__ = "lead_changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(64))
