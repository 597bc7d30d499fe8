"""Masking of phone numbers and SIP users before anything is shown or logged."""

from __future__ import annotations

import re

_URI_USER = re.compile(r"^(?:\"[^\"]*\"\s*)?<?(?:sips?:)?([^@;>]+)")


def _mask_digits(digits: str) -> str:
    try:  # the app's masking rule when it exists (138****5678)
        from core.phone import mask  # type: ignore[import-not-found]

        return str(mask(digits))
    except Exception:
        pass
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) >= 3:
        return digits[:1] + "*" * (len(digits) - 2) + digits[-1:]
    return "*" * len(digits)


def mask_remote(uri_or_number: str) -> str:
    """Mask the user part of a SIP URI or a bare number; keep non-numeric users (extensions named
    alice, service numbers like 486) readable only when they are short or alphabetic."""
    m = _URI_USER.match(uri_or_number.strip())
    user = m.group(1) if m else uri_or_number
    plain = user.lstrip("+")
    if plain.isdigit():
        return ("+" if user.startswith("+") else "") + _mask_digits(plain)
    return user
