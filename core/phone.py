"""Phone numbers: normalise, validate, mask, and say where a number is from.

This is the one place masking happens: every display of a customer's number
goes through :func:`mask`; the full E.164 form is only for dialing (see
``Repository.number_for_dial``) and for the server.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from core.errors import UserError

if TYPE_CHECKING:
    import phonenumbers


def _pn():  # the phonenumbers module
    # Imported on first real use: ~35 ms and a few MB that the start-up (masking mobile
    # numbers, handing a dial argument over) does not need.
    import phonenumbers

    return phonenumbers

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
        return _pn().parse(raw, region)
    except _pn().NumberParseException as exc:
        raise PhoneError(f"not a phone number ({exc.error_type})", code="phone.unparsable",
                         params={"reason": str(exc.error_type)}) from None


# A plain mainland mobile ("13812345678", "+86 138…", "0086…"): 11 digits 1[3-9]… (not 179…,
# which phonenumbers may read as a carrier-selection prefix). Lead files are mostly these.
_PLAIN_CN_MOBILE = re.compile(r"(?:\+86)?(1(?:[3-68-9]\d|7[0-8])\d{8})")


@lru_cache(maxsize=1)
def _cn_mobile_patterns() -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """phonenumbers' own CN general and mobile patterns, when 11 digits is a possible length of both."""
    meta = _pn().PhoneMetadata.metadata_for_region(DEFAULT_REGION)
    general, mobile = meta.general_desc, meta.mobile
    if 11 not in (general.possible_length or (11,)) or 11 not in (mobile.possible_length or ()):
        return None
    return re.compile(general.national_number_pattern), re.compile(mobile.national_number_pattern)


def _fast_cn_mobile(text: str, region: str) -> str | None:
    """E.164 of a plain mainland mobile without phonenumbers' parse (~20 µs of a lead import row).

    Only a *yes* is answered here, and only from phonenumbers' own metadata: the number's
    national digits match the CN general and mobile patterns, so ``is_valid_number`` would be
    true and E.164 is "+86" + digits. Anything else (landlines, other countries, numbers the
    metadata does not know) returns None and takes the full path, so answers are identical."""
    if region != DEFAULT_REGION:
        return None
    raw = _SEPARATORS.sub("", text.strip()) if isinstance(text, str) else ""
    if raw.startswith("0086"):
        raw = "+86" + raw[4:]
    m = _PLAIN_CN_MOBILE.fullmatch(raw)
    if m is None:
        return None
    patterns = _cn_mobile_patterns()
    nsn = m.group(1)
    if patterns is None or not (patterns[0].fullmatch(nsn) and patterns[1].fullmatch(nsn)):
        return None
    return "+86" + nsn


def normalise(text: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form ("+8613812345678") or raise :class:`PhoneError` saying why."""
    fast = _fast_cn_mobile(text, region)
    if fast is not None:
        return fast
    num = _parse(text, region)
    if not _pn().is_valid_number(num):
        digits = len(_pn().national_significant_number(num))
        raise PhoneError(f"not a valid phone number ({digits} digits)", code="phone.invalid",
                         params={"digits": digits})
    return _pn().format_number(num, _pn().PhoneNumberFormat.E164)


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
        num = _pn().parse(e164, DEFAULT_REGION)
    except _pn().NumberParseException:
        digits = re.sub(r"\D", "", e164 or "")
        return "****" + digits[-2:] if digits else "****"
    nsn = _pn().national_significant_number(num)
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
        num = _pn().parse(e164, DEFAULT_REGION)
    except _pn().NumberParseException:
        return "", ""
    from phonenumbers import carrier, geocoder

    region = geocoder.description_for_number(num, lang) or ""
    if lang.startswith("zh"):
        region = _short_region(region)
    return region, carrier.name_for_number(num, lang) or ""


def is_mobile(e164: str) -> bool:
    try:
        num = _pn().parse(e164, DEFAULT_REGION)
    except _pn().NumberParseException:
        return False
    return _pn().number_type(num) in (_pn().PhoneNumberType.MOBILE, _pn().PhoneNumberType.FIXED_LINE_OR_MOBILE)


def digits(e164: str) -> str:
    """National significant digits, used for "search by number tail" (never shown)."""
    try:
        return _pn().national_significant_number(_pn().parse(e164, DEFAULT_REGION))
    except _pn().NumberParseException:
        return re.sub(r"\D", "", e164 or "")
