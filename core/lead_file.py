"""Lead files: parse CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX files.

Headers may be Chinese or English (外部编号/external_id, 姓名/name, 电话/手机/
phone — several numbers in one cell separated by ; / , or extra phone
columns — 性别, 城市, 车牌, 车型, 保单到期日, 上年保费, 来源, 优先级, 备注).
Good rows are kept, bad rows are reported with their line number and the
reason; re-importing the same file updates leads by external id and never
duplicates them. A file that cannot be read at all raises ImportFileError
with one sentence for the user.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import phone as phone_mod
from core.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)  # slots: a 200,000-row list holds 200,000 of these
class LeadInput:
    """One lead to import or upsert (already validated; numbers in E.164)."""

    external_id: str
    name: str
    phones: tuple[str, ...]
    gender: str = ""
    city: str = ""
    plate: str = ""
    vehicle: str = ""
    policy_expiry: dt.date | None = None
    last_premium: int | None = None
    source: str = ""
    priority: int = 3
    notes: str = ""

MAX_ROWS = 500_000  # a bound, not a product limit: bigger files should be split
HEADER_SEARCH_ROWS = 10

# Canonical field → accepted header spellings (compared after lower-casing and removing spaces/_/-).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("外部编号", "编号", "客户编号", "名单编号", "externalid", "id", "leadid", "customerid", "ref"),
    "name": ("姓名", "客户姓名", "名字", "客户名称", "name", "customername", "fullname"),
    "phone": ("电话", "手机", "手机号", "手机号码", "电话号码", "联系电话", "号码", "phone", "mobile", "tel",
              "phones", "phonenumber", "telephone", "cell"),
    "gender": ("性别", "gender", "sex"),
    "city": ("城市", "所在城市", "地区", "city"),
    "plate": ("车牌", "车牌号", "车牌号码", "plate", "licenseplate", "platenumber"),
    "vehicle": ("车型", "品牌车型", "车辆", "vehicle", "model", "carmodel"),
    "policy_expiry": ("保单到期日", "到期日", "保险到期日", "到期日期", "policyexpiry", "expiry", "expirydate",
                      "renewaldate"),
    "last_premium": ("上年保费", "保费", "去年保费", "lastpremium", "premium"),
    "source": ("来源", "数据来源", "名单来源", "source"),
    "priority": ("优先级", "priority"),
    "notes": ("备注", "说明", "notes", "note", "remark", "remarks", "comment"),
}
# Extra phone columns: 电话2, 备用电话, phone2, other_phone…
_EXTRA_PHONE = re.compile(r"^(电话|手机|手机号|号码|phone|mobile|tel)\d+$|^(备用|其他|第二)(电话|手机|号码)$|"
                          r"^(other|alt|alternate|second)(phone|mobile|tel)$")
_PHONE_SPLIT = re.compile(r"[;/,，；、|]+")
_GENDER = {"男": "男", "女": "女", "m": "男", "male": "男", "f": "女", "female": "女", "先生": "男", "女士": "女"}
_PRIORITY_WORDS = {"高": 1, "中": 2, "低": 3, "high": 1, "medium": 2, "low": 3}


class ImportFileError(UserError):
    """The file cannot be read at all; ``str()`` is one sentence for the user, ``code`` and
    ``params`` say the same for a translated message."""

    code = "import.unreadable"


@dataclass(frozen=True, slots=True)
class SkippedRow:
    line: int
    reason: str


@dataclass
class ParsedFile:
    leads: list[tuple[int, LeadInput]] = field(default_factory=list)  # (line, lead)
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[SkippedRow] = field(default_factory=list)  # imported, but something was dropped


@dataclass(frozen=True)
class ImportResult:
    campaign_id: str
    imported: int
    inserted: int
    updated: int
    skipped: tuple[SkippedRow, ...]
    warnings: tuple[SkippedRow, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": [{"line": s.line, "reason": s.reason} for s in self.skipped]}


# --------------------------------------------------------------------- reading
def _norm_header(h: Any) -> str:
    return re.sub(r"[\s_\-:：()（）]", "", str(h or "")).lower().lstrip("\ufeff")


def _map_headers(headers: list[Any]) -> tuple[dict[str, int], list[int]]:
    lookup = {alias.lower(): canon for canon, aliases in HEADER_ALIASES.items() for alias in aliases}
    mapping: dict[str, int] = {}
    extra_phones: list[int] = []
    for i, h in enumerate(headers):
        key = _norm_header(h)
        canon = lookup.get(key)
        if canon and canon not in mapping:
            mapping[canon] = i
        elif canon == "phone" or _EXTRA_PHONE.match(key):
            extra_phones.append(i)
    return mapping, extra_phones


_CHUNK = 1 << 20


def _looks_utf16(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` for UTF-16 text without a BOM (every other byte of ASCII is NUL)."""
    sample = head[:4096] if len(head) % 2 == 0 else head[:4095]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _fits(path: Path, encoding: str, skip: int) -> bool:
    """Does the whole file decode as ``encoding``? Checked chunk by chunk, keeping no text."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            fh.seek(skip)
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(path: Path) -> tuple[str, int]:
    """(codec, bytes of BOM to skip) of a text file, or ImportFileError. UTF-8 (with or without a
    BOM), UTF-16 (Excel's "Unicode text"), else GB18030 — a superset of GBK and GB2312."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00
        candidates = [("utf-32", 0)]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", 0)]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", 0)]  # the codec reads the BOM itself
    elif (guess := _looks_utf16(head)) is not None:
        candidates = [(guess, 0)]
    elif b"\x00" in head:
        raise ImportFileError(f"{path.name} is not a CSV text file or an .xlsx workbook.",
                              code="import.not_text", params={"file": path.name})
    else:
        candidates = [("utf-8", 0), ("gb18030", 0)]
    for encoding, skip in candidates:
        if _fits(path, encoding, skip):
            return encoding, skip
    raise ImportFileError(f"{path.name} is neither UTF-8, UTF-16 nor GBK text, so its characters cannot be read.",
                          code="import.encoding", params={"file": path.name})


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    encoding, _ = _encoding(path)
    # Streamed from the file (the encoding was checked above without keeping the text), so a
    # 200,000-row list costs the parsed leads' memory, not three copies of the file.
    with path.open("r", encoding=encoding, newline="") as fh:
        # The delimiter is whichever of , ; TAB the header line uses most (csv.Sniffer guesses
        # badly on Chinese text). Quoted fields keep their commas either way.
        start_pos = fh.tell()
        first_line = ""
        for _ in range(HEADER_SEARCH_ROWS):
            line = fh.readline()
            if not line or line.strip():
                first_line = line
                break
        fh.seek(start_pos)
        delimiter = max((",", ";", "\t"), key=first_line.count)
        reader = csv.reader(fh, delimiter=delimiter)
        start = 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign zip
        if not isinstance(exc, (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, AttributeError,
                                IndexError, EOFError)) and type(exc).__module__.split(".")[0] not in (
                                    "openpyxl", "xml", "zipfile"):
            raise
        raise ImportFileError(f"{path.name} is not a readable .xlsx workbook ({type(exc).__name__}).",
                              code="import.bad_xlsx", params={"file": path.name}) from None
    try:
        ws = wb.worksheets[0]
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield i, list(row)
    finally:
        wb.close()


def read_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) for every row, header included."""
    if not path.exists():
        raise ImportFileError(f"{path} does not exist.", code="import.missing", params={"file": str(path)})
    if not path.is_file():
        raise ImportFileError(f"{path} is not a file.", code="import.not_a_file", params={"file": str(path)})
    try:
        head = path.open("rb").read(4)
    except OSError as exc:
        raise ImportFileError(f"{path.name} cannot be opened ({exc.strerror}).", code="import.cannot_open",
                              params={"file": path.name, "reason": exc.strerror or ""}) from None
    if path.suffix.lower() in (".xlsx", ".xlsm") or head.startswith(b"PK\x03\x04"):
        return _guarded(_xlsx_rows(path), path, "import.bad_xlsx")
    if path.suffix.lower() == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(f"{path.name} is an old .xls workbook; save it as .xlsx or CSV and import again.",
                              code="import.old_xls", params={"file": path.name})
    return _guarded(_csv_rows(path), path, "import.bad_csv")


def _guarded(rows: Iterator[tuple[int, list[Any]]], path: Path, code: str) -> Iterator[tuple[int, list[Any]]]:
    """The reader's own failures midway (a damaged sheet's XML, a broken quote, an I/O error)
    as one ImportFileError: the caller has stored nothing yet, so nothing changes."""
    try:
        yield from rows
    except ImportFileError:
        raise
    except Exception as exc:  # csv, openpyxl, zipfile and the XML parser each raise their own
        if not isinstance(exc, (csv.Error, UnicodeError, OSError, ValueError, LookupError, TypeError, EOFError)) \
                and type(exc).__module__.split(".")[0] not in ("openpyxl", "xml", "zipfile", "csv"):
            raise
        reason = type(exc).__name__ if code == "import.bad_xlsx" else str(exc)[:200]
        raise ImportFileError(f"{path.name} cannot be read ({type(exc).__name__}: {exc}).", code=code,
                              params={"file": path.name, "reason": reason}) from None


# --------------------------------------------------------------------- parsing
def _cell(row: list[Any], idx: int | None) -> Any:
    if idx is None or idx >= len(row):
        return None
    value = row[idx]
    return value.strip() if isinstance(value, str) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?", text) or \
        re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not m:
        raise ValueError(text)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _parse_premium(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return round(value)
    text = re.sub(r"[,，\s元¥￥]|CNY|RMB", "", _text(value), flags=re.I)
    return round(float(text))


def _parse_priority(value: Any) -> int:
    if value in (None, ""):
        return 3
    text = _text(value).lower()
    if text in _PRIORITY_WORDS:
        return _PRIORITY_WORDS[text]
    number = int(float(text))
    if not 1 <= number <= 9:
        raise ValueError(text)
    return number


def _split_phones(values: list[Any]) -> list[str]:
    parts: list[str] = []
    for v in values:
        text = _text(v)
        if text:
            parts += [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]
    return parts


def parse_file(path: Path) -> ParsedFile:
    rows = read_rows(Path(path))
    # The header is the first row naming a name and a phone column; lists exported from
    # Excel often start with a title row ("2026年续保名单") or blank lines.
    first_seen: list[Any] | None = None
    mapping: dict[str, int] = {}
    extra_phones: list[int] = []
    try:
        for _ in range(HEADER_SEARCH_ROWS):
            candidate = next(rows, None)
            if candidate is None:
                break
            if not any(_text(c) for c in candidate[1]):
                continue
            first_seen = first_seen or candidate[1]
            mapping, extra_phones = _map_headers(candidate[1])
            if "name" in mapping and "phone" in mapping:
                break
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{Path(path).name} is not a readable CSV file ({exc}).", code="import.bad_csv",
                              params={"file": Path(path).name, "reason": str(exc)}) from None
    if first_seen is None:
        raise ImportFileError(f"{Path(path).name} is empty.", code="import.empty", params={"file": Path(path).name})
    missing = [f for f in ("name", "phone") if f not in mapping]
    if missing:
        need = {"name": "姓名/name", "phone": "电话/phone"}
        raise ImportFileError(
            f"{Path(path).name} has no {' and no '.join(need[f] for f in missing)} column in its header row.",
            code="import.missing_columns", params={"file": Path(path).name, "columns": missing},
        )
    out = ParsedFile()
    seen_ids: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    count = 0
    try:
        for line, row in rows:
            count += 1
            if count > MAX_ROWS:
                raise ImportFileError(f"{Path(path).name} has more than {MAX_ROWS} rows; split it and import the parts.",
                                      code="import.too_many_rows",
                                      params={"file": Path(path).name, "max_rows": MAX_ROWS})
            if not any(_text(c) for c in row):
                continue
            parsed = _parse_row(line, row, mapping, extra_phones, seen_ids, seen_numbers, out)
            if parsed is not None:
                out.leads.append((line, parsed))
    except csv.Error as exc:
        raise ImportFileError(f"{Path(path).name} is not a readable CSV file ({exc}).", code="import.bad_csv",
                              params={"file": Path(path).name, "reason": str(exc)}) from None
    return out


def _parse_row(line: int, row: list[Any], mapping: dict[str, int], extra_phones: list[int],
               seen_ids: dict[str, int], seen_numbers: dict[str, int], out: ParsedFile) -> LeadInput | None:
    def get(name: str) -> Any:
        return _cell(row, mapping.get(name))

    def skip(reason: str) -> None:
        out.skipped.append(SkippedRow(line, reason))

    name = _text(get("name"))
    if not name:
        skip("missing name")
        return None
    raw_numbers = _split_phones([get("phone"), *(_cell(row, i) for i in extra_phones)])
    if not raw_numbers:
        skip("missing phone number")
        return None
    numbers, bad = [], []
    for raw in raw_numbers:
        try:
            numbers.append(phone_mod.normalise(raw))
        except phone_mod.PhoneError as exc:
            bad.append(str(exc))
    if not numbers:
        skip(f"bad phone number: {bad[0]}")
        return None
    if bad:
        out.warnings.append(SkippedRow(line, f"{len(bad)} bad phone number(s) dropped: {bad[0]}"))
    numbers = list(dict.fromkeys(numbers))
    external_id = _text(get("external_id"))
    auto_id = not external_id
    if auto_id:
        # Stable id from the row's content, so re-importing the same file stays idempotent.
        external_id = "auto-" + hashlib.sha1(f"{name}|{numbers[0]}".encode()).hexdigest()[:12]
    if external_id in seen_ids:
        first = seen_ids[external_id]
        skip(f"duplicate row (same name and phone number as line {first})" if auto_id
             else f"duplicate external id {external_id} (first on line {first})")
        return None
    for number in numbers:
        if number in seen_numbers:
            skip(f"duplicate phone number {phone_mod.mask(number)} (first on line {seen_numbers[number]})")
            return None
    try:
        expiry = _parse_date(get("policy_expiry"))
    except ValueError:
        skip(f"bad policy expiry date {_text(get('policy_expiry'))!r}")
        return None
    try:
        premium = _parse_premium(get("last_premium"))
    except ValueError:
        skip(f"bad premium {_text(get('last_premium'))!r}")
        return None
    try:
        priority = _parse_priority(get("priority"))
    except ValueError:
        skip(f"bad priority {_text(get('priority'))!r} (use 1–9 or 高/中/低)")
        return None
    seen_ids[external_id] = line
    for number in numbers:
        seen_numbers[number] = line
    gender = _text(get("gender"))
    return LeadInput(
        external_id=external_id, name=name, phones=tuple(numbers),
        gender=_GENDER.get(gender.lower(), gender), city=_text(get("city")),
        plate=_text(get("plate")).upper().replace(" ", ""), vehicle=_text(get("vehicle")),
        policy_expiry=expiry, last_premium=premium, source=_text(get("source")), priority=priority,
        notes=_text(get("notes")),
    )
