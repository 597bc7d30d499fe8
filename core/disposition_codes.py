"""A campaign's disposition codes as a file gives them (``dispositions_*.json``): checked whole
before anything is stored.

The same check for the app's loader (app.demo.campaign) and the server's ``load-codes``:
entries need a code and a label, a known group, SIP statuses as numbers, and no code may
appear twice — a second ``SALE`` would silently replace the first one's label, group and
position, so the file is refused and the codes stay as they were.
"""

from __future__ import annotations

import json
from typing import Any

from core.contract import CodeGroup
from core.errors import UserError

MAX_CODES = 200


class CodesFileError(UserError):
    """The codes cannot be used; ``code``/``params`` say why (core.messages CODES_*)."""

    code = "codes.invalid"


def _invalid(position: int, detail: str) -> CodesFileError:
    return CodesFileError(f"disposition code entry {position}: {detail}", code="codes.invalid",
                          params={"position": position, "detail": detail})


def parse_codes_json(raw: bytes) -> dict[str, Any]:
    """The file's JSON object (UTF-8, a BOM allowed), or CodesFileError."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(0, f"not JSON ({type(exc).__name__})") from None
    if isinstance(data, list):
        data = {"codes": data}
    if not isinstance(data, dict):
        raise _invalid(0, "expected an object with a 'codes' list")
    validate_codes(data.get("codes"))
    return data


def validate_codes(codes: Any) -> list[dict[str, Any]]:
    """The entries, checked; raises CodesFileError on the first problem (positions are 1-based)."""
    if not isinstance(codes, list) or not codes:
        raise _invalid(0, "expected a non-empty 'codes' list")
    if len(codes) > MAX_CODES:
        raise _invalid(MAX_CODES + 1, f"more than {MAX_CODES} codes")
    first_seen: dict[str, int] = {}
    for pos, entry in enumerate(codes, start=1):
        if not isinstance(entry, dict):
            raise _invalid(pos, "not an object")
        code, label = entry.get("code"), entry.get("label")
        if not isinstance(code, str) or not code.strip() or len(code) > 40:
            raise _invalid(pos, "'code' must be text of 1–40 characters")
        if not isinstance(label, str) or not label.strip():
            raise _invalid(pos, f"{code}: 'label' is missing")
        if entry.get("group", CodeGroup.CONNECTED) not in (CodeGroup.CONNECTED, CodeGroup.NOT_CONNECTED):
            raise _invalid(pos, f"{code}: 'group' must be connected or not_connected")
        sip = entry.get("sip", [])
        if not isinstance(sip, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in sip):
            raise _invalid(pos, f"{code}: 'sip' must be a list of SIP status numbers")
        key = code.strip()
        if key in first_seen:
            raise CodesFileError(f"disposition code {key} appears twice (entries {first_seen[key]} and {pos})",
                                 code="codes.duplicate", params={"code": key, "first": first_seen[key], "again": pos})
        first_seen[key] = pos
    return codes
