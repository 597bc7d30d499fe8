"""In-memory search index over the leads, for the lead list's search box.

One keystroke over 100,000 leads must take ≤ 50 ms, which rules out an SQL
``LIKE`` over pinyin per keystroke. The index keeps, per lead, its id, one
lowercase key string (name, pinyin, initials, plate, external id), the
national digits of its numbers (never shown; only for "search by number
tail"), and numpy columns for the tab, filters and sort orders.

It catches up with changes from any writer through ``lead_changes``, a
journal filled by SQLite triggers (migration 0002): before each search it
asks for the journal's newest seq (one index lookup) and reloads only the
leads changed since. A gap in the journal (pruned rows) means a full rebuild.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import Engine

from cache.lead_order import DONE_STATUSES, NEVER, SORTS, TABS
from core.contract import LeadStatus

__all__ = ["DONE_STATUSES", "SORTS", "TABS", "LeadIndex"]

log = logging.getLogger(__name__)

_CAT_TODO, _CAT_CALLBACK, _CAT_DONE, _CAT_DELETED = 0, 1, 2, 3
_NEVER = NEVER
# "Waiting for a first contact since": when a new lead that was never tried reached this
# device (created_at, UTC epoch seconds); _NEVER once it was tried or is no longer new.
# The floor's rule (app.workspace.callbacks.FIRST_CONTACT_HOURS) flags it 48 h later.
_FRESH_SQL = (f"CASE WHEN status = '{LeadStatus.NEW}' AND last_attempt_at IS NULL "
              f"THEN coalesce(CAST(strftime('%s', created_at) AS INTEGER), {_NEVER}) ELSE {_NEVER} END")
_CHUNK = 20_000  # rows per bulk-load query and per bits pass (a multiple of 8)

# Everything that can be computed in SQL is (C speed, and no Python objects for
# the date strings): the search key, the tab category, dates as integers.
_LEAD_SELECT = f"""
SELECT id,
       replace(lower(coalesce(name, '') || char(9) || coalesce(name_pinyin, '') || char(9) ||
             coalesce(name_initials, '') || char(9) || coalesce(plate, '') || char(9) ||
             coalesce(external_id, '')), char(30), ' '),
       CASE WHEN status IN {DONE_STATUSES!r} THEN {_CAT_DONE}
            WHEN next_callback_at IS NOT NULL THEN {_CAT_CALLBACK} ELSE {_CAT_TODO} END,
       coalesce(priority, 0),
       coalesce(CAST(julianday(policy_expiry) AS INTEGER), {_NEVER}),
       coalesce(CAST(strftime('%s', next_callback_at) AS INTEGER), {_NEVER}),
       coalesce(CAST(strftime('%s', last_attempt_at) AS INTEGER), 0),
       coalesce(campaign_id, ''), coalesce(source, ''),
       {_FRESH_SQL},
       CASE WHEN coalesce(name_pinyin, '') = '' THEN name END
FROM leads
"""
# The start-up path: one aggregate scan returns each column as ONE string (ids and keys
# split in C, numbers parsed by numpy), so 100k leads cost a handful of Python objects
# per column instead of 100k. One query = one scan = the same row order in every column.
_RS = "char(30)"  # record separator; removed from keys
_BULK_SELECT = f"""
SELECT count(*),
       group_concat(id, {_RS}),
       group_concat(replace(lower(coalesce(name, '') || char(9) || coalesce(name_pinyin, '') || char(9) ||
             coalesce(name_initials, '') || char(9) || coalesce(plate, '') || char(9) ||
             coalesce(external_id, '')), {_RS}, ' '), {_RS}),
       group_concat(CASE WHEN status IN {DONE_STATUSES!r} THEN {_CAT_DONE}
            WHEN next_callback_at IS NOT NULL THEN {_CAT_CALLBACK} ELSE {_CAT_TODO} END),
       group_concat(coalesce(priority, 0)),
       group_concat(coalesce(CAST(julianday(policy_expiry) AS INTEGER), {_NEVER})),
       group_concat(coalesce(CAST(strftime('%s', next_callback_at) AS INTEGER), {_NEVER})),
       group_concat(coalesce(CAST(strftime('%s', last_attempt_at) AS INTEGER), 0)),
       group_concat({{campaign_case}}),
       group_concat({{source_case}}),
       group_concat({_FRESH_SQL}),
       group_concat(CASE WHEN coalesce(name_pinyin, '') = '' THEN 1 ELSE 0 END),
       max(rowid)
FROM (SELECT rowid, * FROM leads WHERE rowid > ? ORDER BY rowid LIMIT {_CHUNK})
"""
_BULK_PHONES = f"""
SELECT count(*), group_concat(lead_id, {_RS}),
       group_concat(CASE WHEN number_e164 LIKE '+86%' THEN substr(number_e164, 4) ELSE number_e164 END, {_RS}),
       group_concat(coalesce(CAST(substr(number_e164, -4) AS INTEGER), -1)),
       max(rowid)
FROM (SELECT rowid, lead_id, number_e164 FROM lead_phones WHERE rowid > ? ORDER BY rowid LIMIT {_CHUNK})
"""
_PHONE_SELECT = """
SELECT lead_id, CASE WHEN number_e164 LIKE '+86%' THEN substr(number_e164, 4) ELSE number_e164 END
FROM lead_phones
"""
_NUM_COLS = (("cat", np.int8), ("prio", np.int16), ("expiry", np.int32), ("callback", np.int64),
             ("attempt", np.int64), ("campaign", np.int32), ("source", np.int32), ("fresh", np.int64))


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
        self._pos_map: dict[str, int] | None = {}
        self._ids: list[str] = []
        # (UTF-8 bytes would take half the memory — a CJK name makes the whole str 2 bytes a
        # character — but ``in`` on bytes measured ~2.7x slower than on str: kept as str.)
        self._keys: list[str] = []
        self._np: dict[str, np.ndarray] = {name: np.zeros(0, dt) for name, dt in _NUM_COLS}
        self._np_ids = np.zeros(0, object)
        self._codes: dict[str, dict[str, int]] = {"campaign": {}, "source": {}}
        # Numbers for "search by tail": from the build, numpy columns sorted by the last four
        # digits (binary search), plus an overlay for leads whose numbers changed since.
        self._ph_tail = np.zeros(0, np.int32)
        self._ph_pos = np.zeros(0, np.int32)
        self._ph_digits = np.zeros(0, "S1")  # ASCII bytes: a fifth of the memory of 100k str objects
        self._ph_override: dict[int, tuple[str, ...]] = {}
        self._last_seq = 0
        self._orders: dict[str, np.ndarray] = {}
        self._ids_dirty = True
        self._last_query: tuple[str, np.ndarray] | None = None  # (text, bool mask of its hits)
        # Per character: which keys contain it, one bit a lead (12.5 KB for 100k leads). Letters
        # and digits are made with the build (one vectorised pass each); other characters
        # (汉字) on first use. Every search starts with one character, and a longer text is
        # checked only on the keys that contain all of its characters.
        self._bits: dict[str, np.ndarray] = {}

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
            self._bits = _ascii_bits(self._keys)
            self.built = True
            _release_freed_memory()  # the build's transient strings (tens of MB) back to the OS
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
        ids: list[str] = []
        keys: list[str] = []
        cols: list[list[np.ndarray]] = [[] for _ in _NUM_COLS]
        no_pinyin: list[np.ndarray] = []
        after = -(2**63)
        for _ in range(1 << 20):  # bounded: each pass moves past at least one row
            row = dbapi.execute(sql, [*camp_params, *src_params, after]).fetchone()
            if not row[0]:
                break
            start = len(ids)
            ids += row[1].split(rs)
            keys += row[2].split(rs)
            if len(ids) != start + row[0] or len(keys) != start + row[0]:
                raise RuntimeError("lead index: column lengths differ")  # a separator inside an id
            for col, (_name, dtype), text in zip(cols, _NUM_COLS, row[3:11], strict=True):
                col.append(np.fromstring(text, dtype=np.int64, sep=",").astype(dtype))
            no_pinyin.append(np.flatnonzero(np.fromstring(row[11], dtype=np.int64, sep=",")) + start)
            after = row[12]
            del row
        n = len(ids)
        if not n:
            return
        self._ids, self._keys = ids, keys
        for col, (name, _dtype) in zip(cols, _NUM_COLS, strict=True):
            self._np[name] = np.concatenate(col)
        del cols
        missing = np.concatenate(no_pinyin)
        if len(missing):  # written without search keys (e.g. by a plain SQL writer)
            names = dict(dbapi.execute("SELECT id, name FROM leads WHERE coalesce(name_pinyin, '') = ''"))
            for i in missing.tolist():
                name = names.get(self._ids[i])
                if name:
                    self._keys[i] = _key_with_pinyin(self._keys[i], name)
        self._pos_map = dict(zip(self._ids, range(n), strict=True))
        tails_parts: list[np.ndarray] = []
        pos_parts: list[np.ndarray] = []
        digit_parts: list[np.ndarray] = []
        after = -(2**63)
        for _ in range(1 << 20):  # bounded as above
            prow = dbapi.execute(_BULK_PHONES, (after,)).fetchone()
            if not prow[0]:
                break
            # Each phone's lead position; map() keeps the lookups in C (-1: the lead is gone).
            pos_parts.append(np.fromiter(map(self._pos.get, prow[1].split(rs), itertools.repeat(-1)),
                                         dtype=np.int32, count=prow[0]))
            tails_parts.append(np.fromstring(prow[3], dtype=np.int64, sep=",").astype(np.int32))
            digits = prow[2].split(rs)
            width = max(map(len, digits), default=1)
            digit_parts.append(np.asarray(digits, dtype=f"U{width}").astype(f"S{width}"))
            after = prow[4]
            del prow, digits
        if tails_parts:
            tails, lead_pos = np.concatenate(tails_parts), np.concatenate(pos_parts)
            width = max(p.dtype.itemsize for p in digit_parts)
            all_digits = np.concatenate([p.astype(f"S{width}") for p in digit_parts])
            order = np.argsort(tails, kind="stable")
            self._ph_tail, self._ph_pos, self._ph_digits = tails[order], lead_pos[order], all_digits[order]
        self._orders = {}
        self._ids_dirty = True
        self._last_query = None
        self._bits = {}  # made by build() once this function's big strings are freed
        self._pos_map = None  # ~4 MB for 100k leads: rebuilt (~10 ms) when a change needs it

    @property
    def _pos(self) -> dict[str, int]:
        """Lead id → position; built on demand (only catching up with changes needs it)."""
        if self._pos_map is None:
            self._pos_map = dict(zip(self._ids, range(len(self._ids)), strict=True))
        return self._pos_map

    def _append_rows(self, rows: list[tuple]) -> None:
        """Append leads that are new since the build (rows shaped like _LEAD_SELECT)."""
        ids, keys, cat, prio, expiry, callback, attempt, campaigns, sources, fresh, no_pinyin = zip(*rows, strict=True)
        start = len(self._ids)
        keys = [_key_with_pinyin(k, name) if name else k for k, name in zip(keys, no_pinyin, strict=True)]
        self._ids.extend(ids)
        self._keys.extend(keys)
        for c, bits in list(self._bits.items()):
            grown = np.concatenate((np.unpackbits(bits, count=start).astype(bool),
                                    np.fromiter((c in k for k in keys), dtype=bool, count=len(keys))))
            self._bits[c] = np.packbits(grown)
        self._pos.update(zip(ids, range(start, start + len(ids)), strict=True))
        cc, sc = self._codes["campaign"], self._codes["source"]
        camp = [cc.get(c) or cc.setdefault(c, len(cc) + 1) for c in campaigns]
        src = [sc.get(x) or sc.setdefault(x, len(sc) + 1) for x in sources]
        for (name, dtype), col in zip(_NUM_COLS, (cat, prio, expiry, callback, attempt, camp, src, fresh),
                                      strict=True):
            self._np[name] = np.concatenate((self._np[name], np.asarray(col, dtype=dtype)))
        self._orders = {}
        self._ids_dirty = True
        self._last_query = None

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
            return True

    def _reload(self, dbapi, lead_ids: Sequence[str]) -> None:
        keys_changed = appended = False
        touched: list[int] = []
        for start in range(0, len(lead_ids), 500):
            chunk = list(lead_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = dbapi.execute(f"{_LEAD_SELECT} WHERE id IN ({marks})", chunk).fetchall()
            phones: dict[str, list[str]] = {}
            for lead_id, d in dbapi.execute(f"{_PHONE_SELECT} WHERE lead_id IN ({marks})", chunk):
                phones.setdefault(lead_id, []).append(d)
            new_rows = []
            found = set()
            for row in rows:
                found.add(row[0])
                pos = self._pos.get(row[0])
                if pos is None:
                    new_rows.append(row)
                else:
                    keys_changed |= self._update_row(pos, row)
                    touched.append(pos)
            if new_rows:
                self._append_rows(new_rows)  # new positions: orders and caches start over
                appended = True
            for row in rows:
                self._ph_override[self._pos[row[0]]] = tuple(phones.get(row[0], ()))
            for lead_id in chunk:
                if lead_id not in found:
                    self._delete(lead_id)
                    keys_changed = True
        # A call, a disposition or a sync page changes a few leads: their sort keys move, their
        # search keys mostly don't. Re-sorting 100k leads (~10–15 ms per order) and rescanning
        # every key for the next keystrokes (~6–9 ms each) was paid by the first search after
        # every call; now only the changed positions are placed again, and the search caches
        # go only when a search key really changed.
        if not appended:
            self._reorder(touched)
        if keys_changed or appended:
            self._last_query = None

    def _update_row(self, pos: int, row: tuple) -> bool:
        """Store a changed lead's row; True if its search key changed."""
        _id, key, cat, prio, expiry, callback, attempt, campaign, source, fresh, no_pinyin = row
        key = _key_with_pinyin(key, no_pinyin) if no_pinyin else key
        key_changed = key != self._keys[pos]
        self._keys[pos] = key
        if key_changed:
            self._set_bits(pos, key)
        cc, sc = self._codes["campaign"], self._codes["source"]
        values = (cat, prio, expiry, callback, attempt, cc.get(campaign) or cc.setdefault(campaign, len(cc) + 1),
                  sc.get(source) or sc.setdefault(source, len(sc) + 1), fresh)
        for (name, _dt), v in zip(_NUM_COLS, values, strict=True):
            self._np[name][pos] = v
        return key_changed

    # Up to this many changed leads are placed into the existing orders one by one
    # (a binary search each); more, and the orders are simply rebuilt when next needed.
    REORDER_LIMIT = 500

    def _sort_key(self, sort: str) -> Callable[[int], tuple] | None:
        """The tuple np.lexsort orders by in :meth:`_order` (position last: lexsort is stable)."""
        c = self._np
        prio, expiry, callback, attempt = c["prio"], c["expiry"], c["callback"], c["attempt"]
        if sort == "priority":
            return lambda p: (int(prio[p]), int(expiry[p]), p)
        if sort == "expiry":
            return lambda p: (int(expiry[p]), int(prio[p]), p)
        if sort == "callback":
            return lambda p: (int(callback[p]), int(prio[p]), p)
        if sort == "recent":
            return lambda p: (-int(attempt[p]), int(prio[p]), p)
        return None  # "name" comes from SQL: rebuilt

    def _reorder(self, touched: Sequence[int]) -> None:
        if not touched:
            return
        if len(touched) > self.REORDER_LIMIT:
            self._orders = {}
            return
        moved = np.unique(np.asarray(touched, dtype=np.int64))
        for sort, order in list(self._orders.items()):
            key = self._sort_key(sort)
            if key is None:
                del self._orders[sort]
                continue
            keep = order[~np.isin(order, moved)]
            at = []
            for p in sorted(moved.tolist(), key=key):
                k = key(p)
                lo, hi = 0, len(keep)
                while lo < hi:  # first element of keep that sorts after p
                    mid = (lo + hi) // 2
                    if key(int(keep[mid])) < k:
                        lo = mid + 1
                    else:
                        hi = mid
                at.append(lo)
            self._orders[sort] = np.insert(keep, at, sorted(moved.tolist(), key=key)).astype(order.dtype)

    def _delete(self, lead_id: str) -> None:
        pos = self._pos.get(lead_id)
        if pos is None:
            return
        self._keys[pos] = ""
        self._set_bits(pos, "")
        self._np["cat"][pos] = _CAT_DELETED
        self._ph_override[pos] = ()

    def _order(self, sort: str) -> np.ndarray:
        order = self._orders.get(sort)
        if order is not None:
            return order
        c = self._np
        if sort == "expiry":
            order = np.lexsort((c["prio"], c["expiry"]))
        elif sort == "callback":
            order = np.lexsort((c["prio"], c["callback"]))
        elif sort == "recent":
            order = np.lexsort((c["prio"], -c["attempt"]))  # newest attempt first, never-called last
        elif sort == "name":
            order = self._name_order()
        else:  # priority: 1 is the most urgent, then the nearest policy expiry
            order = np.lexsort((c["expiry"], c["prio"]))
        self._orders[sort] = order
        return order

    def _name_order(self) -> np.ndarray:
        # Pinyin order straight from SQL: only this sort needs the pinyin strings.
        with self._engine.connect() as conn:
            rows = conn.connection.driver_connection.execute(
                "SELECT id FROM leads ORDER BY name_pinyin, name").fetchall()
        seen = [self._pos[r[0]] for r in rows if r[0] in self._pos]
        rest = sorted(set(range(len(self._ids))) - set(seen))
        return np.asarray(seen + rest, dtype=np.int64)

    def prepare(self, sorts: Sequence[str] = ("priority", "callback")) -> None:
        """Build the index and the common sort orders ahead of the first keystroke."""
        self.refresh()
        with self._lock:
            self._ids_array()
            for sort in sorts:
                self._order(sort)

    def _ids_array(self) -> np.ndarray:
        if self._ids_dirty:
            self._np_ids = np.asarray(self._ids, dtype=object)
            self._ids_dirty = False
        return self._np_ids

    # ------------------------------------------------------------------ search
    def search(self, text: str = "", tab: str | None = None, campaign_id: str | None = None,
               source: str | None = None, sort: str = "priority",
               waiting_since_before: int | None = None, limit: int | None = None) -> list[str]:
        if tab is not None and tab not in TABS:
            raise ValueError(f"unknown tab {tab!r}; expected one of {TABS}")
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
        self.refresh()
        with self._lock:
            if tab == "callbacks" and sort == "priority":
                sort = "callback"  # due and overdue first
            cat = self._np["cat"]
            if tab == "todo":
                mask = cat == _CAT_TODO
            elif tab == "callbacks":
                mask = cat == _CAT_CALLBACK
            elif tab == "done":
                mask = cat == _CAT_DONE
            else:
                mask = cat != _CAT_DELETED
            if campaign_id is not None:
                mask &= self._np["campaign"] == self._codes["campaign"].get(campaign_id, -1)
            if source is not None:
                mask &= self._np["source"] == self._codes["source"].get(source, -1)
            if waiting_since_before is not None:  # new, never tried, received before this (epoch s)
                mask &= self._np["fresh"] <= waiting_since_before
            q = (text or "").strip().lower()
            if q:
                mask &= self._text_hits(q)
            order = self._order(sort)
            positions = order[mask[order]]
            if limit is not None:
                positions = positions[:limit]  # e.g. the next-lead candidates: 200, not 70,000 strings
            return self._ids_array()[positions].tolist()

    def _set_bits(self, pos: int, key: str) -> None:
        """Keep every character's bits right for a lead whose key changed."""
        byte, bit = pos >> 3, np.uint8(0x80 >> (pos & 7))
        for c, bits in self._bits.items():
            if c in key:
                bits[byte] |= bit
            else:
                bits[byte] &= ~bit

    def _char_mask(self, c: str) -> np.ndarray:
        """Which keys contain ``c`` (bool per position), from its bits (made now if new)."""
        n = len(self._keys)
        bits = self._bits.get(c)
        if bits is None:
            bits = np.packbits(np.array([c in k for k in self._keys], dtype=bool))
            if len(self._bits) >= len(_BIT_CHARS) + 64:  # bounded: drop the other characters
                self._bits = {k: v for k, v in self._bits.items() if k in _BIT_CHARS}
            self._bits[c] = bits
        return np.unpackbits(bits, count=n).view(bool)

    def _text_hits(self, q: str) -> np.ndarray:
        """Bool mask of the positions whose key contains ``q`` (or a number ending in it)."""
        compact = q.replace(" ", "")
        keys = self._keys
        chars = set(compact)
        prev = self._last_query
        narrowing = prev is not None and compact.startswith(prev[0]) and len(prev[1]) == len(keys)
        if narrowing:
            chars -= set(prev[0])  # the previous hits contain those already
        # Keys that contain every character of the text (exact for one character).
        mask = prev[1] if narrowing else None  # one more character narrows the previous hits
        for c in chars:
            if c in self._bits or len(compact) == 1:
                m = self._char_mask(c)
                mask = m if mask is None else mask & m
        if len(compact) > 1:
            # The substring check, on the remaining candidates only. A list comprehension:
            # measured faster here than map(contains)/fromiter over an itemgetter subset.
            needle = compact
            if mask is None or np.count_nonzero(mask) > len(keys) // 2:
                # Most keys are candidates ("鄂" is in every plate): one plain pass is cheaper
                # than listing the candidates' positions first.
                found = [i for i, k in enumerate(keys) if needle in k]
            else:
                found = [i for i in np.flatnonzero(mask).tolist() if needle in keys[i]]
            mask = np.zeros(len(keys), dtype=bool)
            mask[found] = True
        self._last_query = (compact, mask)
        if compact.isdigit() and len(compact) >= 4:
            tail = self._tail_hits(compact)
            if tail:
                mask = mask.copy()
                mask[list(tail)] = True
        return mask

    def _tail_hits(self, q: str) -> set[int]:
        """Leads with a number ending in ``q`` (4+ digits)."""
        found: set[int] = set()
        t = int(q[-4:])
        qb = q.encode("ascii")
        lo = int(np.searchsorted(self._ph_tail, t, "left"))
        hi = int(np.searchsorted(self._ph_tail, t, "right"))
        override = self._ph_override
        for k in range(lo, hi):
            p = int(self._ph_pos[k])
            if p >= 0 and p not in override and self._ph_digits[k].endswith(qb):
                found.add(p)
        for p, digits in override.items():
            if any(d.endswith(q) for d in digits):
                found.add(p)
        return found

    def waiting_count(self, since_before: int) -> int:
        """New leads never tried that reached this device at or before ``since_before`` (epoch s)."""
        self.refresh()
        with self._lock:
            c = self._np
            return int(np.count_nonzero((c["fresh"] <= since_before) & (c["cat"] != _CAT_DELETED)))

    def __len__(self) -> int:
        return int(np.count_nonzero(self._np["cat"] != _CAT_DELETED))


_BIT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _ascii_bits(keys: list[str]) -> dict[str, np.ndarray]:
    """Packed bits per letter and digit: does key i contain it? One vectorised pass over the
    UTF-8 bytes of _CHUNK keys at a time (a few MB of transient memory; the bytes of a
    multi-byte character never equal an ASCII letter or digit)."""
    if not keys:
        return {}
    chars = sorted(_BIT_CHARS)
    lut = np.full(256, len(chars), dtype=np.uint8)  # byte → its letter/digit's row, or "none"
    for row, c in enumerate(chars):
        lut[ord(c)] = row
    parts: list[np.ndarray] = []
    for lo in range(0, len(keys), _CHUNK):
        chunk = keys[lo : lo + _CHUNK]
        data = [k.encode() for k in chunk]  # UTF-8: a multi-byte character's bytes are all ≥ 0x80
        lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
        codes = lut[np.frombuffer(b"".join(data), dtype=np.uint8)]
        del data
        key_of = np.repeat(np.arange(len(chunk), dtype=np.int32), lengths)
        hit = codes < len(chars)
        table = np.zeros((len(chars), len(chunk)), dtype=bool)
        table[codes[hit], key_of[hit]] = True
        parts.append(np.packbits(table, axis=1))  # byte-aligned: _CHUNK is a multiple of 8
    packed = np.concatenate(parts, axis=1)
    return {c: np.ascontiguousarray(packed[row]) for row, c in enumerate(chars)}


def _release_freed_memory() -> None:
    """Ask glibc to return freed heap pages to the OS (they'd count as RSS for the whole session)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to do
            pass


def _key_with_pinyin(key: str, name: str) -> str:
    from core.pinyin import name_keys  # lazy: pypinyin costs ~0.2 s to import

    pinyin, initials = name_keys(name)
    parts = key.split("\t")
    parts[1], parts[2] = pinyin, initials
    return "\t".join(parts)
