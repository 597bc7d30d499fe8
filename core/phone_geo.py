"""归属地 and 运营商 for Chinese numbers without loading phonenumbers' geocoder.

``phonenumbers.geocoder`` imports every locale's data for every country:
~100 MB of RAM and ~0.5 s, for a lookup the customer card makes once per
lead. ``core/data/cn_phone_zh.tsv`` holds only the +86 prefixes in Chinese
(derived from phonenumbers' data, Apache-2.0), loaded lazily as fixed-width digit strings
(~1.5 MB, a few ms: no per-prefix objects, no numpy) searched by bisection. Regenerate it after upgrading phonenumbers with
``python -m core.phone_geo --rebuild``; a unit test compares it with
phonenumbers on sample numbers.
"""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "cn_phone_zh.tsv"
_lock = threading.Lock()
_tables: dict[str, dict[int, tuple[str, str]]] | None = None
_names: list[str] = []
_width = 1  # digits per name index in the file (from the number of names)


def _index_width(names: list[str]) -> int:
    return len(str(max(len(names) - 1, 0)))


def _load() -> dict[str, dict[int, tuple[str, str]]]:
    """File format (tab-separated lines): ``names <n0> <n1>…`` then, per kind and prefix
    length L, ``<kind> <L> <keys> <name indexes>``: the sorted keys as one string of L-digit
    keys, the indexes as one string of fixed-width (zero-padded) numbers. Kept as they are read
    (~5 ms for the 130,000 prefixes; a list of ints took ~50 ms, csv rows ~0.3 s)."""
    global _tables, _names, _width
    with _lock:
        if _tables is not None:
            return _tables
        tables: dict[str, dict[int, tuple[str, str]]] = {"geo": {}, "carrier": {}}
        names: list[str] = []
        for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if parts[0] == "names":
                names = parts[1:]
            elif parts[0] in tables:
                tables[parts[0]][int(parts[1])] = (parts[2], parts[3])
        _names = names
        _width = _index_width(names)
        _tables = tables
        return tables


def _find(keys: str, length: int, key: str) -> int:
    """Position of ``key`` among the sorted ``length``-digit keys in ``keys``, or -1 (equal-length
    digit strings sort as their numbers do)."""
    lo, hi = 0, len(keys) // length
    while lo < hi:  # bounded: log2(count) steps
        mid = (lo + hi) // 2
        if keys[mid * length:(mid + 1) * length] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if keys[lo * length:(lo + 1) * length] == key else -1


def _longest_prefix(kind: str, digits: str) -> str:
    tables = _load()[kind]
    for length in sorted(tables, reverse=True):
        if len(digits) < length:
            continue
        keys, vals = tables[length]
        i = _find(keys, length, digits[:length])
        if i >= 0:
            return _names[int(vals[i * _width:(i + 1) * _width])]
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


def rebuild(path: Path = DATA_FILE) -> int:
    """Write the +86 zh subset of phonenumbers' geocoder and carrier data; returns the prefix count."""
    from phonenumbers.carrierdata import CARRIER_DATA
    from phonenumbers.geodata import GEOCODE_DATA

    pairs = [("geo", k, v["zh"]) for k, v in GEOCODE_DATA.items() if k.startswith("86") and v.get("zh")]
    pairs += [("carrier", k, v["zh"]) for k, v in CARRIER_DATA.items() if k.startswith("86") and v.get("zh")]
    names = sorted({name for _, _, name in pairs})
    index = {name: i for i, name in enumerate(names)}
    groups: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for kind, key, name in pairs:
        groups.setdefault((kind, len(key)), []).append((int(key), index[name]))
    width = _index_width(names)
    lines = ["names\t" + "\t".join(names)]
    for (kind, length), items in sorted(groups.items()):
        items.sort()
        lines.append(f"{kind}\t{length}\t" + "".join(str(k) for k, _ in items) + "\t"
                     + "".join(f"{v:0{width}d}" for _, v in items))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(pairs)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rebuild"]:
        print(f"wrote {rebuild()} rows to {DATA_FILE}")
    else:
        print("usage: python -m core.phone_geo --rebuild")
