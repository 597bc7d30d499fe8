"""Import a lead file into a local campaign of the cache (``seatmate import-leads``).

Parsing is :mod:`core.lead_file` (the server uses the same parser); this module
creates the campaign when needed and upserts the good rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.demo.campaign import ensure_local_campaign
from cache.repository import Repository
from core.lead_file import ImportFileError, ImportResult, ParsedFile, parse_file

log = logging.getLogger(__name__)


def import_file(repo: Repository, path: Path, campaign: str, parsed: ParsedFile | None = None) -> ImportResult:
    """Parse ``path`` and upsert its good rows into the local campaign named ``campaign``.

    The whole file is read and checked before the cache is touched: a file that cannot be
    read, or has no usable row, raises :class:`ImportFileError` and changes nothing.
    ``parsed`` is ``parse_file(path)`` when the caller already has it (the CLI reads the
    file before opening the cache; a second parse doubled a big import's time)."""
    path = Path(path)
    if parsed is None:
        parsed = parse_file(path)
    if not parsed.leads:
        first = parsed.skipped[0].reason if parsed.skipped else ""
        raise ImportFileError(f"{path.name} has no usable row ({len(parsed.skipped)} skipped).",
                              code="import.no_rows",
                              params={"file": path.name, "skipped": len(parsed.skipped), "reason": first})
    campaign_id = ensure_local_campaign(repo, campaign)
    result = repo.upsert_leads(campaign_id, [lead for _, lead in parsed.leads])
    for w in parsed.warnings:
        log.warning("import %s line %d: %s", Path(path).name, w.line, w.reason)
    log.info("imported %d leads (%d new, %d updated) from %s; %d rows skipped",
             len(parsed.leads), result.inserted, result.updated, Path(path).name, len(parsed.skipped))
    return ImportResult(campaign_id=campaign_id, imported=len(parsed.leads), inserted=result.inserted,
                        updated=result.updated, skipped=tuple(parsed.skipped), warnings=tuple(parsed.warnings))
