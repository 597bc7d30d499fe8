"""Seeds a workspace test cache: the demo campaign (rules, codes, script, targets) and demo leads."""

from __future__ import annotations

import csv
import datetime as dt
import json

from sqlalchemy import select

from app.resource_files import resource
from cache import models as m
from cache.repository import Repository
from core.lead_file import LeadInput
from core.phone import normalise


def seed_demo(repo: Repository, lead_count: int = 12) -> str:
    rules = json.loads(resource("data", "dispositions_demo.json").read_text(encoding="utf-8"))
    cid = repo.ensure_campaign(rules["campaign"], {k: rules[k] for k in ("compliance", "targets", "pause_reasons")})
    with repo.handle.write() as s:
        if s.scalar(select(m.DispositionCode.id).where(m.DispositionCode.campaign_id == cid).limit(1)) is None:
            for pos, code in enumerate(rules["codes"]):
                s.add(m.DispositionCode(
                    campaign_id=cid, code=code["code"], label=code["label"], group=code["group"],
                    requires_callback=code.get("requires_callback", False),
                    requires_note=code.get("requires_note", False), adds_to_dnc=code.get("adds_to_dnc", False),
                    closes_lead=code.get("closes_lead", False), is_conversion=code.get("is_conversion", False),
                    sip_codes=code.get("sip", []), position=pos))
            s.add(m.Script(id=f"{cid}-script", campaign_id=cid, title="续保话术",
                           body_markdown=resource("data", "script_renewal_demo.md").read_text(encoding="utf-8")))
            if s.get(m.Target, 1) is None:
                s.add(m.Target(scope="default", calls_per_day=30, talk_minutes_per_day=50, conversions_per_month=10))
    leads = []
    with resource("data", "leads_renewal_demo.csv").open(encoding="utf-8") as fh:
        for row in list(csv.DictReader(fh))[:lead_count]:
            leads.append(LeadInput(
                external_id=row["external_id"], name=row["name"], phones=(normalise(row["phone"]),),
                gender=row["gender"], city=row["city"], plate=row["plate"], vehicle=row["vehicle"],
                policy_expiry=dt.date.fromisoformat(row["policy_expiry"]) if row["policy_expiry"] else None,
                last_premium=int(row["last_premium"]) if row["last_premium"] else None, source=row["source"],
                priority=int(row["priority"] or 3), notes=row["notes"]))
    repo.upsert_leads(cid, leads)
    return cid
