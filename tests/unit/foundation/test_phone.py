from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from core import phone


@pytest.mark.parametrize("text", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
                                  "008613812345678", "+8613812345678", " 13812345678 "])
def test_normalise_variants_to_e164(text: str) -> None:
    assert phone.normalise(text) == "+8613812345678"


def test_landline_with_area_code() -> None:
    assert phone.normalise("027-87654321") == "+862787654321"
    assert phone.mask("+862787654321") == "027****4321"


@pytest.mark.parametrize("text", ["", "1380000000", "12345", "abc", "138123456789", "1381234567x"])
def test_invalid_numbers_raise_a_clear_error_without_the_number(text: str) -> None:
    with pytest.raises(phone.PhoneError) as info:
        phone.normalise(text)
    msg = str(info.value)
    assert msg
    if len(text) > 4:
        assert text not in msg
    assert not phone.is_valid(text)


def test_mask_is_the_display_form() -> None:
    assert phone.mask("+8613812345678") == "138****5678"
    assert phone.mask("+8618787366946") == "187****6946"
    assert phone.mask("+864008123123") == "400****3123"
    assert "2671" in phone.mask("+14155552671") and "555" not in phone.mask("+14155552671")


def test_region_and_carrier_in_chinese() -> None:
    assert phone.region_and_carrier("+8613032701234") == ("湖北宜昌", "中国联通")
    assert phone.region_and_carrier("+8613812345678") == ("江苏连云港", "中国移动")
    region, carrier = phone.region_and_carrier("+862787654321")
    assert region == "湖北武汉" and carrier == ""  # landlines have no carrier


def test_compact_table_agrees_with_phonenumbers() -> None:
    """core/data/cn_phone_zh.bin must stay in step with the installed phonenumbers (rebuild it if not)."""
    import phonenumbers
    from phonenumbers import carrier, geocoder

    from core.phone_geo import lookup

    rng = random.Random(7)
    prefixes = ["130", "133", "135", "138", "139", "150", "158", "166", "177", "180", "187", "189", "199"]
    numbers = [f"+86{rng.choice(prefixes)}{rng.randrange(10**8):08d}" for _ in range(400)]
    numbers += [f"+86{area}{rng.randrange(10**7, 10**8)}" for area in ("10", "21", "27", "755", "717")]
    mismatches = []
    for e164 in numbers:
        num = phonenumbers.parse(e164)
        expected = (geocoder.description_for_number(num, "zh"), carrier.name_for_number(num, "zh"))
        if phonenumbers.is_valid_number(num) and lookup(e164) != expected:
            mismatches.append((phone.mask(e164), lookup(e164), expected))
    assert not mismatches, f"run `python -m core.phone_geo --rebuild`: {mismatches[:5]}"


def test_table_file_is_what_rebuild_writes() -> None:
    """The shipped file holds exactly phonenumbers' +86 zh prefixes (else: rebuild it)."""
    from core import phone_geo

    assert phone_geo.DATA_FILE.read_bytes() == phone_geo.encode(phone_geo.source_entries())


def test_every_prefix_gives_phonenumbers_answer() -> None:
    """All 130,251 prefixes, each as a full number: the longest prefix in phonenumbers' own
    dicts decides the region and carrier, and the table must give the same."""
    from core import phone_geo

    entries = phone_geo.source_entries()
    assert len(entries) > 100_000
    by_kind: dict[str, dict[str, str]] = {"geo": {}, "carrier": {}}
    for kind, key, name in entries:
        by_kind[kind][key] = name

    def expected(kind: str, digits: str) -> str:
        return next((by_kind[kind][digits[:n]] for n in range(9, 3, -1) if digits[:n] in by_kind[kind]), "")

    rng = random.Random(16)
    wrong = []
    for _kind, key, _ in entries:
        digits = key + f"{rng.randrange(10 ** (13 - len(key))):0{13 - len(key)}d}"
        region, carrier = phone_geo.lookup.__wrapped__("+" + digits)
        mobile = digits[2] == "1"
        want = (expected("geo", digits) or "中国", expected("carrier", digits) if mobile else "")
        if (region, carrier) != want:
            wrong.append((phone.mask("+" + digits), (region, carrier), want))
    assert not wrong, wrong[:5]
    assert phone_geo.lookup("+8613812345678") == ("江苏省连云港市", "中国移动")
    assert phone_geo.lookup("+1650253000") == ("", "")


_HEAP = r"""
import json, random, tracemalloc
tracemalloc.start()
from core import phone_geo
before = tracemalloc.get_traced_memory()[0]
for i in range(300):
    phone_geo.lookup("+86" + random.Random(i).choice("135789") + f"{random.Random(i).randrange(10**9):09d}")
print(json.dumps({"heap_kb": (tracemalloc.get_traced_memory()[0] - before) // 1024,
                  "names": len(phone_geo._load().names)}))
"""


def test_tables_stay_out_of_the_heap() -> None:
    """Loading the tables and 300 lookups add < 0.5 MB to the Python heap (the text table: 4.4 MB)."""
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", _HEAP], cwd=root, capture_output=True, text=True,
                         timeout=60, check=True)
    result = json.loads(out.stdout)
    assert result["names"] > 300
    assert result["heap_kb"] < 512, result
