"""The settings dialog (设置): audio, SIP account, general. Reached from the View menu and
Ctrl+, (``install_settings_entry``).

Talks only to ``app.workspace.settings_service.SettingsService`` (and its ``sip`` and ``tester``):
every change goes through it, is validated there, and its answer (a message code)
is shown on the dialog's message line; an invalid change leaves the old setting in
use. Audio choices switch the call audio at once; a SIP change re-registers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.messages import Message
from ui import messages

log = logging.getLogger(__name__)

CTX = "SettingsDialog"
SETTINGS_KEYS = "Ctrl+,"


def _t(text: str) -> str:
    return QCoreApplication.translate(CTX, text)


class SettingsDialog(QDialog):
    def __init__(self, service: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setObjectName("settingsDialog")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._audio_page(), "")
        self.tabs.addTab(self._sip_page(), "")
        self.tabs.addTab(self._general_page(), "")
        self.tabs.currentChanged.connect(self._on_tab)
        self.message = QLabel(objectName="settingsMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._last_message: Message | None = None
        service.message.connect(self.show_message)
        service.devicesChanged.connect(self._fill_devices)
        service.sip.state_changed.connect(self._show_sip_state)
        service.sip.changed.connect(lambda _s: self._fill_sip())
        if service.tester is not None:
            service.tester.micLevel.connect(self._on_level)
            service.tester.echoFinished.connect(lambda: self.echo_button.setChecked(False))
        self._fill_devices(service.devices())
        self._fill_sip()
        self._fill_general()
        self.retranslate()
        self.resize(620, 520)

    # -- pages ---------------------------------------------------------------------------
    def _audio_page(self) -> QWidget:
        page = QWidget(objectName="audioPage")
        self.mic = QComboBox(objectName="micDevice")
        self.speaker = QComboBox(objectName="speakerDevice")
        self.ringer = QComboBox(objectName="ringerDevice")
        for role, box in (("microphone", self.mic), ("speaker", self.speaker), ("ringer", self.ringer)):
            box.activated.connect(lambda _i, r=role, b=box: self._choose(r, b.currentText()))
        self.level = QProgressBar(objectName="micLevel")
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.tone_button = QPushButton(objectName="toneButton")
        self.tone_button.clicked.connect(self.play_tone)
        self.echo_button = QPushButton(objectName="echoButton", checkable=True)
        self.echo_button.toggled.connect(self._echo)
        self.audio_note = QLabel(objectName="audioNote")
        self.audio_note.setWordWrap(True)
        form = QFormLayout(page)
        self._audio_labels = [QLabel() for _ in range(4)]
        form.addRow(self._audio_labels[0], self.mic)
        form.addRow(self._audio_labels[1], self.level)
        form.addRow(self._audio_labels[2], self.speaker)
        form.addRow(self._audio_labels[3], self.ringer)
        row = QHBoxLayout()
        row.addWidget(self.tone_button)
        row.addWidget(self.echo_button)
        row.addStretch(1)
        form.addRow(row)
        form.addRow(self.audio_note)
        return page

    def _sip_page(self) -> QWidget:
        page = QWidget(objectName="sipPage")
        self.sip_fields: dict[str, QLineEdit] = {}
        for name in ("user", "domain", "auth_user", "display_name", "registrar", "secondary_registrar",
                     "outbound_proxy", "stun_servers", "tls_ca_file", "codecs"):
            self.sip_fields[name] = QLineEdit(objectName=f"sip_{name}")
        self.sip_password = QLineEdit(objectName="sip_password")
        self.sip_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sip_transport = QComboBox(objectName="sip_transport")
        self.sip_transport.addItems(["udp", "tcp", "tls"])
        self.sip_srtp = QComboBox(objectName="sip_srtp")
        self.sip_srtp.addItems(["off", "optional", "mandatory"])
        self.sip_verify = QCheckBox(objectName="sip_tls_verify")
        self.sip_keepalive = QSpinBox(objectName="sip_keepalive")
        self.sip_keepalive.setRange(1, 3600)  # the service says what is allowed
        self.sip_state = QLabel(objectName="sipState")
        self.sip_error = QLabel(objectName="sipLastError")
        self.sip_error.setWordWrap(True)
        self.sip_error.setStyleSheet("color: #c0392b;")
        self.sip_note = QLabel(objectName="sipNote")
        self.sip_note.setWordWrap(True)
        self.sip_apply = QPushButton(objectName="sipApply")
        self.sip_apply.clicked.connect(self.apply_sip)
        form = QFormLayout(page)
        self._sip_labels: dict[str, QLabel] = {}
        rows: list[tuple[str, QWidget]] = [
            ("state", self.sip_state), ("last_error", self.sip_error),
            ("user", self.sip_fields["user"]), ("password", self.sip_password),
            ("domain", self.sip_fields["domain"]), ("auth_user", self.sip_fields["auth_user"]),
            ("display_name", self.sip_fields["display_name"]), ("transport", self.sip_transport),
            ("registrar", self.sip_fields["registrar"]), ("secondary_registrar", self.sip_fields["secondary_registrar"]),
            ("outbound_proxy", self.sip_fields["outbound_proxy"]), ("stun_servers", self.sip_fields["stun_servers"]),
            ("srtp", self.sip_srtp), ("tls_verify", self.sip_verify), ("tls_ca_file", self.sip_fields["tls_ca_file"]),
            ("keepalive", self.sip_keepalive), ("codecs", self.sip_fields["codecs"]),
        ]
        for key, widget in rows:
            label = QLabel()
            self._sip_labels[key] = label
            form.addRow(label, widget)
        form.addRow(self.sip_note)
        form.addRow(self.sip_apply)
        return page

    def _general_page(self) -> QWidget:
        page = QWidget(objectName="generalPage")
        self.language = QComboBox(objectName="language")
        self.language.addItem("简体中文", "zh_CN")
        self.language.addItem("English", "en")
        self.language.activated.connect(lambda _i: self._answer(self.service.set_language(self.language.currentData())))
        self.recording = QComboBox(objectName="recordingPolicy")
        for policy in ("campaign", "always", "never"):
            self.recording.addItem("", policy)
        self.recording.activated.connect(self._set_recording)
        self.minimised = QCheckBox(objectName="startMinimised")
        self.minimised.toggled.connect(lambda on: self._answer(self.service.set_start_minimised(on)))
        self.shortcut_table = QTableWidget(0, 2, objectName="shortcuts")
        self.shortcut_table.verticalHeader().setVisible(False)
        self.shortcut_table.horizontalHeader().setStretchLastSection(True)
        self._shortcut_edits: dict[str, QKeySequenceEdit] = {}
        form = QFormLayout(page)
        self._general_labels = [QLabel() for _ in range(3)]
        form.addRow(self._general_labels[0], self.language)
        form.addRow(self._general_labels[1], self.recording)
        form.addRow(self._general_labels[2], self.minimised)
        form.addRow(self.shortcut_table)
        return page

    # -- filling -------------------------------------------------------------------------
    def _fill_devices(self, devices: Any) -> None:
        for box, names, chosen in ((self.mic, devices.inputs, devices.microphone),
                                   (self.speaker, devices.outputs, devices.speaker),
                                   (self.ringer, devices.outputs, devices.ringer)):
            box.blockSignals(True)
            box.clear()
            box.addItems(list(names))
            if chosen in names:
                box.setCurrentText(chosen)
            box.blockSignals(False)
        available = self.service.audio_available
        for widget in (self.tone_button, self.echo_button, self.level):
            widget.setEnabled(available)

    def _fill_sip(self) -> None:
        current = self.service.sip.current
        for name, edit in self.sip_fields.items():
            value = getattr(current, name)
            edit.setText(", ".join(value) if isinstance(value, tuple) else str(value))
        self.sip_transport.setCurrentText(current.transport)
        self.sip_srtp.setCurrentText(current.srtp)
        self.sip_verify.setChecked(current.tls_verify_server)
        self.sip_keepalive.setValue(current.keepalive_s)
        self.sip_password.clear()
        self._show_sip_state(self.service.sip.state)

    def _fill_general(self) -> None:
        settings = self.service.settings
        index = self.language.findData(getattr(settings, "language", "zh_CN"))
        self.language.setCurrentIndex(max(index, 0))
        self.recording.setCurrentIndex(max(self.recording.findData(self.service.recording_policy()), 0))
        self.recording.setEnabled(not self.service.recording_locked())
        self.minimised.blockSignals(True)
        self.minimised.setChecked(self.service.start_minimised())
        self.minimised.blockSignals(False)
        shortcuts = self.service.shortcuts()
        self.shortcut_table.setRowCount(len(shortcuts))
        for row, (action, keys) in enumerate(shortcuts.items()):
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, action)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.shortcut_table.setItem(row, 0, item)
            edit = QKeySequenceEdit(QKeySequence(keys), objectName=f"shortcut_{action}")
            edit.setMaximumSequenceLength(1)
            edit.editingFinished.connect(lambda a=action, e=edit: self._set_shortcut(a, e))
            self.shortcut_table.setCellWidget(row, 1, edit)
            self._shortcut_edits[action] = edit

    # -- actions -------------------------------------------------------------------------
    def _choose(self, role: str, name: str) -> None:
        if self._answer(self.service.choose_device(role, name)) is None and role == "microphone":
            self.start_meter()

    def start_meter(self) -> None:
        if self.service.tester is not None:
            self.service.tester.start_meter(self.mic.currentText() or None)

    def play_tone(self) -> None:
        if self.service.tester is not None:
            self.service.tester.play_tone(self.speaker.currentText() or None)

    def _on_level(self, rms: float, peak: float) -> None:
        self.level.setValue(min(100, int(peak * 100)))

    def _echo(self, on: bool) -> None:
        if self.service.tester is None:
            return
        if on:
            self.service.tester.stop_meter()
            ok = self.service.tester.start_echo(self.mic.currentText() or None, self.speaker.currentText() or None)
            if not ok:
                self.echo_button.setChecked(False)
        else:
            self.service.tester.stop_echo()
            if self.isVisible() and self.tabs.currentIndex() == 0:
                self.start_meter()

    def sip_values(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: edit.text().strip() for name, edit in self.sip_fields.items()}
        data["transport"] = self.sip_transport.currentText()
        data["srtp"] = self.sip_srtp.currentText()
        data["tls_verify_server"] = self.sip_verify.isChecked()
        data["keepalive_s"] = self.sip_keepalive.value()
        current = self.service.sip.current
        data["reg_expires_s"] = current.reg_expires_s
        data["reg_retry_s"] = current.reg_retry_s
        return data

    def apply_sip(self) -> Message | None:
        password = self.sip_password.text() or None
        error = self.service.sip.apply(self.sip_values(), password)
        if error is not None:
            self.sip_error.setText(messages.text(error))
        return error

    def _set_recording(self, _index: int) -> None:
        if self._answer(self.service.set_recording_policy(self.recording.currentData())) is not None:
            self.recording.setCurrentIndex(max(self.recording.findData(self.service.recording_policy()), 0))

    def _set_shortcut(self, action: str, edit: QKeySequenceEdit) -> None:
        keys = edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
        if keys == self.service.shortcuts().get(action):
            return
        if self._answer(self.service.set_shortcut(action, keys)) is not None:
            edit.setKeySequence(QKeySequence(self.service.shortcuts()[action]))  # the old one stays

    def _answer(self, error: Message | None) -> Message | None:
        return error  # the service's message signal already put it on the message line

    def show_message(self, message: Message) -> None:
        self._last_message = message
        self.message.setText(messages.text(message))

    def _show_sip_state(self, state: Message) -> None:
        self.sip_state.setText(messages.text(state))
        error = self.service.sip.last_error
        self.sip_error.setText(messages.text(error) if error is not None else "—")

    # -- life ----------------------------------------------------------------------------
    def _on_tab(self, index: int) -> None:
        if index == 0 and self.isVisible():
            self.start_meter()
        elif self.service.tester is not None:
            self.service.tester.stop_meter()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._on_tab(self.tabs.currentIndex())

    def closeEvent(self, event: Any) -> None:
        self.service.close()
        super().closeEvent(event)

    def hideEvent(self, event: Any) -> None:
        self.service.close()
        super().hideEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setWindowTitle(_t("Settings"))
        self.tabs.setTabText(0, _t("Audio"))
        self.tabs.setTabText(1, _t("SIP account"))
        self.tabs.setTabText(2, _t("General"))
        for label, text in zip(self._audio_labels, (_t("Microphone"), _t("Microphone level"), _t("Speaker"),
                                                     _t("Ringer")), strict=True):
            label.setText(text)
        self.tone_button.setText(_t("Play a test tone"))
        self.echo_button.setText(_t("Echo test (hear yourself a second later)"))
        self.audio_note.setText(_t("A new choice applies at once, in a call too.") if self.service.audio_available
                                else _t("This workstation runs without sound devices (audio_backend: tone)."))
        sip_texts = {
            "state": _t("Registration"), "last_error": _t("Last error"), "user": _t("User / extension"),
            "password": _t("Password"), "domain": _t("Domain (PBX)"), "auth_user": _t("Authentication user"),
            "display_name": _t("Display name"), "transport": _t("Transport"), "registrar": _t("Registrar"),
            "secondary_registrar": _t("Secondary registrar"), "outbound_proxy": _t("Outbound proxy"),
            "stun_servers": _t("STUN servers"), "srtp": _t("SRTP (encrypted audio)"),
            "tls_verify": _t("Verify the server certificate"), "tls_ca_file": _t("CA certificate file"),
            "keepalive": _t("Keep-alive (s)"), "codecs": _t("Codecs, preferred first"),
        }
        for key, label in self._sip_labels.items():
            label.setText(sip_texts[key])
        self.sip_password.setPlaceholderText(_t("unchanged (kept in the system keyring)"))
        self.sip_apply.setText(_t("Apply and register again"))
        self.sip_note.setText(_t("Set by the server for your account; a change here lasts until the server "
                                 "sends a new one.") if self.service.sip.current.provisioned else "")
        for label, text in zip(self._general_labels, (_t("Language"), _t("Recording"), _t("Start minimised")),
                               strict=True):
            label.setText(text)
        for index, text in enumerate((_t("As the campaign says"), _t("Always"), _t("Never"))):
            self.recording.setItemText(index, text)
        self.shortcut_table.setHorizontalHeaderLabels([_t("Action"), _t("Keys")])
        from app.workspace.shortcuts import resolve

        table = resolve(None)
        for row in range(self.shortcut_table.rowCount()):
            item = self.shortcut_table.item(row, 0)
            action = item.data(Qt.ItemDataRole.UserRole)
            if action in table:
                item.setText(QCoreApplication.translate("Shortcuts", table[action].description))
        if self._last_message is not None:
            self.message.setText(messages.text(self._last_message))
        self._show_sip_state(self.service.sip.state)


class _Retranslator(QObject):
    def __init__(self, action: QAction, parent: QObject) -> None:
        super().__init__(parent)
        self.action = action

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange:
            self.action.setText(_t("Settings…"))
        return False


def install_settings_entry(window: Any, make_service: Callable[[], Any]) -> QAction:
    """A "Settings…" (设置) entry in the window's View menu, Ctrl+, — the dialog is made on
    first use and kept (one per window)."""
    action = QAction(_t("Settings…"), window)
    action.setObjectName("settingsAction")
    action.setShortcut(QKeySequence(SETTINGS_KEYS))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setMenuRole(QAction.MenuRole.PreferencesRole)
    state: dict[str, Any] = {}

    def open_dialog() -> None:
        dialog = state.get("dialog")
        if dialog is None:
            dialog = state["dialog"] = SettingsDialog(make_service(), window)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    action.triggered.connect(open_dialog)
    menu = getattr(window, "view_menu", None)
    quit_action = getattr(window, "quit_action", None)
    if menu is not None:
        if quit_action is not None:
            menu.insertAction(quit_action, action)
        else:
            menu.addAction(action)
    window.addAction(action)
    window.installEventFilter(_Retranslator(action, window))
    window.settings_dialog = lambda: state.get("dialog")
    return action
