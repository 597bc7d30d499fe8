"""Entity → JSON shapes of docs/sync-api.md (the ``data`` of a pull change)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.contract import Entity
from core.timeutil import format_iso as iso  # the wire's time format (importable from here)
from server import sip_accounts
from server.models import (
    AgentCommand,
    Campaign,
    CoachingEvaluation,
    CoachingForm,
    DispositionCode,
    DncEntry,
    Lead,
    Script,
    Setting,
    SipAccount,
    Target,
    TeamMessage,
    utcnow,
)


def campaign(c: Campaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "rules": c.rules or {}}


def script(s: Script) -> dict[str, Any]:
    return {"id": s.id, "campaign_id": s.campaign_id, "title": s.title,
            "body_markdown": s.body_markdown, "version": s.version}


def disposition_code(d: DispositionCode) -> dict[str, Any]:
    return {"campaign_id": d.campaign_id, "code": d.code, "label": d.label, "group": d.group,
            "requires_callback": d.requires_callback, "requires_note": d.requires_note,
            "adds_to_dnc": d.adds_to_dnc, "closes_lead": d.closes_lead,
            "is_conversion": d.is_conversion, "sip": list(d.sip or []), "position": d.position}


def lead(x: Lead) -> dict[str, Any]:
    return {"id": x.id, "campaign_id": x.campaign_id, "external_id": x.external_id, "name": x.name,
            "gender": x.gender, "city": x.city, "plate": x.plate, "vehicle": x.vehicle,
            "policy_expiry": x.policy_expiry.isoformat() if x.policy_expiry else None,
            "last_premium": x.last_premium, "source": x.source, "priority": x.priority,
            "notes": x.notes, "phones": list(x.phones or []), "status": x.status,
            "assigned_to": x.assigned_to, "next_callback_at": iso(x.next_callback_at),
            "last_attempt_at": iso(x.last_attempt_at), "last_disposition": x.last_disposition,
            "updated_at": iso(x.updated_at)}


def dnc(d: DncEntry) -> dict[str, Any]:
    return {"number": d.number, "reason": d.reason, "expires_at": iso(d.expires_at)}


def target(t: Target) -> dict[str, Any]:
    return {"scope": t.scope, "calls_per_day": t.calls_per_day,
            "talk_minutes_per_day": t.talk_minutes_per_day,
            "conversions_per_month": t.conversions_per_month}


def setting(s: Setting) -> dict[str, Any]:
    return {"key": s.key, "value": s.value}


def command_status(c: Any, now: dt.datetime) -> str:
    """A floor-control command's status: pending | deferred | applied | refused | superseded | expired."""
    if c.acked_at is not None:
        return c.result or "applied"
    if c.expires_at <= now:
        return "expired"
    return c.result or "pending"


def agent_command(c: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``agent_command`` entity (pull) and the ``command`` stream event (docs/supervisor.md)."""
    now = now or utcnow()
    return {"id": c.id, "agent_id": c.agent_id, "team_id": c.team_id, "kind": c.kind, "state": c.state,
            "reason": c.reason, "issued_by": c.issued_by, "issued_by_name": c.issued_by_name,
            "issued_at": iso(c.issued_at), "expires_at": iso(c.expires_at), "status": command_status(c, now),
            "acked_at": iso(c.acked_at)}


def team_message(m: Any) -> dict[str, Any]:
    """The ``team_message`` entity (pull) and the ``message`` stream event (docs/supervisor.md)."""
    return {"id": m.id, "team_id": m.team_id, "sender_id": m.sender_id, "sender_name": m.sender_name,
            "to_agent_id": m.to_agent_id, "text": m.text, "sent_at": iso(m.sent_at)}


def coaching_form(f: Any) -> dict[str, Any]:
    """The ``coaching_form`` entity: a campaign's 辅导表 with item ids (docs/coaching.md)."""
    return {"campaign_id": f.campaign_id, "version": f.version, **(f.form or {})}


def coaching_evaluation(e: Any) -> dict[str, Any]:
    """The ``coaching_evaluation`` entity (docs/coaching.md)."""
    return {"id": e.id, "call_id": e.call_id, "agent_id": e.agent_id, "team_id": e.team_id,
            "evaluator_id": e.evaluator_id, "campaign_id": e.campaign_id, "source": e.source,
            "items": list(e.items or []), "overall_comment": e.overall_comment, "score": e.score,
            "supersedes": e.supersedes, "superseded_by": e.superseded_by, "evaluated_at": iso(e.evaluated_at),
            "ack_state": e.ack_state, "ack_comment": e.ack_comment, "ack_at": iso(e.ack_at)}


# entity name -> (model, primary-key column name, serializer)
ENTITIES: dict[str, tuple[type, str, Any]] = {
    Entity.CAMPAIGN: (Campaign, "id", campaign),
    Entity.SCRIPT: (Script, "id", script),
    Entity.DISPOSITION_CODE: (DispositionCode, "id", disposition_code),
    Entity.LEAD: (Lead, "id", lead),
    Entity.DNC: (DncEntry, "number", dnc),
    Entity.TARGET: (Target, "scope", target),
    Entity.SETTING: (Setting, "key", setting),
    Entity.AGENT_COMMAND: (AgentCommand, "id", agent_command),
    Entity.TEAM_MESSAGE: (TeamMessage, "id", team_message),
    Entity.COACHING_FORM: (CoachingForm, "campaign_id", coaching_form),
    Entity.COACHING_EVALUATION: (CoachingEvaluation, "id", coaching_evaluation),
    Entity.SIP_ACCOUNT: (SipAccount, "user_id", sip_accounts.serialize),
}
