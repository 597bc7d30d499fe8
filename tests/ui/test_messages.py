"""User messages as codes: every code has words, every translation keeps its placeholders,
and the rules and services that talk to the agent build no sentences themselves."""

from __future__ import annotations

import ast
import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from app import i18n_build
from app.i18n import Translations
from core import messages as m
from core.messages import Message
from ui import messages

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

#: Where the gate, the wrap-up, sync and the call loop decide what the agent is told.
SPEAKERS = ("core/compliance.py", "core/wrapup.py", "app/workspace/controller.py", "app/workspace/wrapup.py",
            "sync/service.py")


def test_every_code_has_words_and_nothing_else_does() -> None:
    assert set(messages.TEXTS) == set(m.CODES)


def test_zh_cn_translations_keep_the_placeholders() -> None:
    root = ET.parse(i18n_build.ts_path("zh_CN")).getroot()
    context = next(c for c in root.iter("context") if c.findtext("name") == messages.CONTEXT)
    translated = {msg.findtext("source"): msg.findtext("translation") or "" for msg in context.iter("message")}
    for code, source in messages.TEXTS.items():
        assert source in translated, f"{code}: no zh_CN entry (run `python -m app.i18n_build --update`)"
        zh = translated[source]
        assert set(PLACEHOLDER.findall(zh)) == set(PLACEHOLDER.findall(source)), (code, source, zh)
        assert CJK.search(zh), (code, zh)


def test_words_follow_the_language(qapp) -> None:
    t = Translations.of(qapp)
    blocked = Message.of(m.DIAL_NO_LEAD_BECAUSE,
                         reason=Message.of(m.GATE_WINDOW, now="12:30", windows=("09:00–12:00", "13:30–17:30")))
    try:
        t.apply("en")
        assert messages.text(blocked) == ("No customer to call: It is 12:30: outside this campaign's calling "
                                          "hours (09:00–12:00, 13:30–17:30)")
        problems = [Message.of(m.WRAPUP_NOTE_REQUIRED, label="已在他处投保"), Message.of(m.WRAPUP_CALLBACK_PAST)]
        assert messages.join(problems) == ("“已在他处投保” needs a note; "
                                           "The callback time must be later than now")
        t.apply("zh_CN")
        assert messages.text(blocked) == "没有可拨打的客户：当前 12:30 不在本活动外呼时段（09:00–12:00、13:30–17:30）内"
        assert messages.join(problems) == "「已在他处投保」需要填写备注；回访时间必须晚于当前时间"
        when = dt.datetime(2026, 11, 25, 6, 30)  # UTC → shown in local time
        local = when.replace(tzinfo=dt.timezone.utc).astimezone()
        assert messages.text(Message.of(m.WRAPUP_SAVED_CALLBACK, when=when)) == f"已保存，预约回访 {local:%m-%d %H:%M}"
        # An unknown code (a newer server's) still says something, in the UI language.
        assert messages.text(Message.of("brand.new")) == QCoreApplication.translate("Messages", "Something went wrong")
    finally:
        t.apply("zh_CN")


def test_known_errors_carry_their_message() -> None:
    from core.phone import PhoneError, normalise

    try:
        normalise("12ab")
    except PhoneError as exc:
        assert m.from_error(exc).code == m.PHONE_NOT_DIGITS
    assert m.from_error(KeyError("x")) == Message.of(m.ERROR, error="KeyError")


def test_the_speakers_build_no_chinese_sentences() -> None:
    """String literals (docstrings and comments aside) in the modules that decide what the
    agent is told: no CJK text. The words are in ui/messages.py and the .ts files."""
    found = []
    for rel in SPEAKERS:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and CJK.search(node.value)):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)
