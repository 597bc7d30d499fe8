"""The question inbox (记录新问题 → 异议处理): group similar questions, add an answer to the script.

Grouping is deterministic: the text is normalised (NFKC, lower case, punctuation and
whitespace removed), compared by the Jaccard index of its character bigrams, and each
question joins the first group (in the order given) whose first question is similar enough
(single link to the group's representative). Chinese has no spaces; character bigrams
work for it and for mixed text alike.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from core.script_doc import OBJECTIONS_TITLE

SIMILAR = 0.5
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
NEW_MARKER = re.compile(r"<!--\s*new:\s*(\d{4}-\d{2}-\d{2})\s*-->")


def normalise(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())


def bigrams(text: str) -> frozenset[str]:
    t = normalise(text)
    if len(t) < 2:
        return frozenset({t}) if t else frozenset()
    return frozenset(t[i:i + 2] for i in range(len(t) - 1))


def similarity(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    if not x and not y:
        return 1.0
    return len(x & y) / len(x | y) if (x or y) else 0.0


def group(texts: Sequence[str], threshold: float = SIMILAR) -> list[list[int]]:
    """Indexes of ``texts`` in groups of similar wording, in first-seen order."""
    reps: list[frozenset[str]] = []
    groups: list[list[int]] = []
    for i, text in enumerate(texts):
        grams = bigrams(text)
        for g, rep in enumerate(reps):
            union = grams | rep
            if (len(grams & rep) / len(union) if union else 1.0) >= threshold:
                groups[g].append(i)
                break
        else:
            reps.append(grams)
            groups.append([i])
    return groups


def new_marker(day: dt.date) -> str:
    return f"<!-- new: {day.isoformat()} -->"


def marked_new(body: str) -> dt.date | None:
    """The date an objection answer was added by the inbox (its marker), or None."""
    m = NEW_MARKER.search(body or "")
    return dt.date.fromisoformat(m.group(1)) if m else None


def objection_title(question: str) -> str:
    """The `## ` heading an answered question gets (one line, at most 80 characters)."""
    title = " ".join((question or "").split()).lstrip("#").strip()
    return title[:80] or "新问题"


def append_objection(markdown: str, question: str, answer: str, day: dt.date) -> str:
    """The script with ``## question`` + marker + answer appended at the end of 异议处理
    (the section is created before the next ``#`` section, or at the end, when missing)."""
    entry = f"## {objection_title(question)}\n\n{new_marker(day)}\n{answer.strip()}\n"
    lines = (markdown or "").rstrip("\n").split("\n") if markdown else []
    start = None
    for i, line in enumerate(lines):
        if re.match(rf"^#\s+{re.escape(OBJECTIONS_TITLE)}\s*$", line):
            start = i
            break
    if start is None:
        return ("\n".join(lines).rstrip() + "\n\n" if lines else "") + f"# {OBJECTIONS_TITLE}\n\n{entry}"
    end = len(lines)
    for j in range(start + 1, len(lines)):
        if re.match(r"^#\s+\S", lines[j]):
            end = j
            break
    head = "\n".join(lines[:end]).rstrip()
    tail = "\n".join(lines[end:])
    return head + "\n\n" + entry + ("\n" + tail + ("\n" if not tail.endswith("\n") else "") if tail else "")
