"""A campaign script (话术) as the agent uses it during a call.

Parses the Markdown (optional ``---`` front matter, ``#`` sections, ``##``
objection answers under 异议处理), fills ``{placeholders}`` from the lead and
the agent, and searches the objection answers. Pure text in, text out: the
script panel (``ui/script_panel.py``, the only one) renders the result.

The script is what the agent says to the customer, so its filled-in values are
worded for the script's language (Chinese dates, ``3,120`` for a premium),
whatever the UI language is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

OBJECTIONS_TITLE = "异议处理"
_PLACEHOLDER = re.compile(r"\{([^{}\n]{1,30})\}")


@dataclass(frozen=True)
class Section:
    title: str
    body: str
    level: int = 1
    anchor: str = ""


@dataclass(frozen=True)
class ScriptDoc:
    title: str
    sections: tuple[Section, ...]
    objections: tuple[Section, ...]
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def markdown(self) -> str:
        return "\n\n".join(("#" * s.level) + f" {s.title}\n\n{s.body}".rstrip() for s in self.all_sections())

    def all_sections(self) -> list[Section]:
        out: list[Section] = []
        for section in self.sections:
            out.append(section)
            if section.title == OBJECTIONS_TITLE:
                out.extend(self.objections)
        return out


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    meta: dict[str, str] = {}
    for line in text[3:end].strip().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip()] = value.strip()
    return meta, text[end + 4 :].lstrip("\n")


def parse(text: str, title: str = "") -> ScriptDoc:
    meta, body = _split_front_matter(text or "")
    sections: list[Section] = []
    objections: list[Section] = []
    current: tuple[str, int] | None = None
    lines: list[str] = []
    preface: list[str] = []
    parent = ""

    def flush() -> None:
        if current is None:
            return
        name, level = current
        section = Section(name, "\n".join(lines).strip(), level, f"s{len(sections) + len(objections)}")
        if level >= 2 and parent == OBJECTIONS_TITLE:
            objections.append(section)
        else:
            sections.append(section)

    for line in body.splitlines():
        m = re.match(r"^(#{1,3})\s+(.*\S)\s*$", line)
        if m:
            flush()
            level = len(m.group(1))
            if level == 1:
                parent = m.group(2)
            current = (m.group(2), level)
            lines = []
        elif current is None:
            preface.append(line)
        else:
            lines.append(line)
    flush()
    if not sections and "\n".join(preface).strip():
        sections.append(Section(title or "话术", "\n".join(preface).strip(), 1, "s0"))
    elif "\n".join(preface).strip():
        # Text before the first heading (or a front matter left open): shown first, never dropped.
        sections.insert(0, Section(title or "话术", "\n".join(preface).strip(), 1, "s-preface"))
    return ScriptDoc(title or meta.get("campaign", ""), tuple(sections), tuple(objections), meta)


def _format_value(value: object) -> str:
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def placeholder_values(lead: Mapping[str, object], agent: Mapping[str, object]) -> dict[str, str]:
    """The standard placeholders, from a lead mapping and an agent mapping."""
    gender = str(lead.get("gender") or "")
    title = "先生" if gender == "男" else "女士" if gender == "女" else ""
    name = str(lead.get("name") or "")
    values = {
        "客户姓名": name,
        "称呼": title,
        "客户称呼": name[:1] + title if name and title else "",  # 张先生
        "坐席姓名": agent.get("display_name") or agent.get("name"),
        "公司名称": agent.get("company"),
        "车牌号": lead.get("plate"),
        "车型": lead.get("vehicle"),
        "保单到期日": lead.get("policy_expiry"),
        "上年保费": lead.get("last_premium"),
        "城市": lead.get("city"),
    }
    return {k: _format_value(v) for k, v in values.items() if v not in (None, "")}


def fill(text: str, values: Mapping[str, str], missing: str = "【{name}】") -> str:
    """Replace ``{name}``; unknown names stay visible so the agent asks instead of reading a gap."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1).strip(), missing.format(name=m.group(1))), text)


def search_objections(doc: ScriptDoc, query: str) -> list[Section]:
    """Objection answers whose title or body contains every word of the query."""
    words = [w for w in re.split(r"\s+", query.strip().lower()) if w]
    if not words:
        return list(doc.objections)

    def score(section: Section) -> int:
        title, body = section.title.lower(), section.body.lower()
        if not all(w in title or w in body for w in words):
            return -1
        return sum(2 if w in title else 1 for w in words)

    ranked = [(score(s), i, s) for i, s in enumerate(doc.objections)]
    return [s for sc, _, s in sorted(ranked, key=lambda t: (-t[0], t[1])) if sc >= 0]
