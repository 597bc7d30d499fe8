from __future__ import annotations

import random

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
    """core/data/cn_phone_zh.csv must stay in step with the installed phonenumbers (rebuild it if not)."""
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
