"""The TL's 日报表 screen against the real server: agents' calls pushed as events over HTTP,
the report on screen (tables and Qt Charts), and the XLSX / CSV exports read back equal to
the on-screen table, cell by cell, in the order shown (a sort included)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt

from app.supervisor.tl_service import TeamLeadService
from tests.supervisor.desk_data import push_calls
from ui.supervisor.report_view import VALUE_ROLE, ReportView

DAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


def _screen(view) -> tuple[list[str], list[list[str]], list[list]]:
    m = view.model()
    cols = range(m.columnCount())
    headers = [m.headerData(c, Qt.Orientation.Horizontal) for c in cols]
    texts = [[m.index(r, c).data() for c in cols] for r in range(m.rowCount())]
    values = [[m.index(r, c).data(VALUE_ROLE) for c in cols] for r in range(m.rowCount())]
    return headers, texts, values


def _as_shown(value, fmt: str) -> str:
    """An XLSX cell as Excel shows it with its number format (the three formats used)."""
    if fmt == "0.0%":
        return f"{value * 100:.1f}%"
    if fmt == "0.0":
        return f"{value:.1f}"
    if fmt == "0":
        return str(round(value))
    return "" if value is None else str(value)


def test_report_on_screen_and_exports_equal_the_table(qtbot, login, tmp_path) -> None:
    lina, wangfang, tl = login("lina"), login("wangfang"), login("zhangwei")
    # lina: 4 calls, 3 connected (talk 20 s refused, 300 s sale, 200 s callback), 1 no answer.
    push_calls(lina, DAY, [(0, 20, "REFUSED"), (5, 300, "SALE"), (20, 0, "NO_ANSWER"), (65, 200, "CALLBACK")])
    # wangfang: 2 calls, both connected, one sale.
    push_calls(wangfang, DAY, [(3, 90, "SALE"), (70, 60, "INTERESTED")], hour=14)

    service = TeamLeadService(lambda: tl)
    view = ReportView(service, today=DAY)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    try:
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.refresh()
        assert view.last_error is None
        headers, texts, _v = _screen(view.agents_view)
        assert headers[:3] == ["坐席", "通次", "通时(分)"] and "接通率" in headers and "30秒内拒绝" in headers
        rows = {t[0]: dict(zip(headers, t, strict=True)) for t in texts}
        assert rows["李娜"]["通次"] == "4" and rows["李娜"]["接通"] == "3" and rows["李娜"]["接通率"] == "75.0%"
        assert rows["李娜"]["成交"] == "1" and rows["李娜"]["预约回访"] == "1" and rows["李娜"]["30秒内拒绝"] == "1"
        assert rows["李娜"]["通时(分)"] == "8.7" and rows["李娜"]["达标"] == "否"
        assert texts[-1][0] == "合计" and rows["合计"]["通次"] == "6" and rows["合计"]["成交"] == "2"
        assert rows["合计"]["达标"].endswith(f"/{len(texts) - 1}")
        # By hour: 10:00 has lina's first three calls, 11:00 her fourth, 14:00/15:00 wangfang's.
        hours = {t[0]: t for t in _screen(view.hours_view)[1]}
        assert hours["10:00"][1] == "3" and hours["11:00"][1] == "1" and hours["14:00"][1] == "1"
        # The charts are drawn from the same report.
        assert len(view.hour_chart.series()) == 2 and len(view.agent_chart.series()) == 1
        conv = view.agent_chart.series()[0].barSets()[0]
        assert sum(conv.at(i) for i in range(conv.count())) == 2
        view.grab()  # paints the tables and the charts

        # Sort by 通次 descending (header click): the exports follow the screen's order.
        view.agents_view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        _h, texts, _v = _screen(view.agents_view)
        assert texts[0][0] == "李娜" and texts[-1][0] == "合计"

        xlsx, csv_path = tmp_path / "日报.xlsx", tmp_path / "日报.csv"
        with qtbot.waitSignal(service.exported, timeout=20_000):
            view.export("xlsx", str(xlsx))
        with qtbot.waitSignal(service.exported, timeout=20_000):
            view.export("csv", str(csv_path))

        wb = load_workbook(xlsx)
        assert wb.sheetnames == ["按坐席", "按小时"]
        for name, table in (("按坐席", view.agents_view), ("按小时", view.hours_view)):
            ws = wb[name]
            h, t, v = _screen(table)
            assert "日报表" in ws["A1"].value and "2026-12-01" in ws["A1"].value
            assert [c.value for c in ws[2]] == h
            assert ws[2][0].font.bold and ws.freeze_panes == "A3"
            got = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
            assert got == v, name  # the numbers the screen shows, in its order
            shown = [[_as_shown(c.value, c.number_format) for c in r] for r in ws.iter_rows(min_row=3)]
            assert shown == t, name  # and they read as the screen reads
        assert wb["按坐席"].cell(row=wb["按坐席"].max_row, column=1).font.bold  # 合计

        with open(csv_path, encoding="utf-8") as fh:
            raw = fh.read()
        assert raw.startswith("\ufeff")
        rows_csv = list(csv.reader(raw.lstrip("\ufeff").splitlines()))
        h, t, _v = _screen(view.agents_view)
        assert rows_csv == [h, *t]

        # Another range: a day without calls gives zeros, not an error.
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.set_range(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=1))
        assert _screen(view.agents_view)[1][-1][1] == "0"
        # Two days together add up.
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.set_range(DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
        assert view.report["days"] == 3 and _screen(view.agents_view)[1][-1][1] == "6"
    finally:
        service.stop()


def test_a_tsr_gets_only_their_own_row(qtbot, login) -> None:
    lina = login("lina")
    service = TeamLeadService(lambda: lina)
    view = ReportView(service, today=DAY)
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.refresh()
        names = [t[0] for t in _screen(view.agents_view)[1]]
        assert names == ["李娜", "合计"]
    finally:
        service.stop()
