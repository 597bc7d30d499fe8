"""The main window on demo data, as an agent sees it."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QTextBrowser

from tests.ui.conftest import type_search, visible_names

MASKED = re.compile(r"^1\d{2}\*{4}\d{4}$")


def _all_tabs_count(qtbot, window) -> int:
    total = 0
    for i in range(window.tabs.count()):
        with qtbot.waitSignal(window.leadsShown, timeout=5000) as blocker:
            window.tabs.setCurrentIndex(i) if window.tabs.currentIndex() != i else window.refresh()
        total += blocker.args[0]
    window.tabs.setCurrentIndex(0)
    return total


def test_window_shows_demo_leads_in_chinese(qtbot, seatmate):
    window = seatmate.window
    assert window.isVisible()
    assert window.windowTitle() == "坐席助手"
    assert [window.tabs.tabText(i) for i in range(3)] == ["待拨打", "预约回访", "已完成"]
    headers = [window.model.headerData(c, _h()) for c in range(3)]
    assert headers == ["姓名", "号码", "城市"]
    assert window.model.rowCount() > 0
    assert _all_tabs_count(qtbot, window) == 60  # every demo lead is in exactly one tab
    names = visible_names(window)
    assert all(re.search(r"[\u4e00-\u9fff]", n) for n in names), names[:5]
    phones = [window.model.data(window.model.index(r, 1)) for r in range(window.model.rowCount())]
    assert all(MASKED.match(p) for p in phones), phones[:5]
    # The customer card shows the selected lead with 归属地/运营商 next to the masked number.
    qtbot.waitUntil(lambda: window.card.title.text() != "未选择客户", timeout=3000)
    card_phones = window.findChild(QLabel, "card_phones").text()
    assert re.search(r"1\d{2}\*{4}\d{4}", card_phones)
    assert re.search(r"中国(移动|联通|电信)", card_phones), card_phones
    # Dates the Chinese way, e.g. 2026年10月28日星期三 in the card.
    assert re.match(r"^\d{4}年\d{1,2}月\d{1,2}日", window.findChild(QLabel, "card_policy_expiry").text())
    # The script is rendered from Markdown with the customer's name filled in.
    script = window.script.browser.toPlainText()
    assert "开场白" in script and window.card.title.text().split()[0] in script
    assert window.status.leads.text().endswith("条名单")
    assert "通次" in window.status.kpi.text()


def _h():
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def test_search_by_name_initials_and_number_tail(qtbot, seatmate):
    window = seatmate.window
    assert type_search(qtbot, window, "杜军") == ["杜军"]
    assert "杜军" in type_search(qtbot, window, "dj")
    assert "杜军" in type_search(qtbot, window, "6946")  # 187****6946
    assert type_search(qtbot, window, "zzzzqqq") == []
    assert window.status.leads.text() == "0 条名单"
    with qtbot.waitSignal(window.leadsShown, timeout=5000):
        window.search.clear()
    assert window.model.rowCount() > 0


def test_switch_language_in_running_window(qtbot, seatmate):
    window = seatmate.window
    window.language_actions["en"].trigger()
    # Qt delivers LanguageChange to the widgets through the event loop.
    qtbot.waitUntil(lambda: window.windowTitle() == "Seatmate", timeout=3000)
    assert [window.tabs.tabText(i) for i in range(3)] == ["To call", "Callbacks", "Completed"]
    assert window.model.headerData(0, _h()) == "Name"
    assert window.call_bar.dial.text() == "Dial"
    assert window.status.sync.text().startswith("Sync:")
    assert window.findChild(QLineEdit, "searchBox").placeholderText().startswith("Search")
    assert seatmate.settings.language == "en"
    window.language_actions["zh_CN"].trigger()
    qtbot.waitUntil(lambda: window.windowTitle() == "坐席助手", timeout=3000)
    assert window.model.headerData(0, _h()) == "姓名"
    assert window.call_bar.dial.text() == "拨打"
    assert window.tabs.tabText(1) == "预约回访"


def window_texts(window) -> str:
    """Everything an agent can read in the window: labels, buttons, fields, table, script."""
    parts = [window.windowTitle(), window.status.currentMessage()]
    for w in window.findChildren(QLabel):
        parts.append(w.text())
    for w in window.findChildren(QAbstractButton):
        parts += [w.text(), w.toolTip()]
    for w in window.findChildren(QLineEdit):
        parts.append(w.text())
    for w in window.findChildren(QTextBrowser):
        parts.append(w.toPlainText())
    model = window.model
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            parts.append(str(model.data(model.index(r, c)) or ""))
    return "\n".join(parts)


def test_window_and_logs_never_show_a_full_number(qtbot, seatmate, demo_numbers, data_dir):
    window = seatmate.window
    for row in range(window.model.rowCount()):  # visit every lead's card
        if row != window.table.currentIndex().row():
            with qtbot.waitSignal(window.leadDetailShown, timeout=5000):
                window.table.selectRow(row)
        text = re.sub(r"\D", "", window_texts(window))
        leaked = [n for n in demo_numbers if n in text]
        assert not leaked, f"full numbers on screen: {len(leaked)}"
    window.handle_dial_request("+8613800138000")
    assert "13800138000" not in re.sub(r"\D", "", window_texts(window))
    assert window.call_bar.number.text().endswith("138****8000")
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (data_dir / "logs").rglob("*.log*"))
    assert logs, "the app wrote no log"
    digits = re.sub(r"\D", "", logs)
    assert not [n for n in [*demo_numbers, "13800138000"] if n in digits]


@pytest.mark.allow_log_warnings  # the repair itself is logged as a warning
def test_damaged_cache_is_reported_in_one_sentence_and_demo_still_shows(qtbot, qapp, data_dir):
    """A cache file that is not a database: moved aside, the user told, a fresh cache used."""
    import argparse

    from PySide6.QtWidgets import QMessageBox

    from app.application import Application

    data_dir.mkdir(parents=True)
    (data_dir / "cache.sqlite3").write_bytes(b"this is not a database" * 500)
    application = Application(argparse.Namespace(data_dir=str(data_dir), number=None, lang="zh_CN", command=None))
    assert application.start() is None
    window = application.window
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.findChild(QMessageBox, "noticeBox") is not None, timeout=10_000)
        box = window.findChild(QMessageBox, "noticeBox")
        assert box.isVisible() and box.text().strip()
        assert box.text().count("。") <= 2  # one clear sentence (two at most)
        qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10_000)
        assert list(data_dir.glob("cache.sqlite3.*")), "the damaged file must be kept aside"
        box.accept()
    finally:
        application._shutdown()
