"""The coaching form (辅导表) and its score: one copy for the TL's app, the agent's app and the server.

A form is sections of items answered Y / N / NA (``resources/data/coaching_form_demo.json``);
each item gets a stable id ``"<section>.<item>"`` (1-based, e.g. ``"1.2"``) by its place in
the form. An evaluation answers items, each with an optional comment and an optional moment
in the call (seconds from the start of the recording). The score is Y / (Y + N) of the
answered items in percent, NA excluded; None when no item was scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ANSWERS = ("Y", "N", "NA")
MAX_ITEMS = 200
COMMENT_LIMIT = 2000


class FormError(ValueError):
    pass


@dataclass(frozen=True)
class FormItem:
    id: str
    section: str
    text: str


@dataclass(frozen=True)
class CoachingForm:
    name: str
    items: tuple[FormItem, ...]
    answers: tuple[str, ...] = ANSWERS

    @property
    def item_ids(self) -> frozenset[str]:
        return frozenset(i.id for i in self.items)

    def to_json(self) -> dict[str, Any]:
        """The pulled ``coaching_form`` shape: the demo file's, with item ids."""
        sections: list[dict[str, Any]] = []
        for item in self.items:
            if not sections or sections[-1]["title"] != item.section:
                sections.append({"title": item.section, "items": []})
            sections[-1]["items"].append({"id": item.id, "text": item.text})
        return {"name": self.name, "answers": list(self.answers), "sections": sections}


def parse_form(data: Mapping[str, Any]) -> CoachingForm:
    """A form from its JSON (items as strings, or as ``{"id", "text"}`` when pulled back)."""
    if not isinstance(data, Mapping):
        raise FormError("a coaching form is a JSON object")
    name = str(data.get("name") or "").strip()
    sections = data.get("sections")
    if not name or not isinstance(sections, list) or not sections:
        raise FormError("a coaching form needs a name and sections")
    items: list[FormItem] = []
    for si, sec in enumerate(sections, 1):
        if not isinstance(sec, Mapping) or not str(sec.get("title") or "").strip():
            raise FormError(f"section {si} needs a title")
        raw = sec.get("items")
        if not isinstance(raw, list) or not raw:
            raise FormError(f"section {si} needs items")
        for ii, it in enumerate(raw, 1):
            text = it.get("text") if isinstance(it, Mapping) else it
            if not isinstance(text, str) or not text.strip():
                raise FormError(f"item {si}.{ii} needs a text")
            items.append(FormItem(f"{si}.{ii}", str(sec["title"]).strip(), text.strip()))
    if len(items) > MAX_ITEMS:
        raise FormError(f"at most {MAX_ITEMS} items")
    return CoachingForm(name, tuple(items))


@dataclass(frozen=True)
class ItemAnswer:
    item: str
    answer: str
    comment: str = ""
    at_s: float | None = None  # the moment in the call, seconds


def check_answers(form: CoachingForm, answers: Iterable[ItemAnswer]) -> list[str]:
    """What is wrong with an evaluation's answers on this form (empty: valid)."""
    problems: list[str] = []
    seen: set[str] = set()
    ids = form.item_ids
    for a in answers:
        if a.item not in ids:
            problems.append(f"item {a.item!r} is not on the form")
        if a.item in seen:
            problems.append(f"item {a.item!r} answered twice")
        seen.add(a.item)
        if a.answer not in ANSWERS:
            problems.append(f"item {a.item!r}: answer must be Y, N or NA")
        if a.at_s is not None and not (0 <= a.at_s <= 24 * 3600):
            problems.append(f"item {a.item!r}: at_s out of range")
        if len(a.comment or "") > COMMENT_LIMIT:
            problems.append(f"item {a.item!r}: comment too long")
    return problems


def score(answers: Iterable[ItemAnswer | str]) -> float | None:
    """Y / (Y + N) in percent, one decimal; NA excluded; None when nothing was scored."""
    y = n = 0
    for a in answers:
        v = a.answer if isinstance(a, ItemAnswer) else a
        if v == "Y":
            y += 1
        elif v == "N":
            n += 1
    return round(100.0 * y / (y + n), 1) if y + n else None


#: The agent's answer to an evaluation.
ACK_NONE, ACK_ACKNOWLEDGED, ACK_DISPUTED = "none", "acknowledged", "disputed"
