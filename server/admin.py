"""Administrative operations behind the ``seatmate-server`` CLI (and test fixtures).

Each function takes a write session, records the sync changes clients must
see, and leaves the commit to the caller (``changes.commit``).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.contract import OPEN_STATUSES, ChangeOp, CodeGroup, Entity, LeadStatus
from core.disposition_codes import CodesFileError, validate_codes
from core.timeutil import utcnow
from server import changes, security
from server.leads_import import ImportFileError, ParseResult, parse_leads
from server.models import Campaign, DispositionCode, Lead, Presence, Script, Target, Team, User

ROLES = ("admin", "tl", "tsr")
_LEAD_NS = uuid.UUID("6f1d2a8e-5b7c-4e0f-9a21-3c4d5e6f7a80")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


class AdminError(ValueError):
    pass


def lead_id_for(campaign_id: str, external_id: str) -> str:
    return uuid.uuid5(_LEAD_NS, f"{campaign_id}\x1f{external_id}").hex


def find_team(s: Session, name_or_id: str) -> Team:
    team = s.execute(select(Team).where((Team.name == name_or_id) | (Team.id == name_or_id))).scalar_one_or_none()
    if team is None:
        raise AdminError(f"no team {name_or_id!r}")
    return team


def find_user(s: Session, username: str) -> User:
    user = s.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()
    if user is None:
        raise AdminError(f"no user {username!r}")
    return user


def find_campaign(s: Session, name_or_id: str) -> Campaign:
    c = s.execute(select(Campaign).where((Campaign.name == name_or_id) | (Campaign.id == name_or_id))
                  ).scalar_one_or_none()
    if c is None:
        raise AdminError(f"no campaign {name_or_id!r}")
    return c


def create_team(s: Session, name: str) -> Team:
    if s.execute(select(Team).where(Team.name == name)).scalar_one_or_none():
        raise AdminError(f"team {name!r} exists")
    team = Team(id=uuid.uuid4().hex, name=name)
    s.add(team)
    s.flush()
    return team


def create_user(s: Session, username: str, password: str, role: str, team: str | None = None,
                display_name: str = "", sip_user: str | None = None) -> User:
    if not USERNAME_RE.match(username):
        raise AdminError("username: 2-64 letters, digits, . _ -")
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise AdminError("password must be at least 8 characters")
    if role in ("tl", "tsr") and not team:
        raise AdminError("a tl or tsr needs a team")
    if s.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none():
        raise AdminError(f"user {username!r} exists")
    team_id = find_team(s, team).id if team else None
    user = User(id=uuid.uuid4().hex, username=username, display_name=display_name or username, role=role,
                team_id=team_id, password_hash=security.hash_password(password), sip_user=sip_user)
    s.add(user)
    s.flush()
    return user


def set_password(s: Session, username: str, password: str) -> None:
    if len(password) < 8:
        raise AdminError("password must be at least 8 characters")
    find_user(s, username).password_hash = security.hash_password(password)


def update_user(s: Session, username: str, *, role: str | None = None, team: str | None = None,
                no_team: bool = False, active: bool | None = None) -> User:
    """Change a user's role, team or active flag. Takes effect on every server instance
    within about a second (``authz_changed_at``, read by security.RevocationCache): the
    user's live access tokens act with the new role and team, open streams close, a
    disabled account's tokens are refused. A TSR's leads follow them to a new team."""
    user = find_user(s, username)
    new_role = role or user.role
    if new_role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")
    new_team = None if no_team else (find_team(s, team).id if team else user.team_id)
    if new_role in ("tl", "tsr") and not new_team:
        raise AdminError("a tl or tsr needs a team")
    new_active = user.active if active is None else active
    if (new_role, new_team, new_active) == (user.role, user.team_id, user.active):
        return user
    moved = new_team != user.team_id
    user.role, user.team_id, user.active = new_role, new_team, new_active
    user.authz_changed_at = utcnow()
    s.flush()
    if moved:
        # The leads follow their agent: the old team's TL stops seeing them, the new one does.
        # (A disabled agent keeps theirs: reassigning is the TL's call, with assign-leads.)
        for lead in s.execute(select(Lead).where(Lead.assigned_to == user.id)).scalars():
            assign_lead(s, lead, user)
        row = s.get(Presence, user.id)
        if row is not None:  # the offline sweep tells the team the row names
            row.team_id = new_team
    return user


def create_campaign(s: Session, name: str, rules: dict[str, Any] | None = None) -> Campaign:
    if s.execute(select(Campaign).where(Campaign.name == name)).scalar_one_or_none():
        raise AdminError(f"campaign {name!r} exists")
    c = Campaign(id=uuid.uuid4().hex, name=name, rules=rules or {})
    s.add(c)
    s.flush()
    changes.note(s, changes.ALL, Entity.CAMPAIGN, c.id)
    return c


@dataclass
class ImportReport:
    total: int
    created: int
    updated: int
    unchanged: int
    errors: list[tuple[int, str]]
    warnings: list[tuple[int, str]] = field(default_factory=list)


_LEAD_FIELDS = ("name", "gender", "city", "plate", "vehicle", "policy_expiry", "last_premium", "source",
                "priority", "notes", "phones")


def import_rows(s: Session, campaign: Campaign, parsed: ParseResult) -> ImportReport:
    created = updated = unchanged = 0
    ids = [lead_id_for(campaign.id, r["external_id"]) for r in parsed.rows]
    existing: dict[str, Lead] = {}
    for start in range(0, len(ids), 900):
        for lead in s.execute(select(Lead).where(Lead.id.in_(ids[start:start + 900]))).scalars():
            existing[lead.id] = lead
    now = utcnow()
    for lead_id, row in zip(ids, parsed.rows, strict=True):
        lead = existing.get(lead_id)
        if lead is None:
            lead = Lead(id=lead_id, campaign_id=campaign.id, external_id=row["external_id"], status=LeadStatus.NEW,
                        created_at=now, updated_at=now, **{k: row[k] for k in _LEAD_FIELDS})
            s.add(lead)
            created += 1
        elif any(getattr(lead, k) != row[k] for k in _LEAD_FIELDS):
            for k in _LEAD_FIELDS:
                setattr(lead, k, row[k])
            lead.updated_at = now
            updated += 1
        else:
            unchanged += 1
            continue
        changes.note_lead(s, lead)
    return ImportReport(total=parsed.total, created=created, updated=updated, unchanged=unchanged,
                        errors=[(e.row, e.message) for e in parsed.errors],
                        warnings=[(w.row, w.message) for w in parsed.warnings])


def import_leads(s: Session, campaign_name: str, path: Path) -> ImportReport:
    campaign = find_campaign(s, campaign_name)
    try:
        parsed = parse_leads(path)
    except ImportFileError as exc:
        raise AdminError(str(exc)) from exc
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc}") from exc
    return import_rows(s, campaign, parsed)


def _script_title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()[:200]
    return fallback[:200]


def load_script(s: Session, campaign_name: str, path: Path, title: str | None = None) -> Script:
    campaign = find_campaign(s, campaign_name)
    try:
        body = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"cannot read {path}: {exc}") from exc
    title = title or path.stem
    sid = uuid.uuid5(_LEAD_NS, f"script\x1f{campaign.id}\x1f{title}").hex
    script = s.get(Script, sid)
    if script is None:
        script = Script(id=sid, campaign_id=campaign.id, title=title, body_markdown=body, version=1)
        s.add(script)
    elif script.body_markdown != body:
        script.body_markdown = body
        script.version += 1
        script.updated_at = utcnow()
    else:
        return script
    changes.note(s, changes.ALL, Entity.SCRIPT, sid)
    return script


_CODE_FLAGS = ("requires_callback", "requires_note", "adds_to_dnc", "closes_lead", "is_conversion")


def load_codes(s: Session, campaign_name: str, path: Path) -> int:
    """Codes, targets, compliance and pause reasons from a dispositions JSON file."""
    campaign = find_campaign(s, campaign_name)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise AdminError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise AdminError("expected an object with a 'codes' list")
    try:
        validate_codes(data["codes"])  # the app's check too: a duplicate code would overwrite the first
    except CodesFileError as exc:
        raise AdminError(str(exc)) from None
    seen = set()
    for pos, raw in enumerate(data["codes"]):
        if not isinstance(raw, dict) or not raw.get("code") or not raw.get("label"):
            raise AdminError(f"code #{pos + 1}: needs 'code' and 'label'")
        if raw.get("group", CodeGroup.CONNECTED) not in (CodeGroup.CONNECTED, CodeGroup.NOT_CONNECTED):
            raise AdminError(f"code {raw['code']}: group must be connected or not_connected")
        code = str(raw["code"])[:40]
        seen.add(code)
        cid = f"{campaign.id}:{code}"
        row = s.get(DispositionCode, cid) or DispositionCode(id=cid, campaign_id=campaign.id, code=code)
        values = {"label": str(raw["label"])[:100], "group": str(raw.get("group", CodeGroup.CONNECTED)),
                  "sip": [int(x) for x in raw.get("sip", [])], "position": pos, "active": True,
                  **{f: bool(raw.get(f, False)) for f in _CODE_FLAGS}}
        for k, v in values.items():
            setattr(row, k, v)
        s.add(row)
        changes.note(s, changes.ALL, Entity.DISPOSITION_CODE, cid)
    for row in s.execute(select(DispositionCode).where(DispositionCode.campaign_id == campaign.id)).scalars():
        if row.code not in seen and row.active:
            row.active = False
            changes.note(s, changes.ALL, Entity.DISPOSITION_CODE, row.id, ChangeOp.DELETE)
    rules = dict(campaign.rules or {})
    for key in ("compliance", "targets", "pause_reasons"):
        if key in data:
            rules[key] = data[key]
    campaign.rules = rules
    campaign.updated_at = utcnow()
    changes.note(s, changes.ALL, Entity.CAMPAIGN, campaign.id)
    if isinstance(data.get("targets"), dict):
        t = s.get(Target, campaign.id) or Target(scope=campaign.id)
        for k in ("calls_per_day", "talk_minutes_per_day", "conversions_per_month"):
            if k in data["targets"]:
                setattr(t, k, int(data["targets"][k]))
        s.add(t)
        changes.note(s, changes.ALL, Entity.TARGET, campaign.id)
    s.flush()
    return len(seen)


def assign_lead(s: Session, lead: Lead, user: User | None) -> bool:
    """Give one lead to ``user`` (None = unassign); the old audience gets a tombstone."""
    new_user, new_team = (user.id, user.team_id) if user else (None, None)
    if (lead.assigned_to, lead.team_id) == (new_user, new_team):
        return False
    old_user, old_team = lead.assigned_to, lead.team_id
    lead.assigned_to, lead.team_id = new_user, new_team
    lead.updated_at = utcnow()
    changes.note_lead(s, lead, old_user, old_team, moved=True)
    return True


def assign_leads(s: Session, campaign_name: str, *, evenly: bool = False, to: str | None = None,
                 team: str | None = None, count: int | None = None, reassign: bool = False) -> dict[str, int]:
    """Hand out open leads: round-robin over a team's TSRs (best leads spread
    across agents), or all to one user. Without ``reassign`` only unassigned
    leads move."""
    campaign = find_campaign(s, campaign_name)
    if evenly == bool(to):
        raise AdminError("choose --evenly or --to USER")
    if to:
        agents = [find_user(s, to)]
        if agents[0].role != "tsr":
            raise AdminError(f"{to} is not a tsr")
    else:
        q = select(User).where(User.role == "tsr", User.active.is_(True))
        if team:
            q = q.where(User.team_id == find_team(s, team).id)
        agents = list(s.execute(q.order_by(User.username)).scalars())
    if not agents:
        raise AdminError("no agents to assign to")
    q = select(Lead).where(Lead.campaign_id == campaign.id, Lead.status.in_(OPEN_STATUSES))
    if not reassign:
        q = q.where(Lead.assigned_to.is_(None))
    q = q.order_by(Lead.priority, Lead.policy_expiry, Lead.external_id)
    if count:
        q = q.limit(count)
    counts = {a.username: 0 for a in agents}
    for i, lead in enumerate(s.execute(q).scalars()):
        agent = agents[i % len(agents)]
        if assign_lead(s, lead, agent) or reassign:
            counts[agent.username] += 1
    return counts


def set_setting(s: Session, key: str, value: Any) -> None:
    from server.models import Setting

    row = s.get(Setting, key) or Setting(key=key)
    row.value = value
    s.add(row)
    changes.note(s, changes.ALL, Entity.SETTING, key)
