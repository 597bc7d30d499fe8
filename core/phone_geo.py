"""归属地 and 运营商 for Chinese numbers without loading phonenumbers' geocoder.

``phonenumbers.geocoder`` imports every locale's data for every country:
~100 MB of RAM and ~0.5 s, for a lookup the customer card makes once per
lead. ``core/data/cn_phone_zh.bin`` holds only the +86 prefixes in Chinese
(derived from phonenumbers' data, Apache-2.0): per kind and prefix length, the
sorted prefixes as little-endian uint32 and their name indexes as uint16 (790 KB).
Only the names and every 1024th prefix are held in memory (~15 KB); a lookup
bisects those, then reads one 4 KB block of prefixes and its 2-byte name index
from the file. The text table it replaced took 4–7 MB of heap after start.
Regenerate it after upgrading phonenumbers with ``python -m core.phone_geo
--rebuild``; a unit test compares every prefix with phonenumbers' data.
"""

from __future__ import annotations

import struct
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "cn_phone_zh.bin"
MAGIC = b"SMGEO\x00\x01\x00"  # format version 1
_HEADER = struct.Struct("<8sIII")  # magic, table count, names offset, names size
_ENTRY = struct.Struct("<BBHIII")  # kind, prefix length, pad, count, keys offset, values offset
_KINDS = ("geo", "carrier")

BLOCK = 1024  # prefixes per block read: 4 KB of keys, one page

_lock = threading.Lock()
_reader: _Reader | None = None


class _Table:
    """One (kind, prefix length) table in the file: every BLOCK-th key kept in memory (the
    fences, ~110 for the biggest table), the rest read a block at a time when looked up."""

    __slots__ = ("count", "fences", "keys_at", "length", "vals_at")

    def __init__(self, length: int, count: int, keys_at: int, vals_at: int, fences: array) -> None:
        self.length, self.count, self.keys_at, self.vals_at, self.fences = length, count, keys_at, vals_at, fences


class _Reader:
    """The open file and its directory. Lookups read 4 KB of keys and 2 bytes of name index
    per prefix length from the file (page cache; nothing of it stays in the process): ~10 µs.
    Mapping the file instead (mmap) left ~0.8 MB resident after one lookup, because the
    kernel maps 64 KB around every page a bisection touches."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb", buffering=0)  # kept open for the process's lifetime
        self._io = threading.Lock()
        head = self._read(0, _HEADER.size)
        magic, count, names_at, names_size = _HEADER.unpack(head)
        if magic != MAGIC or count > 64:
            raise ValueError(f"{path.name}: not a Seatmate prefix table (rebuild it)")
        self.names = self._read(names_at, names_size).decode("utf-8").split("\n")
        self.tables: dict[str, list[_Table]] = {kind: [] for kind in _KINDS}
        directory = self._read(_HEADER.size, _ENTRY.size * count)
        for i in range(count):  # bounded: count ≤ 64
            kind, length, _, n, keys_at, vals_at = _ENTRY.unpack_from(directory, i * _ENTRY.size)
            fences = _uint(self._read(keys_at, 4 * n), "I")[::BLOCK]
            self.tables[_KINDS[kind]].append(_Table(length, n, keys_at, vals_at, fences))
        for tables in self.tables.values():
            tables.sort(key=lambda t: -t.length)  # longest prefix first

    def _read(self, at: int, size: int) -> bytes:
        with self._io:  # seek + read: os.pread does not exist on Windows
            self._file.seek(at)
            data = self._file.read(size)
        if len(data) != size:
            raise ValueError(f"{DATA_FILE.name} is truncated (rebuild it)")
        return data

    def find(self, table: _Table, key: int) -> int:
        """The name index of ``key`` in ``table``, or -1."""
        block = bisect_right(table.fences, key) - 1
        if block < 0:
            return -1
        start = block * BLOCK
        n = min(BLOCK, table.count - start)
        keys = _uint(self._read(table.keys_at + 4 * start, 4 * n), "I")
        i = bisect_left(keys, key)
        if i == n or keys[i] != key:
            return -1
        return int.from_bytes(self._read(table.vals_at + 2 * (start + i), 2), "little")


def _uint(data: bytes, fmt: str) -> array:
    """Little-endian unsigned ints (the file's order) as an array of this machine's."""
    arr = array(fmt, data)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr


def _load() -> _Reader:
    global _reader
    with _lock:
        if _reader is None:
            _reader = _Reader(DATA_FILE)
        return _reader


def _longest_prefix(kind: str, digits: str) -> str:
    reader = _load()
    for table in reader.tables[kind]:  # at most 6 prefix lengths
        if len(digits) >= table.length:
            index = reader.find(table, int(digits[:table.length]))
            if index >= 0:
                return reader.names[index]
    return ""


@lru_cache(maxsize=4096)
def lookup(e164: str) -> tuple[str, str]:
    """("湖北省宜昌市", "中国移动") for a +86 number; ("", "") when unknown or not Chinese."""
    if not e164.startswith("+86") or not e164[1:].isdigit():
        return "", ""
    digits = e164[1:]  # "86…": the data's prefixes include the country code
    region = _longest_prefix("geo", digits) or "中国"  # phonenumbers' fallback: the country
    nsn = digits[2:]
    is_mobile = len(nsn) == 11 and nsn.startswith("1")
    carrier = _longest_prefix("carrier", digits) if is_mobile else ""
    return region, carrier


def source_entries() -> list[tuple[str, str, str]]:
    """(kind, prefix, name) for every +86 prefix with a Chinese name in phonenumbers' data."""
    from phonenumbers.carrierdata import CARRIER_DATA
    from phonenumbers.geodata import GEOCODE_DATA

    entries = [("geo", k, v["zh"]) for k, v in GEOCODE_DATA.items() if k.startswith("86") and v.get("zh")]
    return entries + [("carrier", k, v["zh"]) for k, v in CARRIER_DATA.items()
                      if k.startswith("86") and v.get("zh")]


def encode(entries: list[tuple[str, str, str]]) -> bytes:
    """The file's bytes. Layout (little-endian): header ``MAGIC, table count, names offset,
    names size``; one 16-byte entry per (kind, prefix length) ``kind, length, 0, count, keys
    offset, values offset``; the names (UTF-8, one per line); then per table the sorted prefixes
    (uint32: 9 digits fit) and the index of each one's name (uint16), each array aligned to 4."""
    names = sorted({name for _, _, name in entries})
    if len(names) > 0xFFFF:
        raise ValueError("too many names for uint16 indexes")
    index = {name: i for i, name in enumerate(names)}
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for kind, key, name in entries:
        if not key.isdigit() or int(key) > 0xFFFFFFFF:
            raise ValueError(f"prefix {key!r} does not fit in uint32")
        groups.setdefault((_KINDS.index(kind), len(key)), []).append((int(key), index[name]))
    blob = "\n".join(names).encode("utf-8")
    head = _HEADER.size + _ENTRY.size * len(groups)
    body = bytearray(blob)
    dir_entries = []
    for (kind, length), items in sorted(groups.items()):
        items.sort()
        body += b"\0" * (-(head + len(body)) % 4)
        keys_at = head + len(body)
        body += struct.pack(f"<{len(items)}I", *(k for k, _ in items))
        vals_at = head + len(body)
        body += struct.pack(f"<{len(items)}H", *(v for _, v in items))
        dir_entries.append(_ENTRY.pack(kind, length, 0, len(items), keys_at, vals_at))
    return _HEADER.pack(MAGIC, len(groups), head, len(blob)) + b"".join(dir_entries) + bytes(body)


def rebuild(path: Path = DATA_FILE) -> int:
    """Write the +86 zh subset of phonenumbers' geocoder and carrier data; returns the prefix count."""
    entries = source_entries()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(entries))
    return len(entries)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rebuild"]:
        print(f"wrote {rebuild()} prefixes to {DATA_FILE}")
    else:
        print("usage: python -m core.phone_geo --rebuild")
