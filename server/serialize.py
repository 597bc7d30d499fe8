"""Entity → JSON shapes of docs/sync-api.md (the ``data`` of a pull change)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.models import Campaign, DispositionCode, DncEntry, Lead, Script, Setting, Target


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "Z"


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


# entity name -> (model, primary-key column name, serializer)
ENTITIES: dict[str, tuple[type, str, Any]] = {
    "campaign": (Campaign, "id", campaign),
    "script": (Script, "id", script),
    "disposition_code": (DispositionCode, "id", disposition_code),
    "lead": (Lead, "id", lead),
    "dnc": (DncEntry, "number", dnc),
    "target": (Target, "scope", target),
    "setting": (Setting, "key", setting),
}
