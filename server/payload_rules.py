"""What a pushed event's payload may hold, beyond its type's fields, and whose objects it may name.

- **Shape.** A payload is a flat object of its type's fields (server/events.py ``PAYLOADS``):
  a field the type does not have is refused (``unknown_field``, naming it), and so is nesting
  deeper than :data:`MAX_DEPTH` levels (``too_deep``) — before, unknown fields were ignored by
  the models but stored raw, 900 levels deep if someone sent that.
- **Ownership.** A correction's ``supersedes`` must name a ``disposition_recorded`` event of the
  same caller about the same lead (``not_your_disposition``); a disposition's ``call_id`` must not
  be another agent's call (``not_your_call``); a presence claim of a call must name
  a lead the caller may work on (``owns_lead``: the agent's own, a TL's team's, any for admin).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row
from sqlalchemy.orm import Session

from core.contract import EventType
from server.models import Event, Lead

MAX_DEPTH = 4  # payload {…} → a list (coaching items) → an item {…} → its values


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when dicts/lists nest deeper than ``limit`` (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def unknown_fields(model: BaseModel, raw: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys of ``raw`` that the validated ``model`` has no field for (nested models included)."""
    fields = type(model).model_fields
    found: list[str] = []
    for key, value in raw.items():
        if key not in fields:
            found.append(prefix + str(key))
            continue
        attr = getattr(model, key, None)
        if isinstance(attr, BaseModel) and isinstance(value, dict):
            found += unknown_fields(attr, value, f"{prefix}{key}.")
        elif isinstance(attr, list) and isinstance(value, list):
            for i, (sub, sub_raw) in enumerate(zip(attr, value, strict=False)):
                if isinstance(sub, BaseModel) and isinstance(sub_raw, dict):
                    found += unknown_fields(sub, sub_raw, f"{prefix}{key}[{i}].")
    return found


def shape_problem(event_type: str, model: BaseModel, raw: dict[str, Any]) -> tuple[str, str] | None:
    """(code, reason) when the payload holds more than its type allows; None when it is fine."""
    if too_deep(raw):
        return "too_deep", f"payload is nested deeper than {MAX_DEPTH} levels"
    extra = unknown_fields(model, raw)
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        return "unknown_field", f"payload field {extra[0][:60]!r}{more} is not part of a {event_type[:40]} event"
    return None


def _batch_event(s: Session, event_id: str, batch: Mapping[str, Mapping[str, Any]]) -> Any:
    """An event stored earlier, or taken earlier in this same batch (``batch``: its rows by id,
    inserted together at the end of the push, so not in the session)."""
    row = batch.get(event_id)
    if row is not None:
        return SimpleNamespace(**row)
    return s.get(Event, event_id)


def supersedes_problem(s: Session, user_id: str, lead_id: str | None, supersedes: str,
                       batch: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[str, str] | None:
    """A correction may only replace the caller's own disposition of the same lead."""
    prior = _batch_event(s, supersedes, batch or {})
    if (prior is None or prior.user_id != user_id or prior.type != EventType.DISPOSITION_RECORDED
            or (lead_id is not None and prior.lead_id != lead_id)):
        # One answer for "no such disposition" and "someone else's": no probing other agents' ids.
        return "not_your_disposition", "supersedes must name one of your own dispositions of this lead"
    return None


def call_problem(call_owner: str | None, user_id: str) -> tuple[str, str] | None:
    """A disposition may name only the caller's own call (or one the server has not seen yet):
    the recordings browser and the reports show a call's latest disposition, so naming another
    agent's call would rewrite what their call shows."""
    if call_owner is not None and call_owner != user_id:
        return "not_your_call", "call_id belongs to another agent's call"
    return None


def owns_lead(role: str, user_id: str, team_id: str | None, lead: Lead | Row | None) -> bool:
    """May this caller work on ``lead``? (The rule of events.PushContext.may_write_lead.) ``lead``
    may be a row of just (team_id, assigned_to)."""
    if lead is None:
        return False
    if role == "admin":
        return True
    if role == "tl":
        return lead.team_id is not None and lead.team_id == team_id
    return lead.assigned_to == user_id


__all__ = ["MAX_DEPTH", "call_problem", "owns_lead", "shape_problem", "supersedes_problem", "too_deep", "unknown_fields"]
