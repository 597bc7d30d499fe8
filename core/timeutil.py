"""Time helpers: the one copy of "now in UTC", naive-UTC conversion and the wire's ISO format.

Every stored time (cache and server columns, the sync wire) is UTC. Columns hold
*naive* datetimes meaning UTC; the wire carries ISO 8601 with a ``Z``
(``2026-11-25T08:00:00.123Z``). Local time exists only at the edges (the
compliance gate's calling windows, what the UI shows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, overload

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    """Now, as a naive UTC datetime (what every cache and server column stores)."""
    return dt.datetime.now(UTC).replace(tzinfo=None)


def now_utc() -> dt.datetime:
    """Now, as an aware UTC datetime (for rules that compare with aware times)."""
    return dt.datetime.now(UTC)


@overload
def naive_utc(value: dt.datetime) -> dt.datetime: ...


@overload
def naive_utc(value: None) -> None: ...


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware → naive UTC; a naive value is taken as UTC already; None stays None."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@overload
def aware_utc(value: dt.datetime) -> dt.datetime: ...


@overload
def aware_utc(value: None) -> None: ...


def aware_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive (meaning UTC) → aware UTC; an aware value is converted to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso(value: Any) -> dt.datetime | None:
    """ISO 8601 (``…Z``, with an offset, or naive meaning UTC) → naive UTC; None or "" → None.

    Raises ValueError for text that is not ISO 8601."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return naive_utc(value)
    text = str(value)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return naive_utc(dt.datetime.fromisoformat(text))


@overload
def format_iso(value: dt.datetime, timespec: str = ...) -> str: ...


@overload
def format_iso(value: None, timespec: str = ...) -> None: ...


def format_iso(value: dt.datetime | None, timespec: str = "milliseconds") -> str | None:
    """The wire format: UTC, ``Z`` suffix, ``timespec`` as in ``datetime.isoformat``
    (milliseconds by default; "seconds" drops the fraction). None stays None."""
    if value is None:
        return None
    return naive_utc(value).isoformat(timespec=timespec) + "Z"


__all__ = ["UTC", "aware_utc", "format_iso", "naive_utc", "now_utc", "parse_iso", "utcnow"]
