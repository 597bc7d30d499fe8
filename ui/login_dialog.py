"""Log in to the team's server, the 账号 menu, and logging out.

The dialog never blocks: the login runs on the sync thread (through the
session service) while a busy bar shows; the agent's local work goes on behind
the window-modal dialog. The password goes to the session service and nowhere
else (the sync client keeps the session it gets in the OS keyring); the server
address and user name are remembered in settings when "remember" is ticked.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from core.messages import Message
from ui import messages
from ui.rejected_events import RejectedEventsDialog, RejectedIndicator

log = logging.getLogger(__name__)


class LoginDialog(QDialog):
    """Server address, user name, password, remember; one line of error; a busy bar."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("loginDialog")
        self.server = QLineEdit(session.default_url())
        self.server.setObjectName("loginServer")
        self.user = QLineEdit(session.remembered_user())
        self.user.setObjectName("loginUser")
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox()
        self.remember.setObjectName("loginRemember")
        self.remember.setChecked(session.remember_enabled())
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("loginProgress")
        self.progress.setRange(0, 0)  # busy
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.form = QFormLayout()
        self.form.addRow("", self.server)
        self.form.addRow("", self.user)
        self.form.addRow("", self.password)
        self.form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        session.login_busy.connect(self._busy)
        session.login_result.connect(self._result)
        self._retranslate()
        self.setMinimumWidth(420)

    def ask(self, reason: Message | str = "") -> None:
        """Show (window-modal, not blocking), with the reason it is asked for."""
        self.error.setText(messages.text(reason))
        if not self.server.text():
            self.server.setText(self.session.default_url())
        if not self.user.text():
            self.user.setText(self.session.remembered_user())
        self.password.clear()
        (self.password if self.user.text() and self.server.text() else
         self.server if not self.server.text() else self.user).setFocus()
        self.open()

    def _submit(self) -> None:
        self.error.clear()
        self.session.login(self.server.text(), self.user.text(), self.password.text(), self.remember.isChecked())

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not busy)
        for field in (self.server, self.user, self.password, self.remember):
            field.setEnabled(not busy)
        if busy:
            self.error.setStyleSheet("color: palette(text);")
            self.error.setText(self.tr("Logging in…"))

    def _result(self, outcome: Any) -> None:
        self.password.clear()
        if outcome.ok:
            self.error.clear()
            if self.isVisible():
                self.accept()
            return
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setText(messages.text(outcome.message))
        (self.server if outcome.kind == "unreachable" else self.password).setFocus()

    def _retranslate(self) -> None:
        self.setWindowTitle(self.tr("Log in to the server"))
        labels = (self.tr("Server"), self.tr("User name"), self.tr("Password"))
        for row, text in enumerate(labels):
            label = self.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if label is not None and label.widget() is not None:
                label.widget().setText(text)
        self.server.setPlaceholderText(self.tr("e.g. http://192.168.1.10:8765"))
        self.remember.setText(self.tr("Remember the server and user name (never the password)"))
        self.hint.setText(self.tr("You can keep working while you are not logged in: everything is kept on "
                                  "this computer and sent once you are."))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Log in"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)


class AccountUi(QObject):
    """The 账号 menu (log in / log out / rejected records), the login dialog and the rejected indicator."""

    def __init__(self, window: Any, session: Any) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.dialog = LoginDialog(session, window)
        self.rejected_dialog = RejectedEventsDialog(window)
        self.indicator = RejectedIndicator()
        window.status.addPermanentWidget(self.indicator)
        self.indicator.open_requested.connect(self.show_rejected)
        self.menu = window.menuBar().addMenu("")
        self.menu.setObjectName("accountMenu")
        self.login_action = QAction(window, objectName="accountLogin")
        self.logout_action = QAction(window, objectName="accountLogout")
        self.rejected_action = QAction(window, objectName="accountRejected")
        self.login_action.triggered.connect(self.open_login)
        self.logout_action.triggered.connect(self.request_logout)
        self.rejected_action.triggered.connect(self.show_rejected)
        for action in (self.login_action, self.logout_action, self.rejected_action):
            self.menu.addAction(action)
        self.confirm: QMessageBox | None = None
        session.state_changed.connect(self._on_state)
        session.login_needed.connect(self.dialog.ask)
        session.login_result.connect(self._on_login_result)
        session.rejected_changed.connect(self._on_rejected)
        session.logout_finished.connect(self._on_logout_finished)
        window.installEventFilter(self)
        self._retranslate()
        self._on_state(session.state())
        self._on_rejected(list(getattr(session, "rejected", [])))

    # -- login ----------------------------------------------------------------------
    def open_login(self) -> None:
        if not self.session.server_mode:
            self._box(QMessageBox.Icon.Information, self.tr(
                "This computer runs the built-in demo (no server). Start Seatmate with "
                "`seatmate --server http://SERVER:8765` to log in to your team's server."))
            return
        self.dialog.ask()

    def _on_login_result(self, outcome: Any) -> None:
        if outcome.ok:
            self.window.status.showMessage(self.tr("Logged in as %1").replace("%1", outcome.display_name), 8000)

    # -- logout ---------------------------------------------------------------------
    def request_logout(self) -> None:
        left = self.session.unsynced()
        if left["draft"]:
            self._box(QMessageBox.Icon.Warning, self.tr("Save the open wrap-up before logging out."))
            return
        count = left["events"] + left["recordings"]
        if count:
            text = self.tr("%1 records have not reached the server yet. Log out anyway? They will be exported "
                           "to a file first, then removed from this computer with the customer data.") \
                .replace("%1", str(count))
            export = True
        else:
            text = self.tr("Log out? The customer data will be removed from this computer.")
            export = False
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Log out"), text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window)
        box.setObjectName("logoutConfirm")
        box.button(QMessageBox.StandardButton.Yes).setText(
            self.tr("Export and log out") if export else self.tr("Log out"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self.session.logout(export=export))
        self.confirm = box
        box.open()

    def _on_logout_finished(self, outcome: Any) -> None:
        if outcome.ok:
            self.window.refresh()
            self.window.status.showMessage(messages.text(outcome.message), 15000)
            self.dialog.ask()
        else:
            self._box(QMessageBox.Icon.Warning, messages.text(outcome.message))

    # -- rejected events ----------------------------------------------------------------
    def _on_rejected(self, items: list) -> None:
        self.indicator.set_count(len(items))
        self.rejected_dialog.set_items(items)

    def show_rejected(self) -> None:
        self.rejected_dialog.show()
        self.rejected_dialog.raise_()

    # -- helpers ------------------------------------------------------------------------
    def _on_state(self, state: Any) -> None:
        self.logout_action.setEnabled(state.server_mode and state.logged_in)
        self.login_action.setEnabled(not state.logged_in)
        self.rejected_action.setEnabled(state.server_mode)

    def _box(self, icon: QMessageBox.Icon, text: str) -> QMessageBox:
        box = QMessageBox(icon, self.tr("Account"), text, QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("accountNotice")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        return False

    def _retranslate(self) -> None:
        self.menu.setTitle(self.tr("&Account"))
        self.login_action.setText(self.tr("Log in to the server…"))
        self.logout_action.setText(self.tr("Log out"))
        self.rejected_action.setText(self.tr("Rejected records…"))
