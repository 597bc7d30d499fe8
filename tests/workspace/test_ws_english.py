"""The app in English shows no Chinese sentence of its own; in zh_CN it shows the Chinese ones.

The whole app (``Application`` with ``--lang``) in server mode against the real server on
loopback, the product's demo customer over real SIP, a real cache and keyring. One walk,
in both languages:

1. a call, then a wrap-up the rules refuse (a note missing; a callback time in the past);
2. 拒绝再联系 (do-not-call), then the same number typed on the dialpad: the gate blocks it;
3. a call the customer's phone rejects (486 Busy Here);
4. the server goes away: the next sync fails.

At each step the visible text of the widgets that speak (the workspace notice, the status
bar, the wrap-up panel) is read. Customer data stays as it is in every language: the
customers' names and the campaign's disposition-code labels are taken out before looking
for Chinese characters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re

import pytest
from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from sqlalchemy import select

from app.demo.line import DemoCustomerProcess
from cache import models as m
from tests.faults.harness import secret_service
from tests.server_mode import PASSWORD, demo_server

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")

#: What each step must show, per language (the English source text and its zh_CN translation).
EXPECTED = {
    "en": {
        "wrapup_open": "Finish and save the wrap-up before the next call",
        "note": "needs a note",
        "callback_past": "The callback time must be later than now",
        "dnc_saved": "Added to the do-not-call list",
        "dnc_blocked": "This number is on the do-not-call list (registered on this computer)",
        "busy": "Not connected: the line is busy (SIP 486)",
        "sync": "Cannot reach the server",
    },
    "zh_CN": {
        "wrapup_open": "请先完成并保存话后处理，再拨打下一通",
        "note": "需要填写备注",
        "callback_past": "回访时间必须晚于当前时间",
        "dnc_saved": "已加入免打扰名单",
        "dnc_blocked": "该号码在免打扰名单中（本地登记），不能拨打",
        "busy": "未接通：对方忙线（SIP 486）",
        "sync": "无法连接服务器",
    },
}


@pytest.fixture
def server(tmp_path):
    with demo_server(tmp_path / "server") as srv:
        yield srv


def speaking_widgets(app) -> list[QWidget]:
    """The widgets the gate, the wrap-up, sync and the call loop speak through."""
    ws = app.workspace
    return [ws.strip, ws.wrapup, app.window.statusBar()]


def visible_texts(app) -> list[str]:
    texts = [app.window.statusBar().currentMessage()]
    for root in speaking_widgets(app):
        if not root.isVisible():
            continue
        for widget in [root, *root.findChildren(QWidget)]:
            if widget.isVisible() and isinstance(widget, (QLabel, QAbstractButton)):
                texts.append(widget.text())
    return [t for t in texts if t]


def customer_data(app) -> list[str]:
    """What stays as it is in every language: names, and the campaign's code labels."""
    with app.cache.session() as s:
        names = [n for (n,) in s.execute(select(m.Lead.name)) if n]
    labels = [r.label for r in app.workspace.runtime.wrapup.rules]
    return sorted({*names, *labels}, key=len, reverse=True)


def check(app, lang: str, step: str) -> str:
    """The step's text is on screen; in English nothing but customer data is Chinese."""
    texts = visible_texts(app)
    expected = EXPECTED[lang][step]
    assert any(expected in t for t in texts), (step, expected, texts)
    if lang == "en":
        data = customer_data(app)
        for text in texts:
            rest = text
            for item in data:
                rest = rest.replace(item, "")
            assert not CJK.search(rest), f"{step}: Chinese UI text with --lang en: {text!r}"
    return expected


@pytest.mark.qt_log_ignore("This plugin does not support")  # the offscreen platform, not our code
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_walk_speaks_the_ui_language(qtbot, qapp, tmp_path, server, lang) -> None:
    from app.application import Application

    customer = DemoCustomerProcess(behaviour="answer", answer_delay=0.3)
    line = customer.start()  # stands in for the PBX
    data = tmp_path / "agent"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "server_url": server.url,
        "sip": {"user": "agent", "domain": line.domain, "registrar": line.registrar},
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
        "recording": {"policy": "never"},
    }), encoding="utf-8")
    app = None
    with secret_service(tmp_path / "keyring"):
        try:
            app = Application(argparse.Namespace(data_dir=str(data), number=None, lang=lang, command=None))
            assert app.start() is None
            qtbot.addWidget(app.window)
            qtbot.waitUntil(lambda: getattr(app, "workspace", None) is not None
                            and getattr(app, "login_dialog", None) is not None
                            and app.login_dialog.isVisible(), timeout=20_000)
            ws, ctl = app.workspace, app.workspace.runtime.controller
            dialog = app.login_dialog
            dialog.user.setText("lina")
            dialog.password.setText(PASSWORD)
            with qtbot.waitSignal(app.sync.login_finished, timeout=20_000) as login:
                dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
            assert login.args[0], login.args
            qtbot.waitUntil(lambda: app.window.model.rowCount() > 0, timeout=20_000)
            qtbot.waitUntil(lambda: ctl.phone is not None, timeout=20_000)

            # 1. A call, then the wrap-up refuses to save until its rules are met.
            ws.actions["dial_next"].trigger()
            qtbot.waitUntil(lambda: ctl.active is not None and ctl.active.answered_at is not None, timeout=15_000)
            lead_id = ctl.active.lead_id
            ws.actions["hangup"].trigger()
            qtbot.waitUntil(lambda: ws.wrapup.isVisible(), timeout=10_000)
            ws.actions["dial_next"].trigger()  # refused: the wrap-up comes first
            check(app, lang, "wrapup_open")
            ws.wrapup.choose("INSURED_ELSEWHERE")  # needs a note
            assert ws.wrapup.save() is None
            check(app, lang, "note")
            ws.wrapup.choose("CALLBACK")
            past = dt.datetime.now() - dt.timedelta(hours=1)
            ws.wrapup.callback_edit.setDateTime(QDateTime(past.replace(second=0, microsecond=0)))
            assert ws.wrapup.save() is None
            check(app, lang, "callback_past")

            # 2. 拒绝再联系: the number is blocked at once; typed on the dialpad, the gate refuses it.
            ws.wrapup.choose("DNC")
            assert ws.wrapup.save() is not None
            check(app, lang, "dnc_saved")
            with app.cache.session() as s:
                number = s.scalar(select(m.LeadPhone.number_e164).where(m.LeadPhone.lead_id == lead_id))
            ws.show_dialpad()
            ws.dialpad.number_edit.setText(number)
            ws.dialpad.dial_button.click()
            assert ctl.active is None and ctl.last_gate.rule == "dnc"
            check(app, lang, "dnc_blocked")
            ws.dialpad_dialog.hide()

            # 3. The customer's phone rejects the call: the wrap-up says why.
            customer.command("behaviour busy")
            assert customer.wait_for("behaviour", 5)
            ws.actions["dial_next"].trigger()
            qtbot.waitUntil(lambda: ws.wrapup.isVisible(), timeout=15_000)
            assert ws.runtime.wrapup.draft.sip_status == 486
            check(app, lang, "busy")

            # 4. The server goes away; saving the wrap-up syncs at once, and that fails.
            server.stop()
            assert ws.wrapup.save() is not None
            qtbot.waitUntil(lambda: EXPECTED[lang]["sync"] in app.window.status.sync.text(), timeout=20_000)
            check(app, lang, "sync")
        finally:
            if app is not None:
                app._shutdown()
                app.translations.apply("zh_CN")  # translators are application-wide
            customer.stop()
            for handler in list(logging.getLogger().handlers):
                if str(data) in str(getattr(handler, "baseFilename", "")):
                    logging.getLogger().removeHandler(handler)
                    handler.close()
