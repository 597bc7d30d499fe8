"""Bad files and bad input through the app's real import paths: each gets a clear message (a code
ui/ words, in Chinese first) and leaves the cache exactly as it was (a dump of every table
before and after). Good files in awkward shapes (GBK, UTF-16, merged cells, 10,000 columns,
200,000 rows) import.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import random
import shutil
import sqlite3
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.demo.campaign import load_demo
from app.lead_import import import_file
from cache.db import open_cache
from cache.repository import Repository
from core import script_doc
from core.errors import KnownError
from core.lead_file import ImportFileError
from core.messages import Message

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["外部编号", "姓名", "手机", "城市", "上年保费"]


# ----------------------------------------------------------------------------- helpers
def dump(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table (a separate connection: what is committed on disk)."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def zh_sources() -> dict[str, str]:
    tree = ET.parse(ROOT / "resources" / "i18n" / "seatmate_zh_CN.ts")
    out = {}
    for ctx in tree.getroot().iter("context"):
        if ctx.findtext("name") == "Messages":
            for m in ctx.iter("message"):
                tr = m.find("translation")
                if tr is not None and (tr.text or "").strip() and tr.get("type") != "unfinished":
                    out[m.findtext("source") or ""] = tr.text or ""
    return out


def assert_worded(message: Message) -> str:
    """The code has English words in ui/messages.py and a finished zh_CN translation; every
    placeholder is filled. Returns the Chinese sentence."""
    from ui import messages as ui_messages

    source = ui_messages.TEXTS.get(message.code)
    assert source is not None, f"{message.code} has no words in ui/messages.py"
    zh = zh_sources().get(source)
    assert zh, f"{message.code} has no zh_CN translation"
    for name in __import__("re").findall(r"\{([a-z_]+)\}", source):
        assert name in message.params, f"{message.code}: parameter {name} missing"
    return zh


def rows_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def good_rows(n: int, start: int = 0) -> list[list[str]]:
    return [[f"B{start + i:06d}", f"客户{start + i}", f"139{start + i:08d}", "武汉", "3,120元"] for i in range(n)]


@pytest.fixture(scope="module")
def demo_cache_file(tmp_path_factory) -> Path:
    """One demo cache per module (loading the demo is most of a test's setup); each test gets a copy."""
    db = tmp_path_factory.mktemp("demo-cache") / "cache.sqlite3"
    handle = open_cache(db)
    load_demo(Repository(handle))  # the cache is not empty: "as it was" means 60 leads, codes, a script
    handle.close()
    return db


@pytest.fixture
def cache(tmp_path: Path, demo_cache_file: Path):
    db = tmp_path / "cache.sqlite3"
    shutil.copyfile(demo_cache_file, db)
    handle = open_cache(db)
    repo = Repository(handle)
    yield db, repo
    handle.close()


def refused(cache, path: Path) -> tuple[Message, str]:
    db, repo = cache
    before = dump(db)
    with pytest.raises(ImportFileError) as err:
        import_file(repo, path, "导入测试")
    assert dump(db) == before, "a refused file changed the cache"
    message = Message(err.value.code, err.value.params)
    return message, assert_worded(message)


# ----------------------------------------------------------------------------- lead files
def test_empty_file(cache, tmp_path: Path) -> None:
    path = tmp_path / "空.csv"
    path.write_bytes(b"")
    message, zh = refused(cache, path)
    assert message.code == "import.empty" and "空文件" in zh


def test_blank_lines_only(cache, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\r\n\r\n ,,\r\n", encoding="utf-8")
    assert refused(cache, path)[0].code == "import.empty"


def test_binary_junk(cache, tmp_path: Path) -> None:
    rnd = random.Random(15)
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(rnd.randrange(256) for _ in range(50_000)))
    assert refused(cache, path)[0].code in ("import.not_text", "import.encoding")
    no_nul = tmp_path / "junk2.csv"
    no_nul.write_bytes(bytes(rnd.randrange(0x81, 0xff) for _ in range(20_000)) + b"\xff\xfe\xfd")
    assert refused(cache, no_nul)[0].code in ("import.encoding", "import.missing_columns")


def test_an_image_renamed_to_xlsx_and_a_damaged_workbook(cache, tmp_path: Path) -> None:
    png = tmp_path / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    assert refused(cache, png)[0].code == "import.bad_xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    for row in [HEADER, *good_rows(50)]:
        wb.active.append(row)
    whole = tmp_path / "whole.xlsx"
    wb.save(whole)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert refused(cache, cut)[0].code == "import.bad_xlsx"
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    assert refused(cache, old)[0].code == "import.old_xls"


def test_no_header_and_no_usable_row(cache, tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text(rows_csv([["a", "b", "c"], ["1", "2", "3"]]), encoding="utf-8")
    message, zh = refused(cache, path)
    assert message.code == "import.missing_columns" and "姓名" in zh
    bad = tmp_path / "allbad.csv"
    bad.write_text(rows_csv([HEADER, ["X1", "张三", "12345", "", ""], ["X2", "", "13900000000", "", ""]]),
                   encoding="utf-8")
    message, zh = refused(cache, bad)
    assert message.code == "import.no_rows" and message.params["skipped"] == 2
    assert "没有可用的行" in zh


def test_a_broken_quote_in_the_middle(cache, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    text = rows_csv([HEADER, *good_rows(20)]) + '"C1,"张三' + "x" * 200_000 + "\r\n"
    path.write_text(text, encoding="utf-8")
    assert refused(cache, path)[0].code == "import.bad_csv"


def test_csv_with_10000_columns(cache, tmp_path: Path) -> None:
    """A sheet exported with every column of a CRM: the two that matter are found among 10,000."""
    _db, repo = cache
    filler = [f"col{i}" for i in range(9_995)]
    rows = [filler + HEADER] + [[""] * 9_995 + r for r in good_rows(30)]
    path = tmp_path / "wide.csv"
    path.write_text(rows_csv(rows), encoding="utf-8")
    started = time.monotonic()
    result = import_file(repo, path, "宽表")
    print(f"10,000 columns × 30 rows: {time.monotonic() - started:.2f} s")
    assert result.imported == 30 and not result.skipped
    # The same width without the header a lead list needs: refused, nothing changed.
    junk = tmp_path / "wide-junk.csv"
    junk.write_text(rows_csv([filler] * 5), encoding="utf-8")
    assert refused(cache, junk)[0].code == "import.missing_columns"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16", "utf-16-le-nobom"])
def test_encodings(cache, tmp_path: Path, encoding: str) -> None:
    db, repo = cache
    rows = [HEADER, ["E1", "张三丰", "13812345678", "宜昌", "3,120元"], ["E2", "欧阳娜娜", "15012345678", "武汉", ""]]
    path = tmp_path / f"{encoding}.csv"
    if encoding == "utf-16":  # Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated
        path.write_bytes(codecs.BOM_UTF16_LE + rows_csv(rows, "\t").encode("utf-16-le"))
    elif encoding == "utf-16-le-nobom":
        path.write_bytes(rows_csv(rows, "\t").encode("utf-16-le"))
    else:
        path.write_bytes(rows_csv(rows).encode(encoding))
    result = import_file(repo, path, "编码")
    assert result.imported == 2 and not result.skipped
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute("SELECT name FROM leads WHERE external_id IN ('E1', 'E2')")}
    con.close()
    assert names == {"张三丰", "欧阳娜娜"}


def test_xlsx_with_merged_cells_and_formulas(cache, tmp_path: Path) -> None:
    """A title merged over the header, a 来源 merged down three rows, formulas without a saved
    value (what openpyxl and some exporters write): good rows import, the rest are reported."""
    from openpyxl import Workbook

    db, repo = cache
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年续保名单"])
    ws.merge_cells("A1:F1")
    ws.append([*HEADER, "来源"])
    ws.append(["M1", "张三", "13812345601", "宜昌", 3120, "转介绍"])
    ws.append(["M2", "李四", "13812345602", "武汉", "=1000*3", None])
    ws.append(["M3", '="王"&"五"', "13812345603", "武汉", 2800, None])
    ws.append(["M4", "赵六", 13812345604, "十堰", 2500.0, None])
    ws.merge_cells("F3:F5")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    result = import_file(repo, path, "合并单元格")
    assert result.imported == 3
    assert [(s.line, s.reason) for s in result.skipped] == [(5, "missing name")]
    con = sqlite3.connect(db)
    got = dict(con.execute("SELECT external_id, last_premium FROM leads WHERE external_id LIKE 'M%'"))
    con.close()
    assert got == {"M1": 3120, "M2": None, "M4": 2500}


def test_a_big_list_imports_with_bounded_memory(tmp_path: Path) -> None:
    """3,000 rows through the real CLI in a child process (the 200,000-row run:
    ``python -m tests.unit.big_import --rows 200000``)."""
    from tests.unit.big_import import measure

    small = measure(300, tmp_path / "small")
    big = measure(3_000, tmp_path / "big")
    print(f"lead import: {big} (reference {small})")
    assert big["imported"] == 3_000 and big["skipped"] == 0
    # Memory grows with the leads kept for the one upsert transaction, not with copies of the file.
    assert big["peak_mb"] - small["peak_mb"] < 400
    # Per-row cost does not blow up with size (no quadratic step), measured at the same moment.
    assert big["rows_per_s"] > 0.3 * small["rows_per_s"]


def test_too_many_rows_is_refused_before_anything_is_written(cache, tmp_path: Path, monkeypatch) -> None:
    import core.lead_file as lf

    monkeypatch.setattr(lf, "MAX_ROWS", 100)  # the bound is 500,000; the rule is the same
    path = tmp_path / "many.csv"
    path.write_text(rows_csv([HEADER, *good_rows(101)]), encoding="utf-8")
    message, _zh = refused(cache, path)
    assert message.code == "import.too_many_rows" and "100" in str(message.params["max_rows"])


# ----------------------------------------------------------------------------- scripts
BROKEN_SCRIPTS = [
    "",
    "\x00\x01\x02 binary \ufffd\ufffd",
    "---\ntitle: 没有结束的 front matter\n# 开场白\n您好",
    "#\n##\n###\n####### 七级标题\n正文",
    "# 开场白\n" + "很长的一行" * 20_000,
    "# 异议处理\n## \n## 太贵了\n{客户姓名 您好 {{{ }}} {未知占位符}\n```\n未闭合的代码块",
    "## 没有一级标题的异议\n回答\n# \t\n",
    "\r\n".join([f"# 节{i}" for i in range(3000)]),
]


@pytest.mark.parametrize("text", BROKEN_SCRIPTS, ids=range(len(BROKEN_SCRIPTS)))
def test_broken_markdown_scripts_still_show_something(text: str) -> None:
    doc = script_doc.parse(text, "续保话术")
    shown = doc.markdown
    filled = script_doc.fill(shown, {"客户姓名": "张三"})
    assert isinstance(filled, str)
    script_doc.search_objections(doc, "贵")
    # Nothing the author wrote is silently dropped: every non-blank line's words are shown.
    visible = "".join(s.title + s.body for s in doc.all_sections()) + "".join(doc.meta.values())
    for line in text.splitlines()[:50]:
        words = line.strip().lstrip("#").strip()
        if words and not words.startswith("---"):
            assert words[:20] in visible or words.split(":")[-1].strip()[:10] in visible, line[:40]


# ----------------------------------------------------------------------------- disposition codes
def test_a_disposition_code_file_with_duplicates_changes_nothing(cache, tmp_path: Path) -> None:
    from app.demo.campaign import load_codes_file

    db, repo = cache
    codes = json.loads((ROOT / "resources" / "data" / "dispositions_demo.json").read_text(encoding="utf-8"))
    codes["codes"].append({"code": "SALE", "label": "成交（重复）", "group": "not_connected"})
    path = tmp_path / "codes.json"
    path.write_text(json.dumps(codes, ensure_ascii=False), encoding="utf-8")
    campaign_id = repo.campaign_id_by_name(codes["campaign"])
    before = dump(db)
    with pytest.raises(KnownError) as err:
        load_codes_file(repo, campaign_id, path)
    assert dump(db) == before
    message = Message(err.value.code, err.value.params)
    zh = assert_worded(message)
    assert message.code == "codes.duplicate" and message.params["code"] == "SALE"
    assert message.params["first"] == 1 and message.params["again"] == len(codes["codes"])
    assert "重复" in zh
    for broken, code in (({"codes": [{"label": "无代码"}]}, "codes.invalid"),
                         ({"codes": "SALE"}, "codes.invalid"),
                         ({"codes": [{"code": "X", "label": "X", "group": "maybe"}]}, "codes.invalid")):
        path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
        with pytest.raises(KnownError) as err:
            load_codes_file(repo, campaign_id, path)
        assert err.value.code == code and dump(db) == before
        assert_worded(Message(err.value.code, err.value.params))
    path.write_bytes(b"\xff\xfe{not json")
    with pytest.raises(KnownError) as err:
        load_codes_file(repo, campaign_id, path)
    assert err.value.code == "codes.invalid" and dump(db) == before


# ----------------------------------------------------------------------------- server answers
class BadServer:
    """A real HTTP server on loopback that answers /sync/pull with whatever the test sets."""

    def __init__(self) -> None:
        import http.server
        import threading

        outer = self
        self.pull_body: bytes = b'{"changes": [], "has_more": false, "next_cursor": "c0"}'

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                pull = self.path.split("?")[0].endswith("/sync/pull")  # the API prefix is the client's business
                self._answer(outer.pull_body if pull else b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._answer(b'{"results": []}')

            def log_message(self, *args) -> None:
                return None

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: shutdown() waits for it (0.5 s by default, per test).
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def bad_server():
    # One server for the module; each test sets the answer it needs (pull_body) first.
    srv = BadServer()
    yield srv
    srv.close()


def _engine(db_handle, url: str):
    from cache.sync_store import SyncStore
    from sync.client import ApiClient, MemoryVault, TokenSet
    from sync.engine import SyncEngine

    vault = MemoryVault(TokenSet(refresh="r", access="a", access_expires=time.time() + 3600))
    store = SyncStore(db_handle)
    return SyncEngine(ApiClient(url, vault, device_id="dev-1", timeout=5, connect_timeout=5), store)


def _lead(lead_id: str, **data) -> dict:
    base = {"campaign_id": "camp-1", "name": "张三", "phones": [{"number": "+8613812345678"}], "priority": 2}
    return {"entity": "lead", "id": lead_id, "op": "upsert", "data": {**base, **data}}


def _page(*changes, **extra) -> bytes:
    return json.dumps({"changes": list(changes), "has_more": False, "next_cursor": "c1", **extra}).encode()


BAD_ANSWERS = {
    "html_error_page": b"<html><body>502 Bad Gateway</body></html>",
    "truncated_json": _page(_lead("x1"))[:-7],
    "changes_not_a_list": b'{"changes": {"lead": 1}, "has_more": false}',
    "has_more_text": b'{"changes": [], "has_more": "no", "next_cursor": "c1"}',
    "unknown_op": _page({"entity": "lead", "id": "x1", "op": "merge", "data": {}}),
    "upsert_without_data": _page({"entity": "lead", "id": "x1", "op": "upsert", "data": "张三"}),
    "priority_text": _page(_lead("x1"), _lead("x2", priority="high")),
    "phones_a_string": _page(_lead("x1", phones="13812345678")),
    "lead_without_campaign": _page({"entity": "lead", "id": "x1", "op": "upsert", "data": {"name": "张三"}}),
    "premium_a_list": _page(_lead("x1", last_premium=[3120])),
    "code_position_text": _page({"entity": "disposition_code", "id": "camp-1:SALE", "op": "upsert",
                                 "data": {"campaign_id": "camp-1", "code": "SALE", "label": "成交",
                                          "position": "first"}}),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_a_server_answer_of_the_wrong_shape_changes_nothing(cache, bad_server, case: str) -> None:
    from sync.client import BadAnswer
    from sync.service import _failure

    db, repo = cache
    engine = _engine(repo.handle, bad_server.url)
    bad_server.pull_body = BAD_ANSWERS[case]
    before = dump(db)
    with pytest.raises(BadAnswer) as err:
        engine.run_round()
    assert dump(db) == before, f"{case}: the cache changed"
    message = _failure(err.value)
    assert message.code == "sync.bad_answer"
    assert "无法识别服务器的回复" in assert_worded(message)


def test_unknown_fields_and_entities_are_ignored_not_refused(cache, bad_server) -> None:
    """A newer server: extra top-level fields, an entity this client does not know, extra
    fields in a lead. The lead is stored; nothing unknown lands in the cache."""
    db, repo = cache
    engine = _engine(repo.handle, bad_server.url)
    bad_server.pull_body = _page(
        _lead("new-1", favourite_colour="蓝色", nested={"deep": [1, 2, {"x": None}]}),
        {"entity": "hologram", "id": "h1", "op": "upsert", "data": {"shape": "cube"}},
        features={"v3": True}, server_time=None)
    result = engine.run_round()
    assert result.pulled_pages == 1
    after = dump(db)
    assert any(row[0] == "new-1" for row in after["leads"])
    flat = repr(after)
    assert "蓝色" not in flat and "hologram" not in flat and "cube" not in flat
