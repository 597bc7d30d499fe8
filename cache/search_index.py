"""In-memory search index over the leads, for the lead list's search box.

One keystroke over 100,000 leads must be painted within a frame, which rules out
an SQL ``LIKE`` over pinyin per keystroke. The index keeps, per lead, its id, one
lowercase key string (name, pinyin, initials, plate, external id), the national
digits of its numbers (never shown; only for "search by number tail"), and
compact columns (``array``/``bytearray``) for the tab, filters and sort orders.

Plain Python, no numpy (the client must not load numpy/OpenBLAS: ~11 MB RSS and
~40 MB of the installer). What keeps it fast without vector maths:

- **Sets of leads are Python ints used as bitsets** (bit p = position p; 12.5 KB for
  100k leads): AND/OR/popcount run in C in microseconds. The tab and filters are made
  with ``bytes.translate``/``map`` over one byte a lead, packed with ``int(…, 2)``.
- **Every character of every key is indexed at the build** (position lists, packed to
  bits for the common ones): a first character — into an empty box, or right after a
  save — is answered without looking at any key, and a longer text only checks the
  keys that contain all its characters (or the previous keystroke's hits).
- **Results are made lazily** (:class:`LeadHits`): a search returns the count and the
  order; the ids of a page are picked out of the sort order when the list shows it,
  so a 40,000-lead result costs the first page, not 40,000 strings per keystroke.

It catches up with changes from any writer through ``lead_changes``, a
journal filled by SQLite triggers (migration 0002): before each search it
asks for the journal's newest seq (one index lookup) and reloads only the
leads changed since; sort orders, character lists and the last search's hits
are patched in place for those leads. A gap in the journal (pruned rows) means
a full rebuild.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, and_, call, methodcaller, neg
from typing import Any

from sqlalchemy import Engine

from cache.lead_order import DONE_STATUSES, NEVER, SORTS, TABS
from core.contract import LeadStatus

__all__ = ["DONE_STATUSES", "SORTS", "TABS", "LeadHits", "LeadIndex"]

log = logging.getLogger(__name__)

_CAT_TODO, _CAT_CALLBACK, _CAT_DONE, _CAT_DELETED = 0, 1, 2, 3
_NEVER = NEVER


def _u32(sql: str) -> str:
    """Epoch seconds as an unsigned 32-bit value (1970 to 2106: the columns are array('I'), half
    of int64); a date outside that range (bad data) is clamped, so it cannot stop the build."""
    return f"max(0, min(4294967295, {sql}))"


# "Waiting for a first contact since": when a new lead that was never tried reached this
# device (created_at, UTC epoch seconds); _NEVER once it was tried or is no longer new.
# The floor's rule (app.workspace.callbacks.FIRST_CONTACT_HOURS) flags it 48 h later.
_CREATED = _u32(f"coalesce(CAST(strftime('%s', created_at) AS INTEGER), {_NEVER})")
_FRESH_SQL = (f"CASE WHEN status = '{LeadStatus.NEW}' AND last_attempt_at IS NULL "
              f"THEN {_CREATED} ELSE {_NEVER} END")
_CHUNK = 20_000  # rows per bulk-load query
# Priority as a 32-bit int whatever a writer stored (text, a huge number): the column is an
# array('i'), and one bad value must not stop the whole index from loading.
_PRIO = "max(-2147483648, min(2147483647, CAST(coalesce(priority, 0) AS INTEGER)))"
_CALLBACK = _u32(f"coalesce(CAST(strftime('%s', next_callback_at) AS INTEGER), {_NEVER})")
_ATTEMPT = _u32("coalesce(CAST(strftime('%s', last_attempt_at) AS INTEGER), 0)")

# Everything that can be computed in SQL is (C speed, and no Python objects for
# the date strings): the search key, the tab category, dates as integers.
_LEAD_SELECT = f"""
SELECT id,
       replace(lower(coalesce(name, '') || char(9) || coalesce(name_pinyin, '') || char(9) ||
             coalesce(name_initials, '') || char(9) || coalesce(plate, '') || char(9) ||
             coalesce(external_id, '')), char(30), ' '),
       CASE WHEN status IN {DONE_STATUSES!r} THEN {_CAT_DONE}
            WHEN next_callback_at IS NOT NULL THEN {_CAT_CALLBACK} ELSE {_CAT_TODO} END,
       {_PRIO},
       coalesce(CAST(julianday(policy_expiry) AS INTEGER), {_NEVER}),
       {_CALLBACK},
       {_ATTEMPT},
       coalesce(campaign_id, ''), coalesce(source, ''),
       {_FRESH_SQL},
       CASE WHEN coalesce(name_pinyin, '') = '' THEN name END
FROM leads
"""
# The start-up path: one aggregate scan per chunk returns each column as ONE string (ids
# and keys split in C, numbers parsed by map(int)), so a chunk costs a handful of Python
# objects per column. One query = one scan = the same row order in every column.
_RS = "char(30)"  # record separator; removed from keys
_BULK_SELECT = f"""
SELECT count(*),
       group_concat(id, {_RS}),
       group_concat(replace(lower(coalesce(name, '') || char(9) || coalesce(name_pinyin, '') || char(9) ||
             coalesce(name_initials, '') || char(9) || coalesce(plate, '') || char(9) ||
             coalesce(external_id, '')), {_RS}, ' '), {_RS}),
       group_concat(CASE WHEN status IN {DONE_STATUSES!r} THEN {_CAT_DONE}
            WHEN next_callback_at IS NOT NULL THEN {_CAT_CALLBACK} ELSE {_CAT_TODO} END, ''),
       group_concat({_PRIO}),
       group_concat(coalesce(CAST(julianday(policy_expiry) AS INTEGER), {_NEVER})),
       group_concat({_CALLBACK}),
       group_concat({_ATTEMPT}),
       group_concat({{campaign_case}}),
       group_concat({{source_case}}),
       group_concat({_FRESH_SQL}),
       group_concat(CASE WHEN coalesce(name_pinyin, '') = '' THEN 1 ELSE 0 END, ''),
       max(rowid), group_concat(rowid)
FROM (SELECT rowid, * FROM leads WHERE rowid > ? ORDER BY rowid LIMIT {_CHUNK})
"""
# Each number's lead as its rowid (positions are in rowid order: a binary search maps it).
_BULK_PHONES = f"""
SELECT count(*), group_concat(coalesce((SELECT rowid FROM leads WHERE leads.id = lead_id), -1)),
       group_concat(CASE WHEN number_e164 LIKE '+86%' THEN substr(number_e164, 4) ELSE number_e164 END, {_RS}),
       max(rowid)
FROM (SELECT rowid, lead_id, number_e164 FROM lead_phones WHERE rowid > ? ORDER BY rowid LIMIT {_CHUNK})
"""
_PHONE_SELECT = """
SELECT lead_id, CASE WHEN number_e164 LIKE '+86%' THEN substr(number_e164, 4) ELSE number_e164 END
FROM lead_phones
"""
# Numeric columns (name, array typecode) in _LEAD_SELECT's order after the category. Expiry is a
# julian day (int32 holds it and _NEVER); the epoch-second columns are uint32 (to 2106, see _u32).
_NUM_COLS = (("prio", "i"), ("expiry", "i"), ("callback", "I"), ("attempt", "I"),
             ("campaign", "i"), ("source", "i"), ("fresh", "I"))

# One byte a lead (0/1) <-> the ASCII digits int(…, 2) reads and bin() writes.
_TO_ASCII = bytes.maketrans(b"\x00\x01", b"01")
_FROM_ASCII = bytes.maketrans(b"01", b"\x00\x01")
# Per tab: category byte -> 1 if the tab shows it (None: every lead that is not deleted).
_TAB_TABLES = {
    "todo": bytes(1 if c == _CAT_TODO else 0 for c in range(256)),
    "callbacks": bytes(1 if c == _CAT_CALLBACK else 0 for c in range(256)),
    "done": bytes(1 if c == _CAT_DONE else 0 for c in range(256)),
    None: bytes(1 if c in (_CAT_TODO, _CAT_CALLBACK, _CAT_DONE) else 0 for c in range(256)),
}
_CAT_FROM_DIGIT = bytes.maketrans(b"0123", b"\x00\x01\x02\x03")
# Up to this many hits are sorted at once (a key per hit); more are picked lazily out of the
# sort order (the first page then costs ~50 × n / hits order entries, i.e. a few thousand).
_EAGER_HITS = 1000
_RECENT, _RECENT_MAX = 16, 20_000  # texts whose hits are kept, and the most hits kept for one
# Pairs of characters are indexed among this many of the most common ones (digits, pinyin
# letters, '-', common 汉字): a 2-character text of them is answered without checking keys.
_PAIR_ALPHABET = 64
_PAIRS_FROM = 1000  # an index that grows past this many leads after an empty build lists its pairs then
_SPARSE_CACHE = 64  # packed bits kept for this many rare characters (12.5 KB each per 100k leads)


def _pack(mask01: bytes | bytearray) -> int:
    """One byte a lead (0/1) -> bitset int (bit p = lead p)."""
    return int(mask01.translate(_TO_ASCII)[::-1], 2) if mask01 else 0


def _unpack(bits: int, n: int) -> bytes:
    """Bitset int -> one byte a lead (0/1), n bytes."""
    return bin(bits)[:1:-1].encode("ascii")[:n].ljust(n, b"0").translate(_FROM_ASCII)


def _bits_of(positions: Sequence[int], n: int) -> int:
    if not positions:
        return 0
    m = bytearray(n)
    deque(map(m.__setitem__, positions, repeat(1)), maxlen=0)  # scatter in C
    return _pack(m)


_IGNORE = set().discard  # the call for a pair that is not listed (a C no-op)


def _positions(bits: int, count: int, n: int) -> list[int]:
    """The set bits' positions, ascending."""
    if not bits:
        return []
    s = bin(bits)[:1:-1]
    if count * 16 < n:  # sparse: find the ones (C) one by one
        out: list[int] = []
        find, append = s.find, out.append
        p = find("1")
        while p >= 0:
            append(p)
            p = find("1", p + 1)
        return out
    return list(compress(range(len(s)), s.encode("ascii").translate(_FROM_ASCII)))


class _Sparse:
    """Ascending positions at 2 bytes each instead of 4 (array('I')): the low 16 bits in one
    array('H'), and where each block of 65,536 positions starts in it (100k leads: 2 blocks).
    The rare characters' and pairs' lists (~3.5 MB as array('I') over 100k leads) are only
    ever counted and iterated: iterating adds each block's base in C."""

    __slots__ = ("lows", "starts")

    def __init__(self, positions: Sequence[int]) -> None:  # ascending
        self.lows = array("H", map(and_, positions, repeat(0xFFFF)))
        top = positions[-1] >> 16 if len(positions) else -1
        # starts[b]: the index of block b's first position; starts[-1] == len(lows)
        self.starts = array("I", [0, *(bisect_left(positions, b << 16) for b in range(1, top + 1)), len(self.lows)])

    def __len__(self) -> int:
        return len(self.lows)

    def __iter__(self) -> Iterator[int]:
        lows, starts = self.lows, self.starts
        if len(starts) == 2:  # all below 65,536
            return iter(lows)
        return chain(lows[: starts[1]], *(map(add, lows[starts[b] : starts[b + 1]], repeat(b << 16))
                                          for b in range(1, len(starts) - 1)))

    def __repr__(self) -> str:
        return f"_Sparse({list(self)!r})"


class _Ids:
    """Lead ids, all in one str with the start of each (100k ids as one str: ~2.7 MB instead
    of ~8.4 MB as 100k str objects in a list). ``ids[p]`` is lead p's id."""

    __slots__ = ("offsets", "text")

    def __init__(self, text: str, offsets: array) -> None:
        self.text = text
        self.offsets = offsets  # len(ids) + 1 entries; only ever appended to

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, p: int) -> str:
        off = self.offsets
        return self.text[off[p] : off[p + 1]]

    def all(self) -> list[str]:
        return self.many(range(len(self.offsets) - 1))

    def many(self, positions: Sequence[int]) -> list[str]:
        text, off = self.text, self.offsets
        return [text[off[p] : off[p + 1]] for p in positions]

    def position(self, lead_id: str, by_id: array) -> int | None:
        """Lead ``lead_id``'s position (``by_id``: positions sorted by id), or None."""
        k = bisect_left(by_id, lead_id, key=self.__getitem__)
        if k < len(by_id) and self[by_id[k]] == lead_id:
            return by_id[k]
        return None


class _Keys:
    """The search keys, all in one UTF-8 bytes object with the start of each (100k keys: ~4 MB;
    as one str ~7 MB, since a single 汉字 makes the whole str 2 bytes a character; as 100k str
    objects ~15 MB). Keys changed or appended since the build are kept aside as str
    (``extra``). ``keys[p]`` is lead p's key; :meth:`having` checks many keys in C.

    A UTF-8 needle matches inside UTF-8 text only at character boundaries (no character's
    encoding starts inside another's), so a bytes search gives the same answers as a str one."""

    __slots__ = ("extra", "n", "offsets", "text")

    def __init__(self, text: bytes, offsets: array) -> None:
        self.text = text  # never changed once made (changed keys go to ``extra``)
        self.offsets = offsets  # byte offsets
        self.n = len(offsets) - 1
        self.extra: dict[int, str] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, p: int) -> str:
        k = self.extra.get(p)
        if k is not None:
            return k
        off = self.offsets
        return self.text[off[p] : off[p + 1]].decode("utf-8", "surrogatepass")

    def __setitem__(self, p: int, key: str) -> None:
        self.extra[p] = key

    def __iter__(self) -> Iterator[str]:
        return map(self.__getitem__, range(self.n))

    def append(self, key: str) -> None:
        self.extra[self.n] = key
        self.n += 1

    def having(self, q: str, positions: Iterable[int]) -> list[int]:
        """The positions (in the given order) whose key contains ``q``."""
        text, off, extra = self.text, self.offsets, self.extra
        needle = q.encode("utf-8", "surrogatepass")
        find = text.find  # bounded to one key: never a match across two keys
        if not extra:
            return [p for p in positions if find(needle, off[p], off[p + 1]) >= 0]
        return [p for p in positions if (q in extra[p] if p in extra else find(needle, off[p], off[p + 1]) >= 0)]


class _Postings:
    """Builds the feature lists slice by slice: per character, or per pair of common characters
    (``pairs``), the positions of the keys that contain it. A slice's dense lists are packed to
    bits at once (kept as that slice's bytes, joined at the end: no 100k-bit int is made per
    slice), so the build never holds every position as a 4-byte entry. Every slice but the
    last has ``size`` keys (a multiple of 8), and slices come in order."""

    def __init__(self, size: int, pairs: frozenset[str] = frozenset()) -> None:
        self.size = size
        self.dense: dict[str, dict[int, bytes]] = {}  # feature -> slice number -> its bits
        self.sparse: dict[str, array] = {}
        self.pairs = pairs
        self.done_upto = 0  # pair lists: keys listed so far
        self.key_version = 0  # pair lists: the keys' version they started from
        self.lists: dict[str, array] | None = None  # pair lists: the current slice's positions
        self.pending: list[tuple[int, int, str, array]] = []  # (slice start, keys, pair, positions)
        self.out: dict[str, Any] = {}  # finished lists
        self.appends: dict[int, Callable[[int], None]] | None = None

    def add(self, keys: list[str], start: int) -> None:
        """List the characters of ``keys`` (positions ``start``…)."""
        chunk: dict[str, array] = {}
        get = chunk.get
        for p, k in enumerate(keys):  # local positions
            for c in set(k):
                a = get(c)
                if a is None:
                    a = chunk[c] = array("I")
                a.append(p)
        self._fold(chunk, start, len(keys))

    def add_pairs(self, keys: list[str], start: int, last: bool) -> None:
        """List the pairs of ``self.pairs`` in ``keys`` (positions ``start``…, in order; ``last``:
        no more keys). A complete slice of ``size`` keys is queued to be packed (``pending``),
        a part a step (:meth:`fold_some`): packing costs per pair, ~30 ms a slice."""
        if self.lists is None:
            self.lists = {b: array("I") for b in self.pairs}
            self.appends = {ord(b[0]) | ord(b[1]) << 16: a.append for b, a in self.lists.items()}
        base = start - start % self.size
        self._pairs_of(keys, start - base)
        if last or (start + len(keys)) % self.size == 0:
            size = start + len(keys) - base
            self.pending += [(base, size, b, a) for b, a in self.lists.items() if a]
            self.lists = self.appends = None

    def fold_some(self, count: int) -> bool:
        """Pack up to ``count`` queued lists; True when none is left."""
        pending = self.pending
        for _ in range(min(count, len(pending))):
            base, size, f, a = pending.pop()
            self._fold({f: a}, base, size)
        return not pending

    def _fold(self, chunk: dict[str, array], start: int, size: int) -> None:
        if start % self.size or size > self.size:
            raise ValueError("lead index: slices out of step")
        nbytes, number = (self.size + 7) // 8, start // self.size
        for f, a in chunk.items():
            if len(a) * 32 > size:
                d = self.dense.get(f)
                if d is None:
                    d = self.dense[f] = {}
                d[number] = _bits_of(a, size).to_bytes(nbytes, "little")
            else:
                if len(a) > 1:  # a key with the pair twice lists it twice (sparse lists only)
                    a = array("I", dict.fromkeys(a))
                sp = self.sparse.get(f)
                if sp is None:
                    sp = self.sparse[f] = array("I")
                sp.extend(map(add, a, repeat(start)))

    def _pairs_of(self, keys: list[str], offset: int) -> None:
        """Append each key's position (``offset``…) to the lists of the pairs in it (once or more).

        One pass in C over the keys' text as UTF-16 code units, each unit with the next as one
        32-bit code (no 2-character str is made): code -> that pair's ``append``, called with
        the key's position. Keys are joined with NUL, so no pair spans two keys."""
        assert self.lists is not None and self.appends is not None
        text = "\0".join(keys) + "\0"
        units = text.encode("utf-16-le", "surrogatepass")
        if len(units) != 2 * len(text):  # a character beyond the BMP: one str per pair instead
            appends = {b: a.append for b, a in self.lists.items()}
            codes: Iterable = map(add, text, text[1:])
        else:
            appends = self.appends
            both = bytearray(2 * len(units))
            both[0::4], both[1::4] = units[0::2], units[1::2]
            both[2::4], both[3::4] = units[2::2] + b"\0", units[3::2] + b"\0"
            del units
            codes = memoryview(both).cast("I")
        where = chain.from_iterable(map(repeat, range(offset, offset + len(keys)), map((1).__add__, map(len, keys))))
        deque(map(call, map(appends.get, codes, repeat(_IGNORE)), where), maxlen=0)

    def done(self, n: int, limit: int | None = None) -> dict[str, Any] | None:
        """The final lists (n keys), or None while more than ``limit`` features are left to finish
        (then call again: a pair listing finishes ~1,000 lists over a few steps, not in one)."""
        out = self.out
        slices = (n + self.size - 1) // self.size
        zero = bytes((self.size + 7) // 8)
        for f in islice(self.dense.keys() | self.sparse.keys(), limit):
            d, sp = self.dense.pop(f, None), self.sparse.pop(f, None)
            bits = int.from_bytes(b"".join([d.get(i, zero) for i in range(slices)]), "little") if d else 0
            count = bits.bit_count() + (len(sp) if sp is not None else 0)
            if count * 32 > n:
                out[f] = bits | _bits_of(sp, n) if sp else bits
            elif not bits:  # (sorted: a pair listing packs its slices last first)
                out[f] = _Sparse(sorted(sp))
            else:
                out[f] = _Sparse(sorted(_positions(bits, bits.bit_count(), n) + (sp.tolist() if sp else [])))
        return None if self.dense or self.sparse else out


class LeadHits(Sequence[str]):
    """The ids of one search result, in display order, made as they are asked for.

    ``len()`` is known at once; ``hits[i]``/slices/iteration/``index()`` pick the positions
    out of the sort order page by page (a bytes mask of the hits, one byte a lead). It
    holds its own snapshot (mask, order, ids), so it stays right while the index moves on.
    """

    __slots__ = ("_by_id", "_ids", "_mask", "_order", "_pos", "_scanned", "_total")

    def __init__(self, ids: _Ids, by_id: array, positions: list[int] | None = None,
                 order: array | None = None, mask: bytes | None = None, total: int = 0) -> None:
        self._ids = ids
        self._by_id = by_id  # positions sorted by id (copy-on-write in the index)
        if positions is not None:  # all made (a small result, sorted at once)
            self._pos, self._order, self._mask, self._total = positions, None, None, len(positions)
            self._scanned = -1
        else:
            self._pos, self._order, self._mask, self._total = [], order, mask, total
            self._scanned = 0  # order entries looked at so far; -1 once all hits are made

    def __len__(self) -> int:
        return self._total

    def _fill(self, upto: int) -> None:
        pos, start = self._pos, self._scanned
        if start < 0 or len(pos) >= upto:
            return
        order, mask = self._order, self._mask
        assert order is not None and mask is not None
        get = mask.__getitem__
        end = len(order)
        # Enough order entries for the missing hits at the result's density, and a margin.
        step = (upto - len(pos)) * end // max(1, self._total) + (upto - len(pos)) // 4 + 256
        while len(pos) < upto and start < end:
            stop = min(end, start + step)
            chunk = order[start:stop]
            pos.extend(compress(chunk, map(get, chunk)))
            start = stop
            step *= 2
        self._scanned = -1 if start >= end or len(pos) >= self._total else start

    def positions(self) -> list[int]:
        """Every hit's lead position, in display order."""
        self._fill(self._total)
        return self._pos

    def __getitem__(self, i):  # type: ignore[override]
        ids = self._ids
        if isinstance(i, slice):
            r = range(*i.indices(self._total))
            if not r:
                return ()
            self._fill(max(r[0], r[-1]) + 1)
            # A tuple, as slicing the tuple it replaces.
            return tuple(ids.many(self._pos[r.start : r.stop : r.step] if r.step > 0 else [self._pos[j] for j in r]))
        if i < 0:
            i += self._total
        if not 0 <= i < self._total:
            raise IndexError("LeadHits index out of range")
        self._fill(i + 1)
        return ids[self._pos[i]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids.many(self.positions()))

    def index(self, lead_id: Any, start: int = 0, stop: int | None = None) -> int:
        # By position (a binary search over the ids), then list.index (C) over the hits made so
        # far: no id is made for the rows in between (the window asks this on every result).
        p = self._ids.position(lead_id, self._by_id) if isinstance(lead_id, str) else None
        if p is None or (self._mask is not None and not self._mask[p]):
            raise ValueError(f"{lead_id!r} is not in the result")
        pos = self._pos
        made = 0
        for _ in range(self._total + 1):  # bounded: each pass makes more hits, or all are made
            try:
                j = pos.index(p, made)
                break
            except ValueError:
                if self._scanned < 0:
                    raise ValueError(f"{lead_id!r} is not in the result") from None
                made = len(pos)
                self._fill(made + 1024)
        else:
            raise ValueError(f"{lead_id!r} is not in the result")
        if j < start or (stop is not None and j >= stop):
            raise ValueError(f"{lead_id!r} is not in the result")
        return j

    def __contains__(self, lead_id: object) -> bool:
        try:
            self.index(lead_id)
        except ValueError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LeadHits):
            if self._total != other._total:
                return False
            if self._ids.text is other._ids.text:  # the same ids (else compare the ids themselves)
                if self._mask is not None and other._mask is not None and self._mask == other._mask \
                        and (self._order is other._order or self._order == other._order):
                    return True  # the same hits in the same order: compared in C, nothing made
                return self.positions() == other.positions()
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return len(other) == self._total and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LeadHits({self._total} leads)"


class LeadIndex:
    def __init__(self, engine: Engine, on_change: Callable[[Sequence[str] | None], None] | None = None) -> None:
        self._engine = engine
        # Told which lead ids changed (None: possibly all) whenever the index catches up.
        self._on_change = on_change
        self._lock = threading.RLock()
        self._reset()
        self.built = False
        self.build_seconds = 0.0

    def _reset(self) -> None:
        self._ids = _Ids("", array("I", [0]))
        self._by_id = array("I")  # positions sorted by id: id -> position by binary search
        # One UTF-8 bytes object for all keys (find() bounded to a key is ~2x slower than ``in``
        # on a key of its own, but the pair lists leave few keys to check: a 2-character text
        # checks none).
        self._keys = _Keys(b"", array("I", [0]))
        self._cat = bytearray()  # tab category a lead (_CAT_*)
        self._cols: dict[str, array] = {name: array(code) for name, code in _NUM_COLS}
        self._codes: dict[str, dict[str, int]] = {"campaign": {}, "source": {}}
        # Numbers for "search by tail": from the build, one "\n"-separated str of national
        # digits (a tail is found with one C scan for "<digits>\n"), the start of each number,
        # the lead position of each; plus an overlay for leads whose numbers changed since.
        self._ph_text = "\n"
        self._ph_start = array("I")
        self._ph_pos = array("i")
        self._ph_override: dict[int, tuple[str, ...]] = {}
        self._last_seq = 0
        self._orders: dict[str, array] = {}
        # Per character of any key, and per pair of the common characters (``_pairs``: every
        # such pair of every key is listed, so a missing one has no key): the positions of the
        # keys that contain it — packed bits (int) for common ones, ascending positions (_Sparse) for
        # rare ones (most 汉字).
        self._chars: dict[str, Any] = {}
        self._pairs: frozenset[str] = frozenset()
        self._pair_job: _Postings | None = None  # the pair lists while they are being made
        self._key_version = 0  # bumped whenever a search key changes or is added
        self._sparse_bits: OrderedDict[str, int] = OrderedDict()
        # The tab/filter bits of the last search, and the last text's hits (narrowed by the
        # next keystroke); both are patched for the leads that change between keystrokes.
        self._filter: tuple[tuple, int] | None = None
        self._last: tuple[str, tuple, list[int] | None, int] | None = None
        self._changed: set[int] = set()  # positions changed since the last search
        # Recent texts' hits (2+ characters: a full check of the candidates each), for typing
        # the same start again; valid until any lead changes (_version).
        self._recent: OrderedDict[tuple[str, tuple], tuple[int, array]] = OrderedDict()
        self._version = 0

    @property
    def _n(self) -> int:
        return len(self._ids)

    def _snapshot(self) -> _Ids:
        """The ids as they are now, for a result (the text is replaced, never changed, on appends)."""
        return _Ids(self._ids.text, self._ids.offsets)

    # ----------------------------------------------------------------- loading
    def build(self) -> None:
        t0 = time.perf_counter()
        with self._lock, self._engine.connect() as conn:
            dbapi = conn.connection.driver_connection
            dbapi.execute("BEGIN")  # one snapshot for the journal seq and the rows
            try:
                seq = dbapi.execute("SELECT coalesce(max(seq), 0) FROM lead_changes").fetchone()[0]
                self._reset()
                self._last_seq = seq
                self._bulk_load(dbapi)
            finally:
                dbapi.execute("ROLLBACK")
            self.built = True
            _release_freed_memory()  # the build's transient strings back to the OS
            self.build_seconds = time.perf_counter() - t0
            if self._on_change is not None:
                self._on_change(None)
        log.info("lead index built: %d leads in %.0f ms", len(self._ids), self.build_seconds * 1000)

    def _case_for(self, dbapi, kind: str, column: str) -> tuple[str, list[str]]:
        """SQL mapping each distinct value of ``column`` to its integer code (few distinct values)."""
        values = [r[0] for r in dbapi.execute(f"SELECT DISTINCT coalesce({column}, '') FROM leads")]
        table = self._codes[kind]
        for v in values:
            table.setdefault(v, len(table) + 1)
        if not values:
            return "0", []
        whens = " ".join("WHEN ? THEN " + str(table[v]) for v in values)
        return f"CASE coalesce({column}, '') {whens} ELSE 0 END", values

    def _bulk_load(self, dbapi) -> None:
        # In chunks of _CHUNK rows (rowid order = the table order the sorts rely on, all in the
        # caller's one snapshot): the aggregated strings of 100k rows at once made the build's
        # transient peak ~35 MB; a chunk's are a fifth of that.
        camp_sql, camp_params = self._case_for(dbapi, "campaign", "campaign_id")
        src_sql, src_params = self._case_for(dbapi, "source", "source")
        sql = _BULK_SELECT.replace("{campaign_case}", camp_sql).replace("{source_case}", src_sql)
        rs = "\x1e"
        id_texts: list[str] = []
        id_offsets = array("I", [0])
        key_text = bytearray()
        key_offsets = array("I", [0])
        postings = _Postings(_CHUNK)
        names: dict[str, str] | None = None
        cat = bytearray()
        cols = [array(code) for _name, code in _NUM_COLS]
        rowids = array("q")  # transient: each position's rowid (ascending)
        after = -(2**63)
        for _ in range(1 << 20):  # bounded: each pass moves past at least one row
            row = dbapi.execute(sql, [*camp_params, *src_params, after]).fetchone()
            if not row[0]:
                break
            start = len(cat)
            # The ids and the keys as one str each (the chunk's own, separators dropped) and where
            # each starts; the chunk's key strs live only while its characters are listed.
            chunk_ids = row[1].split(rs)
            id_offsets.extend(accumulate(map(len, chunk_ids), initial=id_offsets[-1]))
            id_offsets.pop(len(id_offsets) - len(chunk_ids) - 1)  # the initial value, already there
            id_texts.append(row[1].replace(rs, ""))
            chunk_keys = row[2].split(rs)
            cat += row[3].encode("ascii").translate(_CAT_FROM_DIGIT)
            if len(id_offsets) != start + row[0] + 1 or len(chunk_keys) != row[0] or len(cat) != start + row[0]:
                raise RuntimeError("lead index: column lengths differ")  # a separator inside an id
            for col, text in zip(cols, row[4:11], strict=True):
                col.extend(map(int, text.split(",")))
            flags = row[11]
            p = flags.find("1")
            for _ in range(row[0]):  # bounded: one pass over the flags
                if p < 0:
                    break
                if names is None:  # written without search keys (e.g. by a plain SQL writer)
                    names = dict(dbapi.execute("SELECT id, name FROM leads WHERE coalesce(name_pinyin, '') = ''"))
                name = names.get(chunk_ids[p])
                if name:
                    chunk_keys[p] = _key_with_pinyin(chunk_keys[p], name)
                p = flags.find("1", p + 1)
            del chunk_ids
            encoded = list(map(methodcaller("encode", "utf-8", "surrogatepass"), chunk_keys))
            key_offsets.extend(accumulate(map(len, encoded), initial=key_offsets[-1]))
            key_offsets.pop(len(key_offsets) - len(chunk_keys) - 1)
            key_text += b"".join(encoded)  # grown in place
            del encoded
            postings.add(chunk_keys, start)
            del chunk_keys
            after = row[12]
            rowids.extend(map(int, row[13].split(",")))
            del row
        n = len(cat)
        if not n:
            return
        if any(len(c) != n for c in cols):
            raise RuntimeError("lead index: column lengths differ")
        self._ids = _Ids("".join(id_texts), id_offsets)
        del id_texts
        # A bytes copy: 4 MB for a moment, but the bytearray keeps 1/8 spare room (0.5 MB) for good.
        self._keys = _Keys(bytes(key_text), key_offsets)
        del key_text
        chars = postings.done(n)
        assert chars is not None  # no limit: all finished
        self._chars = chars
        del postings
        self._plan_pairs()
        self._cat = cat
        self._cols = {name: col for (name, _code), col in zip(_NUM_COLS, cols, strict=True)}
        del cols
        # Rowid -> position by binary search (rowids ascend with positions): SQLite sorts the ids
        # (its PK index, BINARY = code point order, as Python compares) and names each number's
        # lead; 100k id strs and a dict of them (~12 MB, the build's peak) are never made.
        if len(rowids) != n:
            raise RuntimeError("lead index: column lengths differ")

        def pos_of(rowid: int) -> int:
            k = bisect_left(rowids, rowid)
            return k if k < n and rowids[k] == rowid else -1

        def positions_of(text: str) -> array:
            values = array("q", map(int, text.split(",")))
            if rowids[-1] - rowids[0] == n - 1:  # no gaps (the usual case): position = rowid - first
                out = array("q", map((-rowids[0]).__add__, values))
                if min(out) >= -1 and max(out) < n:
                    return out
            return array("q", map(pos_of, values))

        by_id = dbapi.execute("SELECT group_concat(rowid) FROM (SELECT rowid FROM leads ORDER BY id "
                              "COLLATE BINARY)").fetchone()[0]
        self._by_id = array("I", positions_of(by_id))
        del by_id
        if -1 in self._by_id or len(self._by_id) != n:
            raise RuntimeError("lead index: ids changed during the build")
        digits_parts: list[str] = []
        starts = array("I")
        lead_pos = array("i")
        offset = 1
        after = -(2**63)
        for _ in range(1 << 20):  # bounded as above
            prow = dbapi.execute(_BULK_PHONES, (after,)).fetchone()
            if not prow[0]:
                break
            digits = prow[2].split(rs)
            lead_pos.extend(positions_of(prow[1]).tolist())
            for d in digits:
                starts.append(offset)
                offset += len(d) + 1
            digits_parts.append(prow[2].replace(rs, "\n"))
            after = prow[3]
            del prow, digits
        rowids = array("q")  # done with it (the closure above keeps the name)
        if len(starts) != len(lead_pos):
            raise RuntimeError("lead index: phone column lengths differ")
        self._ph_text = "\n" + "\n".join(digits_parts) + "\n" if digits_parts else "\n"
        self._ph_start, self._ph_pos = starts, lead_pos
        self._orders = {}
        self._last = None
        self._filter = None

    def _plan_pairs(self) -> None:
        """Start a pair listing (build_pairs). The alphabet: the characters in more than 1/32 of
        the keys (their pairs are the costly texts to check: tens of thousands of candidates)."""
        counts = {c: e.bit_count() if isinstance(e, int) else len(e) for c, e in self._chars.items()
                  if len(c) == 1 and c not in " \t"}
        common = sorted((c for c, k in counts.items() if k * 32 > self._n), key=counts.__getitem__,
                        reverse=True)[:_PAIR_ALPHABET]
        self._pair_job = _Postings(self.PAIR_SLICE, frozenset(a + b for a in common for b in common))

    @property
    def pairs_pending(self) -> bool:
        """True while the pair lists are being made (build_pairs has work left)."""
        return self._pair_job is not None

    def _pos(self, lead_id: str) -> int | None:
        return self._ids.position(lead_id, self._by_id)

    @property
    def last_seq(self) -> int:
        """The newest change-journal entry the index has caught up with."""
        return self._last_seq

    def refresh(self) -> bool:
        """Catch up with the change journal; returns True if anything changed."""
        if not self.built:
            with self._lock:
                if not self.built:  # another thread may have built it while we waited
                    self.build()
            return True
        with self._lock:
            with self._engine.connect() as conn:
                dbapi = conn.connection.driver_connection
                newest = dbapi.execute("SELECT coalesce(max(seq), 0) FROM lead_changes").fetchone()[0]
                if newest == self._last_seq:
                    return False
                oldest = dbapi.execute(
                    "SELECT min(seq) FROM lead_changes WHERE seq > ?", (self._last_seq,)
                ).fetchone()[0]
                # A journal that went backwards or has a hole was pruned or replaced.
                gap = newest < self._last_seq or (oldest is not None and oldest > self._last_seq + 1)
                changed: list[str] = []
                if not gap:
                    changed = [r[0] for r in dbapi.execute(
                        "SELECT DISTINCT lead_id FROM lead_changes WHERE seq > ? AND seq <= ?",
                        (self._last_seq, newest))]
                if not gap and len(changed) <= 20_000:
                    self._reload(dbapi, changed)
                    self._last_seq = newest
                    if self._on_change is not None:
                        self._on_change(changed)
                    return True
            self.build()
            self.build_pairs(1 << 20)  # a rare rebuild (pruned journal, a huge sync): all at once
            return True

    # Up to this many changed leads are placed into the existing orders one by one
    # (a binary search each); more, and the orders are simply rebuilt when next needed.
    REORDER_LIMIT = 500

    def _reload(self, dbapi, lead_ids: Sequence[str]) -> None:
        rows: list[tuple] = []
        phones: dict[str, list[str]] = {}
        for start in range(0, len(lead_ids), 500):
            chunk = list(lead_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows += dbapi.execute(f"{_LEAD_SELECT} WHERE id IN ({marks})", chunk).fetchall()
            for lead_id, d in dbapi.execute(f"{_PHONE_SELECT} WHERE lead_id IN ({marks})", chunk):
                phones.setdefault(lead_id, []).append(d)
        found = {row[0] for row in rows}
        # A call, a disposition or a sync page changes a few leads: their sort keys move, their
        # search keys mostly don't. Only the changed positions are placed again in the orders,
        # and the character lists change only where a search key really changed.
        small = len(lead_ids) <= self.REORDER_LIMIT
        before = {sort: self._sort_key(sort) for sort in self._orders} if small else {}
        old_keys: dict[str, dict[int, tuple]] = {sort: {} for sort in before}
        touched: list[int] = []
        new_rows: list[tuple] = []
        key_changes: list[tuple[int, str, str]] = []
        for row in rows:
            pos = self._pos(row[0])
            if pos is None:
                new_rows.append(row)
                continue
            for sort, key in before.items():
                if key is not None:
                    old_keys[sort][pos] = key(pos)
            old = self._keys[pos]
            if self._update_row(pos, row):
                key_changes.append((pos, old, self._keys[pos]))
            touched.append(pos)
        for lead_id in lead_ids:
            if lead_id not in found:
                pos = self._pos(lead_id)
                if pos is not None and self._cat[pos] != _CAT_DELETED:
                    for sort, key in before.items():
                        if key is not None:
                            old_keys[sort][pos] = key(pos)
                    key_changes.append((pos, self._keys[pos], ""))
                    self._delete(pos)
                    touched.append(pos)
        start = self._n
        if new_rows:
            self._append_rows(new_rows)
            touched += range(start, self._n)
        for row in rows:
            pos = self._pos(row[0])
            if pos is not None:
                self._ph_override[pos] = tuple(phones.get(row[0], ()))
        self._patch_chars(key_changes, start)
        if not self._pairs and self._pair_job is None and start < _PAIRS_FROM <= self._n:
            self._plan_pairs()  # built (nearly) empty, then filled by a sync: list the pairs now
        if small:
            self._reorder(touched, old_keys, start)
        else:
            self._orders = {}
        self._changed.update(touched)
        self._version += 1
        if len(self._changed) > self.REORDER_LIMIT:
            self._last = None  # patching the last hits would cost more than searching again
            self._filter = None
            self._changed.clear()

    def _append_rows(self, rows: list[tuple]) -> None:
        """Append leads that are new since the build (rows shaped like _LEAD_SELECT)."""
        start = self._n
        for row in rows:
            _id, key, cat, *values, no_pinyin = row
            self._keys.append(_key_with_pinyin(key, no_pinyin) if no_pinyin else key)
            self._cat.append(cat)
            for (name, _code), v in zip(_NUM_COLS, self._encode(values), strict=True):
                self._cols[name].append(v)
        # A new text (results already handed out keep theirs); offsets only grow.
        ids = self._ids
        offsets = ids.offsets
        for row in rows:
            offsets.append(offsets[-1] + len(row[0]))
        self._ids = ids = _Ids(ids.text + "".join(row[0] for row in rows), offsets)
        by_id = array("I", self._by_id)  # copy-on-write, as the orders
        for p in range(start, self._n):
            by_id.insert(bisect_left(by_id, ids[p], key=ids.__getitem__), p)
        self._by_id = by_id

    def _encode(self, values: Sequence) -> tuple:
        prio, expiry, callback, attempt, campaign, source, fresh = values
        cc, sc = self._codes["campaign"], self._codes["source"]
        return (prio, expiry, callback, attempt, cc.get(campaign) or cc.setdefault(campaign, len(cc) + 1),
                sc.get(source) or sc.setdefault(source, len(sc) + 1), fresh)

    def _update_row(self, pos: int, row: tuple) -> bool:
        """Store a changed lead's row; True if its search key changed."""
        _id, key, cat, *values, no_pinyin = row
        key = _key_with_pinyin(key, no_pinyin) if no_pinyin else key
        key_changed = key != self._keys[pos]
        if key_changed:  # (an unchanged key stays in the shared text)
            self._keys[pos] = key
        self._cat[pos] = cat
        for (name, _code), v in zip(_NUM_COLS, self._encode(values), strict=True):
            self._cols[name][pos] = v
        return key_changed

    def _delete(self, pos: int) -> None:
        self._keys[pos] = ""
        self._cat[pos] = _CAT_DELETED
        self._ph_override[pos] = ()

    def _features(self, key: str) -> set[str]:
        """What the build lists for ``key``: its characters and its pairs of common characters."""
        out = set(key)
        out.update(self._pairs.intersection(map(add, key, key[1:])))
        return out

    def _patch_chars(self, key_changes: list[tuple[int, str, str]], appended_from: int) -> None:
        """Keep every character's positions right for changed and appended keys."""
        chars = self._chars
        adds: dict[str, list[int]] = {}
        removes: dict[str, list[int]] = {}
        features = self._features
        for pos, old, new in key_changes:
            o, w = features(old), features(new)
            for c in o - w:
                removes.setdefault(c, []).append(pos)
            for c in w - o:
                adds.setdefault(c, []).append(pos)
        for pos in range(appended_from, self._n):
            for c in features(self._keys[pos]):
                adds.setdefault(c, []).append(pos)
        if key_changes or appended_from < self._n:
            self._key_version += 1
        n = self._n
        for c in adds.keys() | removes.keys():
            self._sparse_bits.pop(c, None)
            entry = chars.get(c)
            plus, minus = adds.get(c, ()), removes.get(c, ())
            if isinstance(entry, int):
                m = bytearray(_unpack(entry, n))
                for p in minus:
                    m[p] = 0
                for p in plus:
                    m[p] = 1
                chars[c] = _pack(m)
            else:
                kept = set(entry or ()).difference(minus)
                kept.update(plus)
                chars[c] = _Sparse(sorted(kept))

    # ------------------------------------------------------------------ orders
    def _sort_key(self, sort: str) -> Callable[[int], tuple] | None:
        """The tuple a sort orders by (position last: ties keep the table order)."""
        c = self._cols
        prio, expiry, callback, attempt = c["prio"], c["expiry"], c["callback"], c["attempt"]
        if sort == "priority":  # 1 is the most urgent, then the nearest policy expiry
            return lambda p: (prio[p], expiry[p], p)
        if sort == "expiry":
            return lambda p: (expiry[p], prio[p], p)
        if sort == "callback":  # due and overdue first
            return lambda p: (callback[p], prio[p], p)
        if sort == "recent":  # newest attempt first, never-called last
            return lambda p: (-attempt[p], prio[p], p)
        return None  # "name" comes from SQL: rebuilt

    def _reorder(self, touched: Sequence[int], old_keys: dict[str, dict[int, tuple]], appended_from: int) -> None:
        if not touched:
            return
        moved = sorted(set(touched))
        for sort, order in list(self._orders.items()):
            key = self._sort_key(sort)
            if key is None:
                del self._orders[sort]
                continue
            order = array("I", order)  # copy-on-write: handed-out results keep the old one
            olds = old_keys.get(sort, {})

            def old_key(p: int, olds=olds, key=key) -> tuple:
                k = olds.get(p)
                return k if k is not None else key(p)

            for p in moved:  # out, found by its key before the change (the order is sorted by it)
                if p >= appended_from:
                    continue
                k = bisect_left(order, old_key(p), key=old_key)
                if k < len(order) and order[k] == p:
                    del order[k]
                else:  # not where its old key says: fall back to a scan
                    try:
                        order.remove(p)
                    except ValueError:
                        pass
            for p in moved:  # back in at the new key's place
                order.insert(bisect_left(order, key(p), key=key), p)
            self._orders[sort] = order

    def _order(self, sort: str) -> array:
        order = self._orders.get(sort)
        if order is not None and len(order) == self._n:
            return order
        key = self._sort_key(sort)
        if key is None:
            order = self._name_order()
        else:
            c = self._cols
            first, second = {"priority": (c["prio"], c["expiry"]), "expiry": (c["expiry"], c["prio"]),
                             "callback": (c["callback"], c["prio"]), "recent": (None, c["prio"])}[sort]
            if first is None:  # recent: newest attempt first
                first = array("q", map(neg, c["attempt"]))
            # Two stable sorts with C-level keys (array.__getitem__): by the second part, then by
            # the first; ties keep the table order. No tuple or big int per lead.
            positions = sorted(range(self._n), key=second.__getitem__)
            positions.sort(key=first.__getitem__)
            order = array("I", positions)
            del positions
        self._orders[sort] = order
        _release_freed_memory()  # the sort's transient ints (~4 MB for 100k leads) back to the OS
        return order

    def _name_order(self) -> array:
        # Pinyin order straight from SQL: only this sort needs the pinyin strings.
        with self._engine.connect() as conn:
            rows = conn.connection.driver_connection.execute(
                "SELECT id FROM leads ORDER BY name_pinyin, name").fetchall()
        pos_of = dict(zip(self._ids.all(), range(self._n), strict=True))
        seen = [p for p in (pos_of.get(r[0]) for r in rows) if p is not None]
        rest = sorted(set(range(self._n)) - set(seen))
        return array("I", seen + rest)

    def prepare(self, sorts: Sequence[str] = ("priority", "callback"), pairs: bool = True) -> None:
        """Build the index and the common sort orders ahead of the first keystroke; and the pair
        lists unless ``pairs`` is False (then :meth:`build_pairs` makes them, a slice a call)."""
        self.refresh()
        with self._lock:
            for sort in sorts:
                self._order(sort)
        for _ in range(1 << 20):  # bounded: each call lists another slice of keys
            if not pairs or self.build_pairs(1 << 20):
                break

    # Keys a build_pairs() step lists (~5 ms here, the GIL held in C all along); the keys whose
    # lists are packed together (packing costs per pair and slice: not every step); the lists
    # a step packs.
    PAIR_STEP, PAIR_SLICE, PAIR_FOLDS = 2000, 16_000, 100

    def build_pairs(self, steps: int = 1) -> bool:
        """List the pairs of common characters for the next ``steps`` × PAIR_STEP keys; True
        once all are.

        Until then a search checks the keys as it would without them (same answers, slower
        for a 2-character text). Keys that change meanwhile make it start over."""
        self.refresh()
        with self._lock:
            job = self._pair_job
            if job is None:
                return True
            if job.key_version != self._key_version:  # keys changed under the job: start over
                job = self._pair_job = _Postings(job.size, job.pairs)
                job.key_version = self._key_version
            for _ in range(steps):
                start = job.done_upto
                stop = min(self._n, start + self.PAIR_STEP, start - start % job.size + job.size)
                if start >= stop:
                    break
                job.add_pairs(list(map(self._keys.__getitem__, range(start, stop))), start, stop == self._n)
                job.done_upto = stop
            if not job.fold_some(self.PAIR_FOLDS * steps) or job.done_upto < self._n:
                return False
            t0 = time.perf_counter()
            finished = job.done(self._n, self.PAIR_FOLDS * steps)
            if finished is None:
                return False
            self._chars.update(finished)
            self._pairs = job.pairs
            self._pair_job = None
            _release_freed_memory()
            log.info("lead index: %d pair lists made (last step %.0f ms)", len(self._pairs),
                     (time.perf_counter() - t0) * 1000)
            return True

    # ------------------------------------------------------------------ search
    def search(self, text: str = "", tab: str | None = None, campaign_id: str | None = None,
               source: str | None = None, sort: str = "priority",
               waiting_since_before: int | None = None, limit: int | None = None) -> list[str]:
        hits = self.hits(text, tab, campaign_id, source, sort, waiting_since_before)
        return list(hits) if limit is None else list(hits[:limit])

    def hits(self, text: str = "", tab: str | None = None, campaign_id: str | None = None,
             source: str | None = None, sort: str = "priority",
             waiting_since_before: int | None = None) -> LeadHits:
        """The matching leads in display order, as a :class:`LeadHits` (made as it is read)."""
        if tab is not None and tab not in TABS:
            raise ValueError(f"unknown tab {tab!r}; expected one of {TABS}")
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
        self.refresh()
        with self._lock:
            if tab == "callbacks" and sort == "priority":
                sort = "callback"  # due and overdue first
            fkey = (tab, campaign_id, source, waiting_since_before)
            fbits = self._filter_bits(fkey)
            q = (text or "").strip().lower()
            if q:
                positions, bits = self._text_hits(q, fkey, fbits)
            else:
                positions, bits = None, fbits
                if self._changed:
                    self._last = None  # not patched by this search: it would go stale
            self._changed.clear()
            n = self._n
            count = len(positions) if positions is not None else bits.bit_count()
            key = self._sort_key(sort)
            if count <= _EAGER_HITS and key is not None:
                if positions is None:
                    positions = _positions(bits, count, n)
                return LeadHits(self._snapshot(), self._by_id, sorted(positions, key=key))
            mask = _unpack(bits, n) if positions is None else _mask_of(positions, n)
            return LeadHits(self._snapshot(), self._by_id, order=self._order(sort), mask=mask, total=count)

    def _filter_bits(self, fkey: tuple, keep: bool = True) -> int:
        """Bits of the leads the tab and filters show (kept for the next keystroke)."""
        cached = self._filter
        if keep and cached is not None and cached[0] == fkey:
            if not self._changed:
                return cached[1]
            if len(self._changed) <= self.REORDER_LIMIT:  # patch the changed leads only
                m = bytearray(_unpack(cached[1], self._n))
                for p in self._changed:
                    m[p] = 1 if self._passes(p, fkey) else 0
                bits = _pack(m)
                self._filter = (fkey, bits)
                return bits
        tab, campaign_id, source, waiting = fkey
        bits = _pack(self._cat.translate(_TAB_TABLES[tab]))
        if campaign_id is not None:
            code = self._codes["campaign"].get(campaign_id, -1)
            bits &= _pack(bytes(map(code.__eq__, self._cols["campaign"])))
        if source is not None:
            code = self._codes["source"].get(source, -1)
            bits &= _pack(bytes(map(code.__eq__, self._cols["source"])))
        if waiting is not None:  # new, never tried, received before this (epoch s)
            bits &= _pack(bytes(map(int(waiting).__ge__, self._cols["fresh"])))
        if keep:
            self._filter = (fkey, bits)
        return bits

    def _passes(self, p: int, fkey: tuple) -> bool:
        tab, campaign_id, source, waiting = fkey
        if not _TAB_TABLES[tab][self._cat[p]]:
            return False
        if campaign_id is not None and self._cols["campaign"][p] != self._codes["campaign"].get(campaign_id, -1):
            return False
        if source is not None and self._cols["source"][p] != self._codes["source"].get(source, -1):
            return False
        return waiting is None or self._cols["fresh"][p] <= waiting

    def _char_bits(self, c: str) -> int:
        entry = self._chars.get(c)
        if entry is None:
            return 0
        if isinstance(entry, int):
            return entry
        bits = self._sparse_bits.get(c)
        if bits is None:
            bits = _bits_of(entry, self._n)
            self._sparse_bits[c] = bits
            while len(self._sparse_bits) > _SPARSE_CACHE:
                self._sparse_bits.popitem(last=False)
        else:
            self._sparse_bits.move_to_end(c)
        return bits

    def _text_hits(self, q: str, fkey: tuple, fbits: int) -> tuple[Sequence[int] | None, int]:
        """The shown leads whose key contains ``q`` (or with a number ending in it): either
        (ascending positions, 0) or (None, bits)."""
        compact = q.replace(" ", "")
        keys, n = self._keys, self._n
        last = self._last
        positions: Sequence[int] | None = None
        bits = 0
        recent = self._recent.get((compact, fkey)) if len(compact) > 1 else None
        if recent is not None and recent[0] == self._version:
            self._recent.move_to_end((compact, fkey))
            positions = recent[1]
        elif last is not None and last[1] == fkey and compact.startswith(last[0]) and last[0]:
            prev_pos, prev_bits = last[2], last[3]
            if self._changed:  # leads changed since: check them again
                changed = self._changed
                if prev_pos is None:
                    m = bytearray(_unpack(prev_bits, n))
                    for p in changed:
                        m[p] = 1 if (fbits >> p) & 1 and last[0] in keys[p] else 0
                    prev_bits = _pack(m)
                else:
                    kept = [p for p in prev_pos if p not in changed]
                    kept += [p for p in changed if (fbits >> p) & 1 and last[0] in keys[p]]
                    prev_pos = sorted(kept)
            if compact == last[0]:
                positions, bits = prev_pos, prev_bits
            elif prev_pos is None:  # the last text's hits as bits: AND the new text's lists first
                positions, bits = self._check(compact, self._candidates(compact, prev_bits))
            else:
                positions = keys.having(compact, prev_pos)
        else:
            positions, bits = self._check(compact, self._candidates(compact, fbits))
        self._last = (compact, fkey, positions, bits)
        if positions is not None and (recent is None or recent[0] != self._version) \
                and len(positions) <= _RECENT_MAX:
            self._recent[(compact, fkey)] = (self._version, array("I", positions))
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        if compact.isdigit() and len(compact) >= 4:
            tail = [p for p in self._tail_hits(compact) if (fbits >> p) & 1]
            if tail:
                if positions is None:
                    positions = _positions(bits, bits.bit_count(), n)
                positions = sorted(set(positions).union(tail))
        return positions, bits

    def _candidates(self, compact: str, bits: int) -> int:
        """``bits`` AND the lists of every character and every listed pair of ``compact``."""
        for f in (*set(compact), *self._pairs.intersection(map(add, compact, compact[1:]))):
            if not bits:
                break
            bits &= self._char_bits(f)
        return bits

    def _check(self, compact: str, cand: int) -> tuple[list[int] | None, int]:
        """The candidates whose key contains ``compact``: the lists are exact for one character
        and for a listed pair (bits, nothing checked); otherwise each candidate's key is checked."""
        if not cand or len(compact) == 1 or (len(compact) == 2 and compact in self._pairs):
            return None, cand
        return self._keys.having(compact, _positions(cand, cand.bit_count(), self._n)), 0

    def _tail_hits(self, q: str) -> set[int]:
        """Leads with a number ending in ``q`` (4+ digits)."""
        found: set[int] = set()
        text, starts, lead_pos, override = self._ph_text, self._ph_start, self._ph_pos, self._ph_override
        needle = q + "\n"
        find = text.find
        at = find(needle)
        for _ in range(len(starts) + 1):  # bounded: one pass over the numbers
            if at < 0:
                break
            k = bisect_right(starts, at) - 1
            p = lead_pos[k] if k >= 0 else -1
            if p >= 0 and p not in override:
                found.add(p)
            at = find(needle, at + len(needle))
        for p, digits in override.items():
            if any(d.endswith(q) for d in digits):
                found.add(p)
        return found

    def waiting_count(self, since_before: int) -> int:
        """New leads never tried that reached this device at or before ``since_before`` (epoch s)."""
        self.refresh()
        with self._lock:
            return self._filter_bits((None, None, None, since_before), keep=False).bit_count()

    def __len__(self) -> int:
        return self._n - self._cat.count(_CAT_DELETED)


def _mask_of(positions: Sequence[int], n: int) -> bytes:
    m = bytearray(n)
    for p in positions:
        m[p] = 1
    return bytes(m)


def _release_freed_memory() -> None:
    """Ask glibc to return freed heap pages to the OS (they'd count as RSS for the whole session)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to do
            pass


def _key_with_pinyin(key: str, name: str) -> str:
    from core.pinyin import name_keys  # lazy: only a changed lead needs keys made

    pinyin, initials = name_keys(name)
    parts = key.split("\t")
    parts[1], parts[2] = pinyin, initials
    return "\t".join(parts)
