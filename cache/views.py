"""Frozen, display-ready views of cache rows: what services hand to the UI.

No ORM object leaves the repository; and no view carries a full phone number
(only ``Repository.number_for_dial`` returns one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class LeadRow:
    id: str
    name: str
    masked_phone: str
    city: str
    plate: str
    vehicle: str
    policy_expiry: dt.date | None
    priority: int
    status: str
    next_callback_at: dt.datetime | None
    source: str
    campaign_id: str
    last_disposition: str | None
    # A new lead never tried: when it reached this device (naive UTC); None otherwise.
    # The workspace flags it once the first-contact window (48 h) has passed.
    waiting_since: dt.datetime | None = None


@dataclass(frozen=True)
class PhoneView:
    phone_id: int
    masked: str
    region: str  # 归属地, e.g. "湖北宜昌"
    carrier: str  # 运营商, e.g. "中国移动"
    label: str = ""
    is_dnc: bool = False


@dataclass(frozen=True)
class CallHistoryItem:
    """One call (or a disposition recorded without a call), newest first in LeadDetail."""

    at: dt.datetime
    call_id: str | None
    direction: str  # out | in | "" (no call)
    masked_number: str
    talk_seconds: int
    sip_status: int | None
    disposition_code: str | None
    disposition_label: str | None
    note: str
    callback_at: dt.datetime | None


@dataclass(frozen=True)
class NoteView:
    id: str
    text: str
    created_at: dt.datetime


@dataclass(frozen=True)
class LeadDetail:
    id: str
    campaign_id: str
    campaign_name: str
    external_id: str
    name: str
    gender: str
    city: str
    plate: str
    vehicle: str
    policy_expiry: dt.date | None
    last_premium: int | None
    source: str
    priority: int
    notes: str  # the note imported or sent with the lead
    status: str
    assigned_to: str | None
    next_callback_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_disposition: str | None
    phones: tuple[PhoneView, ...]
    history: tuple[CallHistoryItem, ...]
    agent_notes: tuple[NoteView, ...]


@dataclass(frozen=True)
class CampaignView:
    id: str
    name: str
    rules: dict  # compliance, targets, pause_reasons (and coaching_form for the demo)
    lead_count: int


@dataclass(frozen=True)
class ScriptView:
    id: str
    campaign_id: str
    title: str
    body_markdown: str
    version: int


@dataclass(frozen=True)
class DispositionCodeView:
    code: str
    label: str
    group: str  # connected | not_connected
    requires_callback: bool
    requires_note: bool
    adds_to_dnc: bool
    closes_lead: bool
    is_conversion: bool
    sip_codes: tuple[int, ...]
    position: int


@dataclass(frozen=True)
class TargetsView:
    scope: str
    calls_per_day: int
    talk_minutes_per_day: int
    conversions_per_month: int


