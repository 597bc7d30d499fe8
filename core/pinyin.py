"""Search keys for Chinese names: full pinyin ("zhangsan") and initials ("zs").

Surnames often read differently from the everyday reading of the character
(曾 zeng, 单 shan, 解 xie), so a name gets the surname reading as well as
pypinyin's default; both are stored space-separated and a substring search
finds either. pypinyin is imported lazily: it costs ~0.2 s and the app does
not need it to start (keys are stored in the cache).
"""

from __future__ import annotations

from functools import lru_cache

# Surname readings that differ from pypinyin's default for the character.
_SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "朴": "piao", "仇": "qiu", "查": "zha",
    "区": "ou", "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "缪": "miao",
    "召": "shao", "繁": "po", "种": "chong", "秘": "bi", "尉": "yu", "黑": "he",
    "员": "yun", "隗": "wei", "冼": "xian", "華": "hua", "华": "hua", "朝": "chao",
    "柏": "bai", "薄": "bo", "沈": "shen", "宿": "su", "祭": "zhai", "相": "xiang",
}


_prefixes: set[str] | frozenset[str] | None = None  # pypinyin's phrase prefixes (mmseg), once loaded


def _phrase_prefixes() -> set[str] | frozenset[str]:
    global _prefixes
    if _prefixes is None:
        from pypinyin.seg import mmseg  # lazy: see module docstring

        # The segmenter's own set (the same object, so a phrase dictionary loaded later still
        # counts); an empty set (every name takes the general way) if pypinyin changed it.
        found = getattr(getattr(mmseg, "p_set", None), "_set", None)
        _prefixes = found if isinstance(found, (set, frozenset)) else frozenset()
    return _prefixes


def _single_chars(text: str) -> bool:
    """True when pypinyin's segmentation of ``text`` (all Chinese characters) is one word per
    character: no two neighbouring characters start a known phrase. pypinyin's maximum-matching
    segmenter (mmseg, strict or not) then cuts one character at a time, so the name's syllables
    are its characters' own readings, looked up one by one (``_word_syllables`` of one
    character), with no segmentation: most names (~4 µs instead of ~8 µs each, cold)."""
    prefixes = _phrase_prefixes()
    if not prefixes:
        return False
    for i in range(len(text) - 1):  # a plain loop: any(<generator>) costs more for 2-3 characters
        if text[i:i + 2] in prefixes:
            return False
    return True


def _syllables(text: str) -> list[str]:
    from pypinyin.constants import RE_HANS  # lazy: see module docstring

    out: list[str] = []
    if RE_HANS.match(text) and _single_chars(text):
        for ch in text:
            out.extend(_word_syllables(ch))
        return out
    # pypinyin converts each word of its own segmentation on its own (a phrase, one
    # character, or a run without pinyin such as "123"), so converting the words one by one
    # with a cache per distinct word gives the same list; a 200,000-row list has few
    # distinct words but many distinct names.
    # A word without Chinese characters ("123", "Li") is kept as it is (errors="default"):
    # no need to cache every distinct number in "客户123".
    from pypinyin.core import _default_pinyin

    for word in _default_pinyin.seg(text):
        if RE_HANS.match(word):
            out.extend(_word_syllables(word))
        else:
            out.append(word.lower())
    return out


@lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="default"))


@lru_cache(maxsize=65536)
def name_keys(name: str) -> tuple[str, str]:
    """Return (pinyin, initials) for ``name``, e.g. ("zengguofan cengguofan", "zgf cgf")."""
    name = (name or "").strip()
    if not name:
        return "", ""
    syl = [s for s in _syllables(name) if s.strip()]
    variants = [syl]
    alt = _SURNAME_READINGS.get(name[0])
    if alt and syl and syl[0] != alt:
        variants.insert(0, [alt, *syl[1:]])
    full = " ".join("".join(v).replace(" ", "") for v in variants)
    initials = " ".join("".join(s[:1] for s in v) for v in variants)
    return full, initials


def warm() -> None:
    """Load pypinyin's dictionaries now (the first key costs ~0.2 s; later ones are cheap)."""
    name_keys("张")


def clear_caches() -> None:
    """Forget every cached key and reading (benchmarks: a new process's first pull)."""
    name_keys.cache_clear()
    _word_syllables.cache_clear()
