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


def _syllables(text: str) -> list[str]:
    # pypinyin converts each word of its own segmentation on its own (a phrase, one
    # character, or a run without pinyin such as "123"), so converting the words one by one
    # with a cache per distinct word gives the same list; a 200,000-row list has few
    # distinct words but many distinct names.
    # A word without Chinese characters ("123", "Li") is kept as it is (errors="default"):
    # no need to cache every distinct number in "客户123".
    from pypinyin.constants import RE_HANS  # lazy: see module docstring
    from pypinyin.core import _default_pinyin

    out: list[str] = []
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
