"""导入名单… in the real window: a bad file changes nothing and the status bar says why in
Chinese; a good GBK file imports and says how many leads came in."""

from __future__ import annotations

import csv
import io
import os
import random
import sqlite3
from pathlib import Path


def _dump(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def _import(qtbot, app, path: Path) -> str:
    window = app.window
    with qtbot.waitSignal(app.lead_import.finished, timeout=30_000):
        window.importRequested.emit(str(path))
    return window.status.currentMessage()


def _settle(qtbot, app) -> None:
    """Let the start-up writes (demo data, presence) finish before taking the 'before' dump."""
    qtbot.waitUntil(lambda: app.repository is not None and app.workspace is not None, timeout=20_000)
    qtbot.wait(300)


def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.csv"
    if kind == "junk":
        rnd = random.Random(15)
        path.write_bytes(bytes(rnd.randrange(256) for _ in range(20_000)))
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    return path


def test_bad_lead_files_are_refused_in_chinese_and_a_good_gbk_list_imports(seatmate, qtbot, tmp_path: Path):
    """One window for all four files (a window per file was most of the time): three bad files,
    each refused with its reason and no lead data moved, then a good GBK list in the same window."""
    _settle(qtbot, seatmate)
    window = seatmate.window
    assert window.import_action.isVisible() and window.import_action.text() == "导入名单…"
    db = seatmate.paths.cache_db
    expected = {"junk": ("不是 CSV 文本文件", "字符无法识别"), "empty": ("是空文件",), "no_header": ("表头需要有",)}
    for kind, words in expected.items():
        path = _bad_file(tmp_path, kind)
        before = _dump(db)
        shown = _import(qtbot, seatmate, path)
        assert any(w in shown for w in words), (kind, shown)
        assert path.name in shown and "未导入任何数据" in shown, (kind, shown)
        after = _dump(db)
        # Presence and KPI events may tick on their own; the lead data may not move at all.
        for table in ("leads", "lead_phones", "campaigns", "disposition_codes", "scripts", "do_not_call"):
            if table in before:
                assert after[table] == before[table], (kind, table)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["姓名", "手机", "城市"])
    for i in range(40):
        w.writerow([f"欧阳{i}", f"1391234{i:04d}", "宜昌"])
    w.writerow(["坏号码", "12345", ""])
    path = tmp_path / "导入名单-GBK.csv"
    path.write_bytes(buf.getvalue().encode("gbk"))
    shown = _import(qtbot, seatmate, path)
    assert shown == f"{path.name}：已导入 40 条名单（新增 40，更新 0），跳过 1 行", shown
    con = sqlite3.connect(db)
    count = con.execute("SELECT count(*) FROM leads WHERE name LIKE '欧阳%'").fetchone()[0]
    con.close()
    assert count == 40
    assert os.path.exists(path)  # the user's file is left as it was
