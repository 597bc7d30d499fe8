"""Wrap-up rules: the campaign's disposition codes, the code a SIP result suggests,
the draft the agent edits, and what stops a save. Pure data in, data out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from core import messages as msg
from core.contract import CallDirection, CodeGroup
from core.messages import Message
from core.timeutil import aware_utc

#: The longest note a disposition may carry (characters).
NOTE_LIMIT = 2000
#: The longest reason for choosing a code that does not fit the call's outcome.
OVERRIDE_REASON_LIMIT = 200
#: The server's reason code for a disposition that does not fit its call (no override).
OUTCOME_MISMATCH = "disposition_outcome_mismatch"


@dataclass(frozen=True)
class CodeRule:
    code: str
    label: str
    group: str = CodeGroup.CONNECTED  # core.contract.CodeGroup
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
            group=str(data.get("group", CodeGroup.CONNECTED)),
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
    direction: str = CallDirection.OUT
    answered: bool = False
    sip_status: int | None = None
    talk_seconds: int = 0
    ended_at: dt.datetime | None = None


def fits(rule: object, connected: bool) -> bool:
    """Can this code be true for a call that did (``connected``) or did not reach the customer?

    The one rule, used by the wrap-up panel, the wrap-up service and the server: a code of the
    ``connected`` group (成交, 有意向, 拒绝 …) needs a call that was answered; a
    ``not_connected`` code (无人接听, 忙线, 关机, 空号 …) a call that was not. ``rule`` is
    anything with a ``group`` (a :class:`CodeRule`, a cache or server row)."""
    return (getattr(rule, "group", CodeGroup.CONNECTED) == CodeGroup.CONNECTED) == bool(connected)


def outcome_problem(rule: CodeRule, connected: bool, override_reason: str | None) -> Message | None:
    """Why this code may not be recorded for this outcome (None: it may). A code that does not
    fit needs an explicit override with a reason; the reason travels with the disposition."""
    if fits(rule, connected):
        return None
    if (override_reason or "").strip():
        if len(override_reason or "") > OVERRIDE_REASON_LIMIT:
            return Message.of(msg.WRAPUP_OVERRIDE_TOO_LONG, limit=OVERRIDE_REASON_LIMIT)
        return None
    return Message.of(msg.WRAPUP_OUTCOME_MISMATCH_CONNECTED if connected else msg.WRAPUP_OUTCOME_MISMATCH_NOT_CONNECTED,
                      label=rule.label)


def code_numbers(codes: Sequence[CodeRule]) -> dict[str, int]:
    """Each code's number: its place in the campaign's full list (1, 2, …), the same whatever
    the call's outcome, so a digit always means the same code (1–9 pick the first nine, 0 the
    tenth; 11, 12 … are typed as two digits)."""
    return {rule.code: i for i, rule in enumerate(codes, start=1)}


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
        if rule.group == CodeGroup.NOT_CONNECTED:
            return rule.code
    return None


@dataclass(frozen=True)
class WrapupDraft:
    call_id: str
    lead_id: str | None
    started_at: dt.datetime  # UTC: when after-call work began (the ACW timer)
    phone_id: int | None = None
    direction: str = CallDirection.OUT
    answered: bool = False
    sip_status: int | None = None
    talk_seconds: int = 0
    code: str | None = None
    suggested_code: str | None = None
    note: str = ""
    callback_at: dt.datetime | None = None  # UTC
    supersedes: str | None = None  # a correction of an earlier disposition
    #: Set when the agent records a code that does not fit the call's outcome (the audited
    #: override): why. Empty otherwise.
    override_reason: str = ""
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


def validate(draft: WrapupDraft, rule: CodeRule | None, now: dt.datetime) -> list[Message]:
    """Problems that stop a save, as message codes (empty: savable). A code's label is
    campaign data and travels as it is."""
    problems: list[Message] = []
    if rule is None:
        problems.append(Message.of(msg.WRAPUP_CHOOSE_CODE))
        return problems
    if rule.requires_callback:
        if draft.callback_at is None:
            problems.append(Message.of(msg.WRAPUP_CALLBACK_REQUIRED, label=rule.label))
        elif aware_utc(draft.callback_at) <= aware_utc(now):
            problems.append(Message.of(msg.WRAPUP_CALLBACK_PAST))
    if rule.requires_note and not draft.note.strip():
        problems.append(Message.of(msg.WRAPUP_NOTE_REQUIRED, label=rule.label))
    if len(draft.note) > NOTE_LIMIT:
        problems.append(Message.of(msg.WRAPUP_NOTE_TOO_LONG, limit=NOTE_LIMIT))
    if not draft.supersedes:  # a correction has no call outcome here; the server checks its call
        mismatch = outcome_problem(rule, draft.answered, draft.override_reason)
        if mismatch is not None:
            problems.insert(0, mismatch)
    return problems


def call_result(answered: bool, sip_status: int | None) -> Message | None:
    """What the agent is told about a call that did not connect (None when it did)."""
    if answered:
        return None
    if sip_status is None or sip_status <= 0:
        return Message.of(msg.CALL_NOT_CONNECTED, status="—")
    code = {486: msg.CALL_BUSY, 600: msg.CALL_BUSY, 408: msg.CALL_NO_ANSWER, 480: msg.CALL_NO_ANSWER,
            487: msg.CALL_NO_ANSWER, 403: msg.CALL_DECLINED, 603: msg.CALL_DECLINED,
            404: msg.CALL_NUMBER_UNKNOWN, 484: msg.CALL_NUMBER_UNKNOWN, 604: msg.CALL_NUMBER_UNKNOWN,
            488: msg.CALL_MEDIA_REFUSED, 606: msg.CALL_MEDIA_REFUSED
            }.get(sip_status, msg.CALL_NOT_CONNECTED)
    return Message.of(code, status=sip_status)


@dataclass(frozen=True)
class SavedDisposition:
    disposition_id: str
    lead_id: str | None
    code: str
    callback_at: dt.datetime | None
    dnc_added: bool
    lead_closed: bool
    is_conversion: bool
