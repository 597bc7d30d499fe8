"""The agent's pending events laid on top of the server's leads.

The app shows server state with the agent's own pending events applied on top
(DESIGN.md, "Data and the sync contract"): when a pulled page overwrites a
lead that still has pending events, their local effect is applied again
(:func:`overlay_pending`); when the server rejects an event, its effect is
taken back (:func:`revert_rejected`). What an event does to its lead is
core.lead_status, the same rule the server and the wrap-up use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cache import models as m
from core.contract import EventType, LeadStatus, OutboxState
from core.lead_status import CodeFlags, LeadState, after_attempt, after_callback_scheduled, after_disposition
from core.timeutil import format_iso, parse_iso


def lead_state(lead: m.Lead) -> LeadState:
    """The derived part of a cached lead (the cache keeps no ``state_event_at``)."""
    return LeadState(lead.status, lead.next_callback_at, lead.last_disposition, lead.last_attempt_at)


def set_lead_state(lead: m.Lead, state: LeadState) -> None:
    lead.status = state.status
    lead.next_callback_at = state.next_callback_at
    lead.last_disposition = state.last_disposition
    lead.last_attempt_at = state.last_attempt_at


def code_flags(s: Session, campaign_id: str, code: str | None) -> CodeFlags | None:
    """The cached code's flags, or None when this cache does not know the code."""
    row = s.scalar(select(m.DispositionCode).where(m.DispositionCode.campaign_id == campaign_id,
                                                   m.DispositionCode.code == code))
    return None if row is None else CodeFlags.of(row)


def apply_local_effect(s: Session, lead: m.Lead, type_: str, payload: dict[str, Any],
                       occurred_at: dt.datetime) -> None:
    """The effect of one event on its lead, as the server derives it (core.lead_status)."""
    state = lead_state(lead)
    if type_ == EventType.CALL_ATTEMPTED:
        new = after_attempt(state, occurred_at)
    elif type_ == EventType.DISPOSITION_RECORDED:
        code = payload.get("code")
        new = after_disposition(state, code, code_flags(s, lead.campaign_id, code),
                                parse_iso(payload.get("callback_at")), occurred_at)
    elif type_ == EventType.CALLBACK_SCHEDULED:
        new = after_callback_scheduled(state, parse_iso(payload.get("due_at")), occurred_at)
    else:
        return
    if new != state:
        set_lead_state(lead, new)


def _pending_by_lead(s: Session, lead_ids: set[str]) -> dict[str, list[Any]]:
    rows = s.execute(
        select(m.OutboxEvent.lead_id, m.OutboxEvent.type, m.OutboxEvent.payload, m.OutboxEvent.occurred_at)
        .where(m.OutboxEvent.status == OutboxState.PENDING, m.OutboxEvent.lead_id.is_not(None))
        .order_by(m.OutboxEvent.seq)
    ).all()
    out: dict[str, list[Any]] = {}
    for r in rows:
        if r.lead_id in lead_ids:
            out.setdefault(r.lead_id, []).append(r)
    return out


def overlay_pending(s: Session, lead_ids: set[str]) -> int:
    """Apply the local effect of pending events to leads the server just overwrote.

    The server has not seen these events yet, so its copy of the lead is older
    than what the agent did; the agent must keep seeing their own work.
    Returns the number of leads touched.
    """
    pending = _pending_by_lead(s, lead_ids)
    for lead_id, events in pending.items():
        lead = s.get(m.Lead, lead_id)
        if lead is None:
            continue
        for ev in events:
            apply_local_effect(s, lead, ev.type, ev.payload or {}, ev.occurred_at)
    if pending:
        s.flush()
    return len(pending)


def revert_rejected(s: Session, lead_ids: set[str]) -> None:
    """Undo the local effect of rejected events on their leads.

    The cache has no separate copy of the server's lead, so the lead's derived
    fields are recomputed from the newest disposition that was not rejected,
    then pending events are laid on top again.
    """
    rejected_ids = set(
        s.scalars(select(m.OutboxEvent.id).where(m.OutboxEvent.status == OutboxState.REJECTED,
                                                 m.OutboxEvent.lead_id.in_(list(lead_ids))))
    )
    for lead_id in lead_ids:
        lead = s.get(m.Lead, lead_id)
        if lead is None:
            continue
        history = s.execute(
            select(m.Disposition).where(m.Disposition.lead_id == lead_id).order_by(m.Disposition.recorded_at.desc())
        ).scalars().all()
        kept = [d for d in history if d.id not in rejected_ids]
        if any(d.id in rejected_ids and d.code == lead.last_disposition for d in history):
            if kept:
                last = kept[0]
                apply_local_effect(s, lead, EventType.DISPOSITION_RECORDED,
                                   {"code": last.code, "callback_at": format_iso(last.callback_at)},
                                   last.recorded_at)
            else:
                lead.status, lead.last_disposition, lead.next_callback_at = LeadStatus.NEW, None, None
    overlay_pending(s, lead_ids)


__all__ = ["apply_local_effect", "code_flags", "lead_state", "overlay_pending", "revert_rejected",
           "set_lead_state"]
