"""Lead import from real files: UTF-8, UTF-8 with BOM, GBK, XLSX, and broken ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.lead_import import import_file
from cache.repository import Repository
from core.lead_file import ImportFileError, parse_file

ROOT = Path(__file__).resolve().parents[3]

ZH_HEADER = ["外部编号", "姓名", "手机", "性别", "城市", "车牌", "车型", "保单到期日", "上年保费", "来源", "优先级", "备注", "备用电话"]
ZH_ROWS = [
    ["A001", "张三", "138 1234 5678", "男", "宜昌", "鄂E12345", "大众 朗逸", "2026/12/01", "3,120元", "历史脱保", "1", "老客户, 态度友好", ""],
    ["A002", "李四", "13912345678;027-87654321", "女", "武汉", "鄂A54321", "丰田 卡罗拉", "2026年11月30日", "2850", "次新车", "高", "", "15012345678"],
    ["A003", "", "13712345678", "", "", "", "", "", "", "", "", "", ""],            # missing name
    ["A004", "王五", "1380000000", "", "", "", "", "", "", "", "", "", ""],         # bad phone
    ["A001", "赵六", "13612345678", "", "", "", "", "", "", "", "", "", ""],        # duplicate external id
    ["A006", "钱七", "13812345678", "", "", "", "", "", "", "", "", "", ""],        # duplicate number
    ["A007", "孙八", "13512345678", "", "", "", "", "明年", "", "", "", "", ""],     # bad date
    ["", "周九", "13312345678", "", "", "", "", "20261201", "", "", "", "", ""],    # no external id: still idempotent
]
EXPECTED_SKIPPED = [(4, "missing name"), (5, "bad phone"), (6, "duplicate external id"),
                    (7, "duplicate phone"), (8, "bad policy expiry")]


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture(params=["utf-8", "utf-8-sig", "gbk", "xlsx"])
def lead_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    rows = [ZH_HEADER, *ZH_ROWS]
    if request.param == "xlsx":
        return _write_xlsx(tmp_path / "名单.xlsx", rows)
    return _write_csv(tmp_path / f"名单-{request.param}.csv", rows, request.param)


def _check_skipped(skipped) -> None:
    got = [(s.line, s.reason) for s in skipped]
    assert [line for line, _ in got] == [line for line, _ in EXPECTED_SKIPPED]
    for (_, reason), (_, expected) in zip(got, EXPECTED_SKIPPED, strict=True):
        assert reason.startswith(expected), reason


def test_import_all_encodings_and_xlsx(repo: Repository, lead_file: Path) -> None:
    result = import_file(repo, lead_file, "导入测试")
    assert result.imported == 3 and result.inserted == 3
    _check_skipped(result.skipped)
    rows = {r.name: r for r in repo.lead_rows(repo.search_lead_ids(""))}
    assert set(rows) == {"张三", "李四", "周九"}
    zhang = repo.lead_detail(rows["张三"].id)
    assert zhang.last_premium == 3120 and zhang.policy_expiry.isoformat() == "2026-12-01"
    assert zhang.notes == "老客户, 态度友好" and zhang.plate == "鄂E12345" and zhang.priority == 1
    li = repo.lead_detail(rows["李四"].id)
    assert [p.masked for p in li.phones] == ["139****5678", "027****4321", "150****5678"]
    assert li.priority == 1 and li.policy_expiry.isoformat() == "2026-11-30"
    assert repo.search_lead_ids("zs") == [rows["张三"].id]


def test_reimport_updates_and_never_duplicates(repo: Repository, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "a.csv", [ZH_HEADER, *ZH_ROWS], "utf-8")
    first = import_file(repo, path, "导入测试")
    lead_id = repo.search_lead_ids("张三")[0]
    changed = [list(r) for r in ZH_ROWS]
    changed[0][4] = "荆州"
    _write_csv(path, [ZH_HEADER, *changed], "utf-8")
    second = import_file(repo, path, "导入测试")
    assert (second.inserted, second.updated) == (0, first.imported)
    assert len(repo.search_lead_ids("")) == 3
    assert repo.search_lead_ids("张三") == [lead_id]
    assert repo.lead_detail(lead_id).city == "荆州"


def test_english_headers_and_extra_phone_column(repo: Repository, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "en.csv", [
        ["External ID", "Name", "Phone", "Phone2", "City", "Plate", "Policy Expiry", "Priority"],
        ["E1", "Tom Li", "+86 139 1234 5678", "13812340000", "Wuhan", "鄂a 12345", "2026-12-31", "2"],
    ], "utf-8")
    result = import_file(repo, path, "english")
    assert result.imported == 1 and not result.skipped
    row = repo.lead_rows(repo.search_lead_ids("tom"))[0]
    assert row.plate == "鄂A12345" and row.priority == 2
    assert len(repo.lead_detail(row.id).phones) == 2
    assert repo.search_lead_ids("40000") == [row.id]


def test_title_row_and_semicolons(repo: Repository, tmp_path: Path) -> None:
    xlsx = _write_xlsx(tmp_path / "titled.xlsx", [["2026年11月续保名单"], [], ["姓名", "手机号码", "保单到期日"],
                                                   ["张三", 13812345678, __import__("datetime").datetime(2026, 12, 1)]])
    result = import_file(repo, xlsx, "titled")
    assert result.imported == 1 and not result.skipped
    detail = repo.lead_detail(repo.search_lead_ids("张三")[0])
    assert detail.policy_expiry.isoformat() == "2026-12-01" and detail.phones[0].masked == "138****5678"
    semi = tmp_path / "semi.csv"
    semi.write_text("姓名;电话;备注\n李四;13912345678;\"说明, 含逗号\"\n", encoding="utf-8")
    assert import_file(repo, semi, "titled").imported == 1
    assert repo.lead_detail(repo.search_lead_ids("李四")[0]).notes == "说明, 含逗号"


def test_a_new_campaign_gets_the_default_codes(repo: Repository, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "a.csv", [ZH_HEADER, ZH_ROWS[0]], "utf-8")
    cid = import_file(repo, path, "新活动").campaign_id
    assert "SALE" in [c.code for c in repo.disposition_codes(cid)]


@pytest.mark.parametrize("content, name, message", [
    (b"\x00\x01\x02binary\x00" * 50, "x.csv", "not a CSV text file"),
    (b"", "empty.csv", "is empty"),
    ("城市,车型\n宜昌,朗逸\n".encode(), "nohead.csv", "no 姓名/name and no 电话/phone column"),
    ("姓名,城市\n张三,宜昌\n".encode(), "nophone.csv", "no 电话/phone column"),
    (b"PK\x03\x04 not really a zip", "broken.xlsx", "not a readable .xlsx"),
    # UTF-16 (Excel's "Unicode text") is read since issue #15: tests/unit/test_bad_input.py.
])
def test_unreadable_files_raise_one_sentence(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message) as info:
        parse_file(path)
    assert str(info.value).endswith(".") and "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="does not exist"):
        parse_file(tmp_path / "nope.csv")


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data_dir), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir / "d"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_cli_json_output_and_exit_codes(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "gbk.csv", [ZH_HEADER, *ZH_ROWS], "gbk")
    proc = _cli("import-leads", str(path), "--campaign", "车险续保 2026Q4", "--json", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"imported", "skipped"} and out["imported"] == 3
    assert [s["line"] for s in out["skipped"]] == [line for line, _ in EXPECTED_SKIPPED]
    assert all(set(s) == {"line", "reason"} for s in out["skipped"])
    again = _cli("import-leads", str(path), "--campaign", "车险续保 2026Q4", "--json", data_dir=tmp_path)
    assert json.loads(again.stdout)["imported"] == 3

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"garbage")
    proc = _cli("import-leads", str(bad), "--campaign", "x", "--json", data_dir=tmp_path)
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "bad.xlsx" in proc.stderr

    human = _cli("import-leads", str(path), "--campaign", "车险续保 2026Q4", data_dir=tmp_path)
    assert "line 4: missing name" in human.stdout

    demo = _cli("load-demo", data_dir=tmp_path)
    assert demo.returncode == 0
    assert "63 leads" in demo.stdout  # the 3 imported above share the demo campaign's name
