"""core/pull_lines.py: a pull page cut into lines of JSON reads back as the same page, and a body
that is cut off, padded or not in the format is refused whole (never half a page). <0.1 s."""

from __future__ import annotations

import pytest

from core import pull_lines


def _page(n: int) -> tuple[dict, list[dict]]:
    meta = {"next_cursor": "42", "has_more": True, "server_time": "2026-12-05T04:00:00.000Z",
            "monitor_public_key": "k", "generation": "0"}
    changes = [{"entity": "lead", "id": f"L{i}", "op": "upsert",
                "data": {"name": "张伟", "notes": 'line one\nline "two" \\ end'}} for i in range(n)]
    return meta, changes


@pytest.mark.parametrize("n", [0, 1, 2, 5, 7])
def test_lines_read_back_as_the_page(n):
    meta, changes = _page(n)
    body = pull_lines.encode(meta, changes, per_line=2)
    # A head line, then ceil(n / 2) lines of changes: a newline inside a value is escaped.
    assert body.count(b"\n") == 1 + (n + 1) // 2
    head, lines = pull_lines.decode(body)
    parts = list(lines)
    assert head == meta
    assert [len(p) for p in parts] == [2] * (n // 2) + ([1] if n % 2 else [])
    assert [c for p in parts for c in p] == changes


def test_the_server_default_cuts_5000_changes_in_lines_of_500():
    meta, changes = _page(5000)
    _head, lines = pull_lines.decode(pull_lines.encode(meta, changes))
    assert [len(p) for p in lines] == [pull_lines.CHANGES_PER_LINE] * 10


@pytest.mark.parametrize("cut", ["last line", "extra line", "wrong count", "no count", "not json", "array head",
                                 "object line", "empty"])
def test_a_damaged_body_is_refused_whole(cut):
    meta, changes = _page(5)
    body = pull_lines.encode(meta, changes, per_line=2)
    lines = body.split(b"\n")[:-1]
    damaged = {
        "last line": b"\n".join(lines[:-1]) + b"\n",
        "extra line": body + b'[{"entity":"lead","id":"X","op":"delete"}]\n',
        "wrong count": body.replace(b'"count":5', b'"count":4'),
        "no count": body.replace(b',"count":5', b""),
        "not json": body.replace(b'"L3"', b'"L3'),
        "array head": b"[]\n" + b"\n".join(lines[1:]) + b"\n",
        "object line": lines[0] + b'\n{"changes":[]}\n',
        "empty": b"",
    }[cut]
    with pytest.raises(ValueError):
        _head, parts = pull_lines.decode(damaged)
        list(parts)


@pytest.mark.parametrize(("accept", "lines"), [
    ("application/x-ndjson, application/json;q=0.9", True),
    ("application/json", False),
    ("", False),
    ("application/x-ndjson;q=0", False),
    ("Application/X-NDJSON", True),
])
def test_only_a_client_that_asks_gets_lines(accept, lines):
    assert pull_lines.accepts_lines(accept) is lines
