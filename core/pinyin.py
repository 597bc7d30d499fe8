"""Search keys for Chinese names: full pinyin ("zhangsan") and initials ("zs").

Surnames often read differently from the everyday reading of the character
(曾 zeng, 单 shan, 解 xie), so a name gets the surname reading as well as
pypinyin's default; both are stored space-separated and a substring search
finds either.

The readings come from ``core/data/pinyin_zh.bin``, built from pypinyin's data
(MIT) by calling pypinyin itself: for every character of its pinyin_dict and
every phrase of its phrases_dict, exactly what ``lazy_pinyin(word,
style=NORMAL)`` returns, lowercased. At run time only pypinyin's segmentation is
redone here (Han / non-Han runs, then its strict forward maximum matching over
the phrases), so the keys are the same as through pypinyin. Importing pypinyin
held the GIL ~0.13 s and added ~55 MB of RSS (its dictionaries as Python
dicts); the table loads in a few ms and holds ~2.1 MB (arrays and two strings).
Regenerate it after upgrading pypinyin with ``python -m core.pinyin --rebuild``;
unit tests compare the keys with pypinyin's on every phrase and character.
"""

from __future__ import annotations

import re
import struct
import sys
import threading
from array import array
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "pinyin_zh.bin"
MAGIC = b"SMPIN\x00\x01\x00"  # format version 1
# magic, then counts: syllables, characters, phrases, pairs, readings; then byte sizes of the
# three UTF-8 texts: Han pattern, syllables, phrases.
_HEADER = struct.Struct("<8sIIIIIIII")
_PAIR_SHIFT = 21  # two code points (≤ 0x10FFFF, 21 bits each) in one uint64

# Surname readings that differ from pypinyin's default for the character.
_SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "朴": "piao", "仇": "qiu", "查": "zha",
    "区": "ou", "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "缪": "miao",
    "召": "shao", "繁": "po", "种": "chong", "秘": "bi", "尉": "yu", "黑": "he",
    "员": "yun", "隗": "wei", "冼": "xian", "華": "hua", "华": "hua", "朝": "chao",
    "柏": "bai", "薄": "bo", "沈": "shen", "宿": "su", "祭": "zhai", "相": "xiang",
}


class _Phrases:
    """The sorted phrases as one str and offsets: a sequence for bisect without 47,000 str
    objects (a list of them would cost ~3.5 MB; this ~0.5 MB)."""

    __slots__ = ("offsets", "text")

    def __init__(self, text: str, offsets: array) -> None:
        self.text, self.offsets = text, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.text[self.offsets[i]:self.offsets[i + 1]]


class _Table:
    """The file in memory: arrays and strings only (~2.1 MB), no dict of Python objects."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _HEADER.size:
            raise ValueError(f"{DATA_FILE.name} is truncated (rebuild it)")
        magic, n_syl, n_chars, n_phrases, n_pairs, n_readings, pat_size, syl_size, ph_size = \
            _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ValueError(f"{DATA_FILE.name}: not a Seatmate pinyin table (rebuild it)")
        at = _HEADER.size

        def take(size: int) -> bytes:
            nonlocal at
            if at + size > len(data):
                raise ValueError(f"{DATA_FILE.name} is truncated (rebuild it)")
            chunk = data[at:at + size]
            at += size
            return chunk

        self.re_hans = re.compile(take(pat_size).decode("utf-8"))
        self.syllables = take(syl_size).decode("utf-8").split("\n")
        phrase_text = take(ph_size).decode("utf-8")
        at += -at % 8
        self.pairs = _uint(take(8 * n_pairs), "Q")
        self.chars = _uint(take(4 * n_chars), "I")
        self.char_at = _uint(take(4 * (n_chars + 1)), "I")
        self.phrases = _Phrases(phrase_text, _uint(take(4 * (n_phrases + 1)), "I"))
        self.phrase_at = _uint(take(4 * (n_phrases + 1)), "I")
        self.readings = _uint(take(2 * n_readings), "H")
        if len(self.syllables) != n_syl or at != len(data):
            raise ValueError(f"{DATA_FILE.name} is inconsistent (rebuild it)")

    def read(self, start: int, end: int) -> tuple[str, ...]:
        syl = self.syllables
        return tuple(syl[i] for i in self.readings[start:end])

    def char(self, ch: str) -> tuple[str, ...]:
        """What lazy_pinyin(ch) returns (lowercased); the character itself when it has no reading."""
        cp = ord(ch)
        i = bisect_left(self.chars, cp)
        if i < len(self.chars) and self.chars[i] == cp:
            return self.read(self.char_at[i], self.char_at[i + 1])
        return (ch,)

    def phrase_index(self, word: str) -> int:
        """The index of ``word`` among the phrases, or -1."""
        i = bisect_left(self.phrases, word)
        return i if i < len(self.phrases) and self.phrases[i] == word else -1

    def is_prefix(self, word: str) -> bool:
        """True when some phrase starts with ``word`` (pypinyin's mmseg PrefixSet)."""
        i = bisect_left(self.phrases, word)
        return i < len(self.phrases) and self.phrases[i].startswith(word)

    def pair_is_prefix(self, a: str, b: str) -> bool:
        key = (ord(a) << _PAIR_SHIFT) | ord(b)
        i = bisect_left(self.pairs, key)
        return i < len(self.pairs) and self.pairs[i] == key


def _uint(data: bytes, fmt: str) -> array:
    """Little-endian unsigned ints (the file's order) as an array of this machine's."""
    arr = array(fmt, data)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr


_lock = threading.Lock()
_table: _Table | None = None


def _load() -> _Table:
    global _table
    table = _table
    if table is None:
        with _lock:
            if _table is None:
                _table = _Table(DATA_FILE.read_bytes())
            table = _table
    return table


def _single_chars(text: str) -> bool:
    """True when pypinyin's segmentation of ``text`` (all Chinese characters) is one word per
    character: no two neighbouring characters start a known phrase. The maximum-matching
    segmenter then cuts one character at a time, so the name's syllables are its characters'
    own readings: most names, one bisection per pair of neighbours."""
    table = _load()
    for i in range(len(text) - 1):  # a plain loop: any(<generator>) costs more for 2-3 characters
        if table.pair_is_prefix(text[i], text[i + 1]):
            return False
    return True


def _han_runs(text: str, re_hans: re.Pattern[str]) -> list[str]:
    """pypinyin.seg.simpleseg._seg: ``text`` cut where it changes between Chinese characters
    (RE_HANS, one character at a time) and anything else."""
    runs: list[str] = []
    start = 0
    prev = None
    for n, c in enumerate(text):
        han = re_hans.match(c) is not None
        if n and han != prev:
            runs.append(text[start:n])
            start = n
        prev = han
    runs.append(text[start:])
    return runs


def _cut(text: str, table: _Table) -> list[str]:
    """pypinyin.seg.mmseg.Seg.cut with no_non_phrases=True (pypinyin's default segmenter),
    step for step: forward maximum matching over the phrase prefixes; a run that is a prefix
    to its end but holds no phrase is cut into single characters."""
    out: list[str] = []
    remain = text
    while remain:  # bounded: every pass removes at least one character
        last_valid_word = ""
        last_valid_index = 0
        for index in range(len(remain)):
            word = remain[:index + 1]
            if table.is_prefix(word):
                if table.phrase_index(word) >= 0:
                    last_valid_word = word
                    last_valid_index = index + 1
            else:
                if last_valid_word:
                    out.append(last_valid_word)
                    remain = remain[last_valid_index:]
                else:
                    out.append(remain[0])
                    remain = remain[1:]
                break
        else:
            if last_valid_word:
                out.append(last_valid_word)
                remain = remain[last_valid_index:]
            else:
                # Not a phrase (it would have been the last valid word): one word per character.
                out.extend(remain)
                break
    return out


def _syllables(text: str) -> list[str]:
    table = _load()
    out: list[str] = []
    if table.re_hans.match(text) and _single_chars(text):
        for ch in text:
            out.extend(_word_syllables(ch))
        return out
    # pypinyin converts each word of its own segmentation on its own (a phrase, one
    # character, or a run without pinyin such as "123"), so converting the words one by one
    # with a cache per distinct word gives the same list.
    # A run without Chinese characters ("123", "Li") is kept as it is (errors="default").
    for run in _han_runs(text, table.re_hans):
        if table.re_hans.match(run):
            for word in _cut(run, table):
                out.extend(_word_syllables(word))
        else:
            out.append(run.lower())
    return out


@lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    """lazy_pinyin(word) lowercased, for one word of the segmentation (a character or a phrase)."""
    table = _load()
    if len(word) == 1:
        return table.char(word)
    i = table.phrase_index(word)
    if i >= 0:
        return table.read(table.phrase_at[i], table.phrase_at[i + 1])
    # The segmenter yields only phrases and single characters; read anything else per character.
    return tuple(s for ch in word for s in table.char(ch))


def name_keys(name: str) -> tuple[str, str]:
    """Return (pinyin, initials) for ``name``, e.g. ("zengguofan cengguofan", "zgf cgf")."""
    if name and "\x00" in name:  # cannot be packed (below): not cached
        name = name.strip()
        return keys_from_syllables(name, _syllables(name)) if name else ("", "")
    full, _, initials = _packed_keys(name).partition("\x00")
    return full, initials


@lru_cache(maxsize=65536)
def _packed_keys(name: str) -> str:
    """name_keys as one string, "pinyin\\x00initials". Cached as a str, not a tuple: strings are
    not tracked by the cyclic collector, 40,000 cached tuples (a first pull's names) were, and
    the first collection after a pull walked them all with the GIL held (10-12 ms; the window's
    thread waited that long; tests/bench/bench_sync.py)."""
    name = (name or "").strip()
    if not name:
        return "\x00"
    full, initials = keys_from_syllables(name, _syllables(name))
    return f"{full}\x00{initials}"


def keys_from_syllables(name: str, syllables: list[str]) -> tuple[str, str]:
    """(pinyin, initials) of a name read as ``syllables``, with the surname reading first when
    it differs (the tests and the bench give pypinyin's syllables to compare with the table's)."""
    syl = [s for s in syllables if s.strip()]
    variants = [syl]
    alt = _SURNAME_READINGS.get(name[0])
    if alt and syl and syl[0] != alt:
        variants.insert(0, [alt, *syl[1:]])
    full = " ".join("".join(v).replace(" ", "") for v in variants)
    initials = " ".join("".join(s[:1] for s in v) for v in variants)
    return full, initials


def warm() -> None:
    """Load the table now (a few ms, once per process) and compute one key."""
    name_keys("张")


def clear_caches() -> None:
    """Forget every cached key and reading (benchmarks: a new process's first pull)."""
    _packed_keys.cache_clear()
    _word_syllables.cache_clear()


# --- build (needs pypinyin: dev/test extra) -------------------------------------------------

def source_readings() -> tuple[str, dict[str, list[str]], dict[str, list[str]]]:
    """(RE_HANS pattern, {character: syllables}, {phrase: syllables}) from pypinyin: for every
    character of its pinyin_dict and every phrase of its phrases_dict, what ``lazy_pinyin(word,
    style=NORMAL, errors="default")`` returns, lowercased. Characters whose reading is
    themselves (no pinyin) are left out: the run-time default."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS

    def read(word: str) -> list[str]:
        return [s.lower() for s in lazy_pinyin(word, style=Style.NORMAL, errors="default")]

    chars = {}
    for cp in PINYIN_DICT:
        ch = chr(cp)
        syl = read(ch)
        if syl != [ch]:
            chars[ch] = syl
    phrases = {p: read(p) for p in PHRASES_DICT}
    return RE_HANS.pattern, chars, phrases


def encode(pattern: str, chars: dict[str, list[str]], phrases: dict[str, list[str]]) -> bytes:
    """The file's bytes. Layout (little-endian): header ``MAGIC``, counts (syllables,
    characters, phrases, neighbour pairs, readings), sizes of the UTF-8 texts; the Han
    pattern; the distinct syllables, one per line; the sorted phrases concatenated; padding
    to 8; uint64 sorted pairs (two code points, 21 bits each) that start a phrase; uint32
    sorted character code points; uint32 offsets (n+1) of each character's readings; uint32
    offsets (n+1, in characters) of each phrase in the phrase text; uint32 offsets (n+1) of
    each phrase's readings; uint16 syllable indexes (the readings)."""
    ordered_chars = sorted(chars, key=ord)
    ordered_phrases = sorted(phrases)
    syllables = sorted({s for syl in (*chars.values(), *phrases.values()) for s in syl})
    if len(syllables) > 0xFFFF or any("\n" in s for s in syllables):
        raise ValueError("syllables do not fit the format")
    if any(len(c) != 1 for c in chars):
        raise ValueError("character keys must be single characters")
    index = {s: i for i, s in enumerate(syllables)}
    readings: list[int] = []
    char_at = [0]
    for ch in ordered_chars:
        readings += (index[s] for s in chars[ch])
        char_at.append(len(readings))
    phrase_at = [len(readings)]  # after the characters' readings
    text_at = [0]
    for p in ordered_phrases:
        readings += (index[s] for s in phrases[p])
        phrase_at.append(len(readings))
        text_at.append(text_at[-1] + len(p))
    pairs = sorted({(ord(p[0]) << _PAIR_SHIFT) | ord(p[1]) for p in ordered_phrases if len(p) >= 2})
    pat = pattern.encode("utf-8")
    syl = "\n".join(syllables).encode("utf-8")
    ph = "".join(ordered_phrases).encode("utf-8")
    head = _HEADER.pack(MAGIC, len(syllables), len(ordered_chars), len(ordered_phrases), len(pairs),
                        len(readings), len(pat), len(syl), len(ph))
    body = bytearray(head + pat + syl + ph)
    body += b"\0" * (-len(body) % 8)
    body += struct.pack(f"<{len(pairs)}Q", *pairs)
    body += struct.pack(f"<{len(ordered_chars)}I", *(ord(c) for c in ordered_chars))
    body += struct.pack(f"<{len(char_at)}I", *char_at)
    body += struct.pack(f"<{len(text_at)}I", *text_at)
    body += struct.pack(f"<{len(phrase_at)}I", *phrase_at)
    body += struct.pack(f"<{len(readings)}H", *readings)
    return bytes(body)


def build() -> bytes:
    """The file's bytes from the installed pypinyin."""
    return encode(*source_readings())


def rebuild(path: Path = DATA_FILE) -> int:
    """Write the table from the installed pypinyin; returns its size in bytes."""
    data = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rebuild"]:
        print(f"wrote {rebuild()} bytes to {DATA_FILE}")
    else:
        print("usage: python -m core.pinyin --rebuild")
