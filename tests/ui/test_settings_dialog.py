"""The settings dialog (设置) without a phone: reachable from the View menu and Ctrl+,;
general settings validated by the service (a refused one keeps the old value)."""

from __future__ import annotations

import json

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMainWindow

from app.settings import Settings
from app.workspace.settings_service import SettingsService
from core import messages as m
from ui import messages
from ui.settings_dialog import SettingsDialog, install_settings_entry


class _Runtime(QObject):  # a headless workspace: no phone, no sound devices
    registration = Signal(object)
    phone_ready = Signal(bool, str)
    audio_engine = None

    def __init__(self) -> None:
        super().__init__()
        self.options = {"audio_backend": "tone"}

    def reconfigure_sip(self, sip) -> None:
        self.reconfigured = sip


def _service(tmp_path, server_settings=None) -> tuple[SettingsService, Settings]:
    settings = Settings(path=tmp_path / "settings.json")
    settings.save()
    runtime = _Runtime()
    service = SettingsService(settings, runtime, server_settings=server_settings or dict, parent=runtime)
    service._keep = runtime  # type: ignore[attr-defined]
    return service, settings


def test_ctrl_comma_opens_the_dialog_from_the_view_menu(qtbot, tmp_path) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.view_menu = window.menuBar().addMenu("View")
    window.quit_action = window.view_menu.addAction("Quit")
    made = []

    def make():
        made.append(_service(tmp_path)[0])
        return made[-1]

    action = install_settings_entry(window, make)
    assert window.view_menu.actions().index(action) < window.view_menu.actions().index(window.quit_action)
    assert action.shortcut().toString() == "Ctrl+,"
    window.show()
    qtbot.waitExposed(window)
    action.trigger()
    dialog = window.settings_dialog()
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    assert [dialog.tabs.tabText(i) for i in range(3)] and len(made) == 1
    action.trigger()  # the same dialog again, not a second one
    assert window.settings_dialog() is dialog and len(made) == 1
    dialog.close()


def test_general_settings_validated_and_kept(qtbot, tmp_path) -> None:
    service, settings = _service(tmp_path)
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    assert not dialog.tone_button.isEnabled()  # no sound devices here, and it says so

    # A shortcut that another action uses: refused, the old key stays.
    assert service.set_shortcut("hangup", "F5").code == m.SETTINGS_SHORTCUT_TAKEN
    assert service.set_shortcut("hangup", "Ctrl+,").code == m.SETTINGS_SHORTCUT_TAKEN  # the dialog's own
    assert service.set_shortcut("hangup", "").code == m.SETTINGS_BAD_SHORTCUT
    assert service.shortcuts()["hangup"] == "F8"
    assert dialog.message.text() == messages.text(_msg(m.SETTINGS_BAD_SHORTCUT, keys=""))
    assert service.set_shortcut("hangup", "Ctrl+Shift+H") is None
    assert json.loads(settings.path.read_text())["shortcuts"]["hangup"] == "Ctrl+Shift+H"

    assert service.set_recording_policy("sometimes").code == m.SETTINGS_INVALID
    assert service.set_recording_policy("never") is None
    assert json.loads(settings.path.read_text())["recording"]["policy"] == "never"
    dialog.minimised.setChecked(True)
    assert json.loads(settings.path.read_text())["workspace"]["start_minimised"] is True
    assert service.set_language("fr").code == m.SETTINGS_INVALID


def test_recording_policy_set_by_the_server_cannot_be_changed(qtbot, tmp_path) -> None:
    service, settings = _service(tmp_path, server_settings=lambda: {"recording_policy": "always"})
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    assert not dialog.recording.isEnabled()
    assert service.set_recording_policy("never").code == m.SETTINGS_RECORDING_LOCKED
    assert settings.recording["policy"] == "campaign"


def test_sip_page_refuses_invalid_values_without_a_phone(qtbot, tmp_path) -> None:
    service, settings = _service(tmp_path)
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    dialog.sip_fields["user"].setText("1001")
    dialog.sip_fields["domain"].setText("pbx.example.com")
    dialog.sip_fields["codecs"].setText("PCMA, MP3")
    qtbot.mouseClick(dialog.sip_apply, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == messages.text(
        _msg(m.SIP_UNKNOWN_CODEC, field="codecs", value="MP3",
                   choices=("PCMU", "PCMA", "G722", "opus", "speex", "iLBC", "GSM", "G729", "L16", "AMR", "AMR-WB")))
    assert settings.sip == {}
    dialog.sip_fields["codecs"].setText("PCMA, PCMU")
    qtbot.mouseClick(dialog.sip_apply, Qt.MouseButton.LeftButton)
    assert settings.sip["codecs"] == ["PCMA", "PCMU"]
    assert service.parent().reconfigured.codecs == ("PCMA", "PCMU")


def _msg(code, **params):
    return m.Message.of(code, **params)


