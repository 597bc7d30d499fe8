"""core.pinyin: a name whose characters start no phrase is read character by character without
pypinyin's segmenter (the first pull's fast way); the keys are the same as through the
segmenter, for those names and for names that do contain a phrase. ~1 s."""

from __future__ import annotations

import random

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import RE_HANS
from pypinyin.core import _default_pinyin

from core import pinyin
from core.pinyin import _SURNAME_READINGS, _single_chars, name_keys


def _reference(name: str) -> tuple[str, str]:
    """name_keys as it was: every name through pypinyin's segmenter, word by word."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syl: list[str] = []
    for word in _default_pinyin.seg(name):
        if RE_HANS.match(word):
            syl.extend(s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="default"))
        else:
            syl.append(word.lower())
    syl = [s for s in syl if s.strip()]
    variants = [syl]
    alt = _SURNAME_READINGS.get(name[0])
    if alt and syl and syl[0] != alt:
        variants.insert(0, [alt, *syl[1:]])
    return (" ".join("".join(v).replace(" ", "") for v in variants),
            " ".join("".join(s[:1] for s in v) for v in variants))


def test_keys_are_the_segmenters_with_and_without_phrases():
    from pypinyin.constants import PHRASES_DICT

    rng = random.Random(16)
    chars = "王李张刘陈杨黄赵吴曾单解朴仇查区盖乐覃翟沈伟芳娜秀英敏静丽强磊军长重行和会朝发中国华建"
    phrases = [p for p in list(PHRASES_DICT)[:20000] if 2 <= len(p) <= 3]
    names = ["".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 3, 4)))) for _ in range(3000)]
    names += [rng.choice(chars) + rng.choice(phrases) for _ in range(1000)]  # a phrase inside the name
    names += ["张三", "客户123", "Li Lei", "王 小明", " 曾国藩 ", "单田芳", "〇", "张〇", "A张", "重庆", "长沙王", ""]
    pinyin.name_keys.cache_clear()
    fast = sum(1 for n in names if n.strip() and RE_HANS.match(n.strip()) and _single_chars(n.strip()))
    assert fast > 1000  # most names take the character-by-character way...
    assert any(not _single_chars(n) for n in names if n and RE_HANS.match(n))  # ...not those with a phrase
    for n in names:
        assert name_keys(n) == _reference(n), n


def test_a_phrase_is_read_as_a_phrase():
    # 重 alone reads "zhong"; in the phrase 重庆 it is "chong": the fast way must not split it.
    assert not _single_chars("重庆")
    assert name_keys("重庆") == _reference("重庆") and name_keys("重庆")[0].startswith("chongqing")
    assert _single_chars("张伟") and name_keys("曾伟") == ("zengwei cengwei", "zw cw")
