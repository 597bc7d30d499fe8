"""The embedded default: the bundled demo campaign, script, codes, targets and leads.

With no server configured the app loads resources/data/* into the cache at
start. Loading is idempotent and cheap when nothing changed: a fingerprint
of the files is kept in sync_state, so a normal start costs one lookup.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.resource_files import resource
from core.digest import sha256
from core.disposition_codes import parse_codes_json

if TYPE_CHECKING:
    from cache.repository import Repository

log = logging.getLogger(__name__)

DEMO_FILES = ("dispositions_demo.json", "script_renewal_demo.md", "leads_renewal_demo.csv",
              "coaching_form_demo.json")
STATE_KEY = "demo_fingerprint"


def data_file(name: str) -> Path:
    return resource("data", name)


def _fingerprint() -> str:
    h = sha256()
    for name in DEMO_FILES:
        h.update(name.encode())
        h.update(data_file(name).read_bytes())
    return h.hexdigest()


def _demo_config() -> dict[str, Any]:
    return parse_codes_json(data_file("dispositions_demo.json").read_bytes())


def load_codes_file(repo: Repository, campaign_id: str, path: Path) -> int:
    """A dispositions JSON file's codes into a local campaign (one transaction). The whole file
    is checked first (core.disposition_codes): duplicates or a bad entry raise CodesFileError
    and change nothing. Returns the number of codes."""
    data = parse_codes_json(Path(path).read_bytes())
    repo.upsert_disposition_codes(campaign_id, data["codes"])
    return len(data["codes"])


def campaign_rules(config: dict[str, Any] | None = None) -> dict[str, Any]:
    config = config or _demo_config()
    rules = {k: config[k] for k in ("compliance", "targets", "pause_reasons") if k in config}
    coaching = data_file("coaching_form_demo.json")
    if coaching.exists():
        rules["coaching_form"] = json.loads(coaching.read_text(encoding="utf-8"))
    return rules


def ensure_local_campaign(repo: Repository, name: str) -> str:
    """The id of the local campaign ``name``; a new one gets the demo's codes and rules as defaults."""
    existing = repo.campaign_id_by_name(name)
    if existing is not None:
        return existing
    config = _demo_config()
    campaign_id = repo.ensure_campaign(name, rules=campaign_rules(config))
    repo.upsert_disposition_codes(campaign_id, config.get("codes", []))
    log.info("created local campaign %s with the default disposition codes", campaign_id)
    return campaign_id


def _script_title(body: str, campaign: str) -> str:
    m = re.search(r"^title:\s*(.+)$", body, re.M)
    return m.group(1).strip() if m else f"{campaign} 话术"


def load_demo(repo: Repository, force: bool = False) -> str:
    """Load the demo into the cache; returns the demo campaign id."""
    config = _demo_config()
    name = config["campaign"]
    fingerprint = _fingerprint()
    existing = repo.campaign_id_by_name(name)
    if not force and existing is not None and repo.get_state(STATE_KEY) == fingerprint:
        return existing
    campaign_id = repo.ensure_campaign(name, rules=campaign_rules(config))
    repo.upsert_disposition_codes(campaign_id, config.get("codes", []))
    targets = config.get("targets", {})
    repo.upsert_targets("default", int(targets.get("calls_per_day", 30)),
                        int(targets.get("talk_minutes_per_day", 50)), int(targets.get("conversions_per_month", 10)))
    from core.lead_file import parse_file  # the lead-file reader (csv…) only when the demo is (re)loaded

    body = data_file("script_renewal_demo.md").read_text(encoding="utf-8")
    repo.upsert_script(f"{campaign_id}:script", campaign_id, _script_title(body, name), body)
    parsed = parse_file(data_file("leads_renewal_demo.csv"))
    repo.upsert_leads(campaign_id, [lead for _, lead in parsed.leads])
    for skipped in parsed.skipped:
        log.warning("demo lead on line %d skipped: %s", skipped.line, skipped.reason)
    repo.set_state(STATE_KEY, fingerprint)
    log.info("demo data loaded: campaign %s, %d leads", campaign_id, len(parsed.leads))
    return campaign_id
