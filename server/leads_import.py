"""Parse a lead list (CSV in UTF-8 or GBK, or XLSX; Chinese or English headers)
into clean rows plus a row-level error report. Pure: no database here.

The caller (server/admin.py) upserts rows by (campaign, external_id), so
importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.phone import PhoneError, normalise

# Header spellings seen in branch spreadsheets → our field names.
HEADERS: dict[str, str] = {
    "external_id": "external_id", "id": "external_id", "编号": "external_id", "客户编号": "external_id",
    "名单编号": "external_id", "外部编号": "external_id",
    "name": "name", "姓名": "name", "客户姓名": "name", "客户名称": "name",
    "phone": "phone", "phones": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
    "联系电话": "phone", "电话号码": "phone", "phone2": "phone2", "备用电话": "phone2", "电话2": "phone2",
    "gender": "gender", "性别": "gender",
    "city": "city", "城市": "city", "地区": "city",
    "plate": "plate", "车牌": "plate", "车牌号": "plate",
    "vehicle": "vehicle", "车型": "vehicle", "品牌车型": "vehicle",
    "policy_expiry": "policy_expiry", "保单到期日": "policy_expiry", "到期日": "policy_expiry",
    "保险到期日": "policy_expiry",
    "last_premium": "last_premium", "上年保费": "last_premium", "保费": "last_premium",
    "source": "source", "来源": "source", "名单来源": "source", "数据来源": "source",
    "priority": "priority", "优先级": "priority",
    "notes": "notes", "备注": "notes",
}
REQUIRED = ("external_id", "name", "phone")


@dataclass
class RowError:
    row: int  # 1-based line in the file, header = 1
    message: str


@dataclass
class ParseResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):  # gb18030 is a superset of GBK/GB2312
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError("file is neither UTF-8 nor GBK")


def _read_table(path: Path) -> list[list[Any]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    return list(csv.reader(io.StringIO(_decode(path.read_bytes()))))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    return str(v).strip()


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"policy_expiry {text!r} is not a date (YYYY-MM-DD)")


def parse_leads(path: Path) -> ParseResult:
    table = _read_table(path)
    result = ParseResult()
    if not table:
        result.errors.append(RowError(1, "file is empty"))
        return result
    header = [HEADERS.get(_cell(h).lower().replace(" ", ""), HEADERS.get(_cell(h), "")) for h in table[0]]
    missing = [r for r in REQUIRED if r not in header]
    if missing:
        result.errors.append(RowError(1, f"missing column(s): {', '.join(missing)}"))
        return result
    seen: set[str] = set()
    for lineno, raw in enumerate(table[1:], start=2):
        cells = [_cell(v) for v in raw]
        if not any(cells):
            continue
        result.total += 1
        rec = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header) if name}
        try:
            row = _clean(rec)
        except ValueError as exc:
            result.errors.append(RowError(lineno, str(exc)))
            continue
        if row["external_id"] in seen:
            result.errors.append(RowError(lineno, f"duplicate external_id {row['external_id']!r} in file"))
            continue
        seen.add(row["external_id"])
        result.rows.append(row)
    return result


def _clean(rec: dict[str, str]) -> dict[str, Any]:
    ext = rec.get("external_id", "")
    if not ext:
        raise ValueError("external_id is empty")
    if len(ext) > 100:
        raise ValueError("external_id is longer than 100 characters")
    name = rec.get("name", "")
    if not name:
        raise ValueError("name is empty")
    phones = []
    for key, label in (("phone", "mobile"), ("phone2", "other")):
        for part in (rec.get(key) or "").replace("；", ";").replace("/", ";").split(";"):
            if not part.strip():
                continue
            try:
                phones.append({"number": normalise(part.strip()), "label": label})
            except PhoneError as exc:
                # Never echo the full number into a report: keep the tail only.
                raise ValueError(f"phone …{part.strip()[-4:]} is not a valid number") from exc
    if not phones:
        raise ValueError("no phone number")
    premium_text = rec.get("last_premium", "").replace(",", "").replace("元", "")
    try:
        premium = int(float(premium_text)) if premium_text else None
    except ValueError as exc:
        raise ValueError(f"last_premium {premium_text!r} is not a number") from exc
    prio_text = rec.get("priority", "")
    try:
        priority = int(prio_text) if prio_text else 3
    except ValueError as exc:
        raise ValueError(f"priority {prio_text!r} is not a whole number") from exc
    return {"external_id": ext, "name": name[:100], "phones": phones,
            "gender": rec.get("gender", "")[:10], "city": rec.get("city", "")[:50],
            "plate": rec.get("plate", "")[:20], "vehicle": rec.get("vehicle", "")[:100],
            "policy_expiry": _date(rec.get("policy_expiry", "")), "last_premium": premium,
            "source": rec.get("source", "")[:100], "priority": priority, "notes": rec.get("notes", "")}
