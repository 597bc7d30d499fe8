"""归属地 and 运营商 for Chinese numbers without loading phonenumbers' geocoder.

``phonenumbers.geocoder`` imports every locale's data for every country:
~100 MB of RAM and ~0.5 s, for a lookup the customer card makes once per
lead. ``core/data/cn_phone_zh.tsv`` holds only the +86 prefixes in Chinese
(derived from phonenumbers' data, Apache-2.0), loaded lazily into numpy
arrays (~2 MB). Regenerate it after upgrading phonenumbers with
``python -m core.phone_geo --rebuild``; a unit test compares it with
phonenumbers on sample numbers.
"""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_FILE = Path(__file__).resolve().parent / "data" / "cn_phone_zh.tsv"
_lock = threading.Lock()
_tables: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] | None = None
_names: list[str] = []


def _load() -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """File format (tab-separated lines): ``names <n0> <n1>…`` then, per kind and prefix
    length, ``<kind> <length> <sorted keys, comma-separated> <name indexes>`` — parsed by
    numpy in a few ms, where csv rows took ~0.3 s."""
    global _tables, _names
    with _lock:
        if _tables is not None:
            return _tables
        tables: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {"geo": {}, "carrier": {}}
        names: list[str] = []
        for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if parts[0] == "names":
                names = parts[1:]
            elif parts[0] in tables:
                keys = np.fromstring(parts[2], dtype=np.int64, sep=",")
                vals = np.fromstring(parts[3], dtype=np.int32, sep=",")
                tables[parts[0]][int(parts[1])] = (keys, vals)
        _names = names
        _tables = tables
        return tables


def _longest_prefix(kind: str, digits: str) -> str:
    tables = _load()[kind]
    for length in sorted(tables, reverse=True):
        if len(digits) < length:
            continue
        keys, vals = tables[length]
        key = int(digits[:length])
        i = int(np.searchsorted(keys, key))
        if i < len(keys) and keys[i] == key:
            return _names[int(vals[i])]
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
    lines = ["names\t" + "\t".join(names)]
    for (kind, length), items in sorted(groups.items()):
        items.sort()
        lines.append(f"{kind}\t{length}\t" + ",".join(str(k) for k, _ in items) + "\t"
                     + ",".join(str(v) for _, v in items))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(pairs)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rebuild"]:
        print(f"wrote {rebuild()} rows to {DATA_FILE}")
    else:
        print("usage: python -m core.phone_geo --rebuild")
