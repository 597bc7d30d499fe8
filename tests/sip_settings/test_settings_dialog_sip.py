"""The settings dialog's SIP page on a running app runtime: a change re-registers at
Kamailio at once; an invalid value is explained and the account in use stays."""

from __future__ import annotations

import json

import pytest

from core import messages as m

pytestmark = pytest.mark.sip


def test_sip_page_changes_transport_and_refuses_a_bad_proxy(qtbot, app_line, kamailio) -> None:
    from app.workspace.settings_service import SettingsService
    from ui import messages
    from ui.settings_dialog import SettingsDialog

    runtime = app_line.start({"user": "1001", "domain": kamailio.domain})
    qtbot.waitUntil(lambda: any(r.registered for r in app_line.regs), timeout=20_000)
    service = SettingsService(app_line.settings, runtime)
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dialog.sip_state.text() != "", timeout=5000)
    assert dialog.sip_fields["user"].text() == "1001"

    # 1. TCP instead of UDP: applied at once, saved, registered again over TCP.
    before = len(app_line.regs)
    dialog.sip_transport.setCurrentText("tcp")
    qtbot.mouseClick(dialog.sip_apply, qtbot_button())
    qtbot.waitUntil(lambda: any(r.registered and "transport=tcp" in r.registrar for r in app_line.regs[before:]),
                    timeout=20_000)
    assert json.loads(app_line.settings.path.read_text())["sip"]["transport"] == "tcp"
    qtbot.waitUntil(lambda: dialog.sip_state.text() == messages.text(m.Message.of(m.SIP_REG_OK)), timeout=5000)

    # 2. A proxy that is not a SIP address: explained, nothing saved, still registered over TCP.
    saved = app_line.settings.path.read_text()
    count = len(app_line.regs)
    dialog.sip_fields["outbound_proxy"].setText("proxy.example.com:5060")
    qtbot.mouseClick(dialog.sip_apply, qtbot_button())
    expected = messages.text(m.Message.of(m.SIP_INVALID_URI, field="outbound_proxy", value="proxy.example.com:5060"))
    assert dialog.message.text() == expected and dialog.sip_error.text() == expected
    assert app_line.settings.path.read_text() == saved
    assert service.sip.current.transport == "tcp" and service.sip.current.outbound_proxy == ""
    qtbot.wait(500)
    assert len(app_line.regs) == count  # nothing re-registered

    # 3. The same for mandatory SRTP over TCP.
    dialog.sip_fields["outbound_proxy"].setText("")
    dialog.sip_srtp.setCurrentText("mandatory")
    qtbot.mouseClick(dialog.sip_apply, qtbot_button())
    assert dialog.message.text() == messages.text(m.Message.of(m.SIP_SRTP_NEEDS_TLS, field="srtp"))
    assert app_line.settings.path.read_text() == saved
    dialog.close()


def test_a_wrong_password_is_said_in_plain_words(qtbot, app_line, kamailio) -> None:
    from app.workspace.settings_service import SettingsService
    from ui import messages
    from ui.settings_dialog import SettingsDialog

    runtime = app_line.start({"user": "1001", "domain": kamailio.domain})
    qtbot.waitUntil(lambda: any(r.registered for r in app_line.regs), timeout=20_000)
    service = SettingsService(app_line.settings, runtime)
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    dialog.sip_password.setText("not-the-password")
    qtbot.mouseClick(dialog.sip_apply, qtbot_button())
    want = messages.text(m.Message.of(m.SIP_REG_AUTH, status=403))
    want401 = messages.text(m.Message.of(m.SIP_REG_AUTH, status=401))
    qtbot.waitUntil(lambda: dialog.sip_error.text() in (want, want401), timeout=20_000)
    from sync.credentials import get_secret

    assert get_secret("sip:1001") == "not-the-password"  # the keyring, never settings.json
    assert "not-the-password" not in app_line.settings.path.read_text()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
