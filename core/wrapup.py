"""Wrap-up rules: the campaign's disposition codes, the code a SIP result suggests,
the draft the agent edits, and what stops a save. Pure data in, data out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CodeRule:
    code: str
    label: str
    group: str = "connected"  # connected | not_connected
    requires_callback: bool = False
    requires_note: bool = False
    adds_to_dnc: bool = False
    closes_lead: bool = False
    is_conversion: bool = False
    sip_codes: tuple[int, ...] = ()
    position: int = 0

    @classmethod
    def from_mapping(cls, data: dict, position: int = 0) -> CodeRule:
        return cls(
            code=str(data["code"]),
            label=str(data.get("label", data["code"])),
            group=str(data.get("group", "connected")),
            requires_callback=bool(data.get("requires_callback", False)),
            requires_note=bool(data.get("requires_note", False)),
            adds_to_dnc=bool(data.get("adds_to_dnc", False)),
            closes_lead=bool(data.get("closes_lead", False)),
            is_conversion=bool(data.get("is_conversion", False)),
            sip_codes=tuple(int(s) for s in (data.get("sip_codes") or data.get("sip") or ())),
            position=int(data.get("position", position)),
        )


@dataclass(frozen=True)
class CallOutcome:
    """How the call ended, as the softphone reported it (no full number here)."""

    call_id: str
    lead_id: str | None
    phone_id: int | None = None
    direction: str = "out"
    answered: bool = False
    sip_status: int | None = None
    talk_seconds: int = 0
    ended_at: dt.datetime | None = None


def suggest_code(codes: Sequence[CodeRule], outcome: CallOutcome) -> str | None:
    """The code the SIP result suggests; the agent may change it.

    A connected call has no safe guess (the conversation decides). An
    unanswered one maps its final SIP status through the codes' ``sip_codes``;
    failing that, the first not-connected code.
    """
    if outcome.answered:
        return None
    if outcome.sip_status is not None:
        for rule in codes:
            if outcome.sip_status in rule.sip_codes:
                return rule.code
    for rule in codes:
        if rule.group == "not_connected":
            return rule.code
    return None


@dataclass(frozen=True)
class WrapupDraft:
    call_id: str
    lead_id: str | None
    started_at: dt.datetime  # UTC: when after-call work began (the ACW timer)
    phone_id: int | None = None
    direction: str = "out"
    answered: bool = False
    sip_status: int | None = None
    talk_seconds: int = 0
    code: str | None = None
    suggested_code: str | None = None
    note: str = ""
    callback_at: dt.datetime | None = None  # UTC
    supersedes: str | None = None  # a correction of an earlier disposition
    disposition_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("started_at", "callback_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> WrapupDraft:
        values = dict(data)
        for key in ("started_at", "callback_at"):
            if values.get(key):
                values[key] = dt.datetime.fromisoformat(values[key])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


def validate(draft: WrapupDraft, rule: CodeRule | None, now: dt.datetime) -> list[str]:
    """Problems that stop a save, in Chinese, one line each (empty: savable)."""
    problems: list[str] = []
    if rule is None:
        problems.append("请选择通话结果")
        return problems
    if rule.requires_callback:
        if draft.callback_at is None:
            problems.append(f"「{rule.label}」需要填写回访时间")
        elif _utc(draft.callback_at) <= _utc(now):
            problems.append("回访时间必须晚于当前时间")
    if rule.requires_note and not draft.note.strip():
        problems.append(f"「{rule.label}」需要填写备注")
    if len(draft.note) > 2000:
        problems.append("备注不能超过 2000 字")
    return problems


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


@dataclass(frozen=True)
class SavedDisposition:
    disposition_id: str
    lead_id: str | None
    code: str
    callback_at: dt.datetime | None
    dnc_added: bool
    lead_closed: bool
    is_conversion: bool
