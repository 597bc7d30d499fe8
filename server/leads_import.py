"""Lead lists for the server: the shared pure parser in app/leads_import.py
(CSV UTF-8/GBK or XLSX, Chinese or English headers, row-level reasons) turned
into the rows server/admin.py upserts by (campaign, external_id)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.lead_file import ImportFileError, parse_file

__all__ = ["ImportFileError", "ParseResult", "RowError", "parse_leads"]


@dataclass
class RowError:
    row: int  # line in the file (header = 1)
    message: str


@dataclass
class ParseResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    total: int = 0


def parse_leads(path: Path) -> ParseResult:
    """Raises ImportFileError (one sentence) when the file cannot be read at all."""
    parsed = parse_file(path)
    rows = []
    for _line, lead in parsed.leads:
        rows.append({"external_id": lead.external_id, "name": lead.name[:100],
                     "phones": [{"number": n, "label": "mobile" if i == 0 else "other"}
                                for i, n in enumerate(lead.phones)],
                     "gender": lead.gender[:10], "city": lead.city[:50], "plate": lead.plate[:20],
                     "vehicle": lead.vehicle[:100], "policy_expiry": lead.policy_expiry,
                     "last_premium": lead.last_premium, "source": lead.source[:100], "priority": lead.priority,
                     "notes": lead.notes})
    errors = [RowError(s.line, s.reason) for s in parsed.skipped]
    return ParseResult(rows=rows, errors=errors, warnings=[RowError(w.line, w.reason) for w in parsed.warnings],
                       total=len(rows) + len(errors))
