"""core.pinyin: keys from the compact table (core/data/pinyin_zh.bin) equal pypinyin's, read
through pypinyin's own segmenter, on every phrase and character of its dictionaries, on mixed
text and on generated names; the shipped file is what ``--rebuild`` writes; the app's import of
core.pinyin does not load pypinyin. ~4 s.

The long campaign (308,572 names + every code point pypinyin calls Chinese, ~1 min):
``SEATMATE_PINYIN_LONG=1 .venv/bin/python -m pytest -p no:cacheprovider tests/unit/test_pinyin_keys.py``
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
from pypinyin.core import _default_pinyin

from core import pinyin
from core.pinyin import _single_chars, keys_from_syllables, name_keys

LONG = os.environ.get("SEATMATE_PINYIN_LONG") == "1"
ROOT = Path(__file__).resolve().parents[2]


def _reference(name: str) -> tuple[str, str]:
    """name_keys through pypinyin: every name through its segmenter, word by word."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syl: list[str] = []
    for word in _default_pinyin.seg(name):
        if RE_HANS.match(word):
            syl.extend(s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="default"))
        else:
            syl.append(word.lower())
    return keys_from_syllables(name, syl)


def _differences(names) -> list[str]:
    pinyin.clear_caches()
    return [n for n in names if name_keys(n) != _reference(n)]


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍海峰鹏辉斌宇浩凯"
_COMMON = "王李张刘陈杨黄赵吴曾单解朴仇查区盖乐覃翟沈伟芳娜秀英敏静丽强磊军长重行和会朝发中国华建"


def generated_names(scale: int, seed: int = 16) -> list[str]:
    """Names like the benchmarks' (surname + 1–2 given characters), random 1–4-character names
    from common name characters and polyphones, names with a dictionary phrase inside, random
    CJK (basic and extension A/B), and mixed text (spaces, digits, Latin, 〇, empty). At
    scale 1: 6,193 names; the long campaign uses scale 50 (308,572 names)."""
    rng = random.Random(seed)
    phrases = [p for p in PHRASES_DICT if 2 <= len(p) <= 4]
    names = [rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
             for _ in range(2000 * scale)]
    names += ["".join(rng.choice(_COMMON) for _ in range(rng.choice((1, 2, 3, 4)))) for _ in range(2000 * scale)]
    names += [rng.choice(_COMMON) + rng.choice(phrases) + rng.choice(("", rng.choice(_GIVEN)))
              for _ in range(1000 * scale)]
    blocks = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF))
    names += ["".join(chr(rng.randint(*rng.choice(blocks))) for _ in range(rng.choice((2, 3)))) for _ in range(400 * scale)]
    mixed = (" ", "1", "23", "A", "li", "Lei", "〇", "·", "-", "（", "客户", "张")
    names += ["".join(rng.choice(mixed + tuple(_COMMON)) for _ in range(rng.choice((2, 3, 4, 5))))
              for _ in range(771 * scale)]
    names += ["张三", "客户123", "Li Lei", "王 小明", " 曾国藩 ", "单田芳", "〇", "张〇", "A张", "重庆", "长沙王", "",
              "  ", "ABC", "张ABC李", "欧阳 Na Na", "123", "客户 12 号", "Zhang三", "曾", "解放", "朴树"]
    return names


def test_keys_equal_pypinyins_on_generated_names():
    names = generated_names(50 if LONG else 1)
    assert len(names) == (308_572 if LONG else 6_193)
    fast = sum(1 for n in names if n.strip() and RE_HANS.match(n.strip()) and _single_chars(n.strip()))
    assert fast > len(names) / 3  # most names take the character-by-character way...
    assert any(not _single_chars(n) for n in names if n and RE_HANS.match(n))  # ...not those with a phrase
    assert _differences(names) == []


def test_keys_equal_pypinyins_on_every_phrase_and_character():
    words = list(PHRASES_DICT) + [chr(cp) for cp in PINYIN_DICT]
    assert _differences(words) == []
    # A phrase after a character (the segmenter must find it mid-name, or not split it wrongly).
    rng = random.Random(7)
    assert _differences([rng.choice(_COMMON) + p for p in list(PHRASES_DICT)[::25]]) == []


def test_mixed_text_keeps_what_has_no_pinyin():
    for text, keys in (("客户123", ("kehu123", "kh1")), ("Li Lei", ("lilei", "l")),
                       ("王 小明", ("wangxiaoming", "wxm")), ("张ABC李", ("zhangabcli", "zal")),
                       ("123", ("123", "1")), ("", ("", "")), ("  ", ("", ""))):
        assert name_keys(text) == keys == _reference(text), text


def test_a_phrase_is_read_as_a_phrase():
    # 重 alone reads "zhong"; in the phrase 重庆 it is "chong": the fast way must not split it.
    assert not _single_chars("重庆")
    assert name_keys("重庆") == _reference("重庆") and name_keys("重庆")[0].startswith("chongqing")
    assert _single_chars("张伟") and name_keys("曾伟") == ("zengwei cengwei", "zw cw")


def test_shipped_table_is_what_rebuild_writes():
    assert pinyin.DATA_FILE.read_bytes() == pinyin.build(), "run: python -m core.pinyin --rebuild"


def test_every_chinese_code_point_reads_as_pypinyin():
    chars = [chr(cp) for cp in range(0x3000, 0x32400) if RE_HANS.match(chr(cp))]
    assert len(chars) > 90_000
    assert _differences(chars if LONG else chars[::16]) == []  # the long run: all of them


def test_the_app_does_not_load_pypinyin():
    code = ("import sys, core.pinyin, cache.pull_apply, sync.engine\n"
            "assert core.pinyin.name_keys('曾国藩') == ('zengguofan cengguofan', 'zgf cgf')\n"
            "core.pinyin.name_keys('客户123 重庆')\n"
            "print(sorted(m for m in sys.modules if m.startswith('pypinyin')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
