"""Phone numbers: normalise, validate, mask, and say where a number is from.

This is the one place masking happens: every display of a customer's number
goes through :func:`mask`; the full E.164 form is only for dialing (see
``Repository.number_for_dial``) and for the server.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from core.errors import UserError

DEFAULT_REGION = "CN"

# Provinces and autonomous regions as phonenumbers' zh geocoder spells them,
# and the short name agents use ("湖北省宜昌市" → "湖北宜昌").
_PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_SEPARATORS = re.compile(r"[\s\-().·]")


class PhoneError(UserError, ValueError):
    """A number we cannot use. Neither the message nor ``params`` contains the full number."""

    code = "phone.invalid"


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    raw = _SEPARATORS.sub("", str(text or "").strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw:
        raise PhoneError("empty phone number", code="phone.empty")
    if not re.fullmatch(r"\+?\d+", raw):
        raise PhoneError("phone number contains characters other than digits", code="phone.not_digits")
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number ({exc.error_type})", code="phone.unparsable",
                         params={"reason": str(exc.error_type)}) from None


def normalise(text: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form ("+8613812345678") or raise :class:`PhoneError` saying why."""
    num = _parse(text, region)
    if not phonenumbers.is_valid_number(num):
        digits = len(phonenumbers.national_significant_number(num))
        raise PhoneError(f"not a valid phone number ({digits} digits)", code="phone.invalid",
                         params={"digits": digits})
    return phonenumbers.format_number(num, PhoneNumberFormat.E164)


def is_valid(text: str, region: str = DEFAULT_REGION) -> bool:
    try:
        normalise(text, region)
    except PhoneError:
        return False
    return True


@lru_cache(maxsize=4096)
def mask(e164: str) -> str:
    """"+8613812345678" → "138****5678"; landlines keep the area code ("027****4321")."""
    if e164 and len(e164) == 14 and e164.startswith("+861") and e164[4] in "3456789" and e164[4:].isdigit():
        # A Chinese mobile number in E.164 (most leads): what phonenumbers would give, without
        # the ~15 µs parse — a page of 50 new rows per search keystroke.
        return f"{e164[3:6]}****{e164[-4:]}"
    try:
        num = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        digits = re.sub(r"\D", "", e164 or "")
        return "****" + digits[-2:] if digits else "****"
    nsn = phonenumbers.national_significant_number(num)
    if num.country_code == 86:
        if len(nsn) == 11 and nsn.startswith("1"):  # mobile
            return f"{nsn[:3]}****{nsn[-4:]}"
        if nsn[:3] in ("400", "800"):  # service numbers: no area code
            return f"{nsn[:3]}****{nsn[-4:]}"
        # Fixed line: national prefix 0 + area code (2 or 3 digits) stays readable.
        area_len = 2 if nsn[:1] in "12" else 3
        if len(nsn) > area_len + 4:
            return f"0{nsn[:area_len]}****{nsn[-4:]}"
        return f"****{nsn[-4:]}" if len(nsn) > 4 else "****"
    if len(nsn) >= 8:
        return f"+{num.country_code} {nsn[:2]}****{nsn[-4:]}"
    return f"+{num.country_code} ****{nsn[-2:]}"


def _short_region(desc: str) -> str:
    for long, short in _PROVINCE_SHORT.items():
        if desc.startswith(long):
            rest = desc[len(long):]
            return short + rest.removesuffix("市")
    if "省" in desc:
        prov, _, rest = desc.partition("省")
        return prov + rest.removesuffix("市")
    return desc.removesuffix("市")  # 北京市 / 上海市 …


@lru_cache(maxsize=4096)
def region_and_carrier(e164: str, lang: str = "zh") -> tuple[str, str]:
    """Home region and carrier (归属地, 运营商), e.g. ("湖北宜昌", "中国移动"); "" when unknown.

    Chinese numbers in Chinese use the compact table in core.phone_geo; anything
    else loads phonenumbers' geocoder (~100 MB, so only when really needed).
    """
    if lang.startswith("zh") and e164.startswith("+86"):
        from core.phone_geo import lookup

        region, carrier_name = lookup(e164)
        return _short_region(region), carrier_name
    try:
        num = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return "", ""
    from phonenumbers import carrier, geocoder

    region = geocoder.description_for_number(num, lang) or ""
    if lang.startswith("zh"):
        region = _short_region(region)
    return region, carrier.name_for_number(num, lang) or ""


def is_mobile(e164: str) -> bool:
    try:
        num = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(num) in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def digits(e164: str) -> str:
    """National significant digits, used for "search by number tail" (never shown)."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(e164, DEFAULT_REGION))
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", e164 or "")
