"""Import a lead file into a local campaign of the cache (``seatmate import-leads``).

Parsing is :mod:`core.lead_file` (the server uses the same parser); this module
creates the campaign when needed and upserts the good rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.demo.campaign import ensure_local_campaign
from cache.repository import Repository
from core.lead_file import ImportResult, parse_file

log = logging.getLogger(__name__)


def import_file(repo: Repository, path: Path, campaign: str) -> ImportResult:
    """Parse ``path`` and upsert its good rows into the local campaign named ``campaign``."""
    parsed = parse_file(path)
    campaign_id = ensure_local_campaign(repo, campaign)
    result = repo.upsert_leads(campaign_id, [lead for _, lead in parsed.leads])
    for w in parsed.warnings:
        log.warning("import %s line %d: %s", Path(path).name, w.line, w.reason)
    log.info("imported %d leads (%d new, %d updated) from %s; %d rows skipped",
             len(parsed.leads), result.inserted, result.updated, Path(path).name, len(parsed.skipped))
    return ImportResult(campaign_id=campaign_id, imported=len(parsed.leads), inserted=result.inserted,
                        updated=result.updated, skipped=tuple(parsed.skipped), warnings=tuple(parsed.warnings))
