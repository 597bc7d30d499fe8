"""A pull page as lines of JSON (docs/sync-api.md, "Pull page in lines"): both ends' one definition.

A client that sends ``Accept: application/x-ndjson`` gets the same page as the JSON object
of ``GET /sync/pull``, cut into lines: the first line is that object without ``changes``
and with ``count`` (how many changes follow), each further line a JSON array of at most
``CHANGES_PER_LINE`` changes, in order. A client that does not ask (or a server that does
not know the format) keeps the one JSON object.

Why: a JSON parser holds the interpreter lock for the whole document. A page of 5,000 leads
(~3 MB) is one 10-15 ms parse on the agent's PC, during which the window's thread cannot
run Python (measured in tests/bench/bench_sync.py: the GUI probe's longest waits were these
parses); a line of 500 changes is ~1 ms, and the parsing thread lets the window in between.
The page is still applied in one transaction with its cursor; only the parse is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

try:  # a C JSON codec on both ends; plain json still reads and writes the same lines
    import orjson

    _dumps: Callable[[Any], bytes] = orjson.dumps
    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    import json

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    _loads = json.loads

MEDIA_TYPE = "application/x-ndjson"
#: Changes per line: ~300 KB of JSON for leads, ~1 ms to parse on this machine.
CHANGES_PER_LINE = 500


def accepts_lines(accept_header: str) -> bool:
    """True when an ``Accept`` header names the lines format (without ``q=0``)."""
    for item in accept_header.split(","):
        media, _, params = item.partition(";")
        if media.strip().lower() == MEDIA_TYPE:
            q = params.replace(" ", "").lower()
            return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def encode(meta: dict[str, Any], changes: Sequence[Any], per_line: int = CHANGES_PER_LINE) -> bytes:
    """``meta`` (the page without ``changes``) plus ``count``, then the changes, ``per_line``
    a line. JSON text never holds a raw newline (it is escaped inside strings), so lines
    split on ``\\n`` exactly."""
    per_line = max(1, per_line)
    head = {**meta, "count": len(changes)}
    parts = [_dumps(head)]
    parts.extend(_dumps(list(changes[i:i + per_line])) for i in range(0, len(changes), per_line))
    parts.append(b"")
    return b"\n".join(parts)


def decode(body: bytes) -> tuple[dict[str, Any], Iterator[list[Any]]]:
    """The page's head (a dict, ``count`` removed) and its change lines, parsed one at a time
    as the iterator is consumed (so the caller can work between them). Raises ValueError on
    a body that is not this format, on a line that is not an array, and when the lines do
    not hold exactly ``count`` changes (a cut-off body is refused, never half-applied)."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise ValueError("empty page")
    head = _loads(lines[0])
    if not isinstance(head, dict):
        raise ValueError("the page's first line is not an object")
    count = head.pop("count", None)
    if type(count) is not int or count < 0:
        raise ValueError("the page's first line has no count")

    def changes() -> Iterator[list[Any]]:
        seen = 0
        for line in lines[1:]:
            items = _loads(line)
            if not isinstance(items, list):
                raise ValueError("a change line is not an array")
            seen += len(items)
            if seen > count:
                break
            yield items
        if seen != count:
            raise ValueError(f"the page holds {seen} changes, its head says {count}")

    return head, changes()


__all__ = ["CHANGES_PER_LINE", "MEDIA_TYPE", "accepts_lines", "decode", "encode"]
