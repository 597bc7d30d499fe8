"""Log in to the team's server (server mode): user name and password, one line of error.

The password goes straight to the sync service (which keeps the session in the OS
keyring); the dialog never stores it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget


class LoginDialog(QDialog):
    login_requested = Signal(str, str)  # user name, password

    def __init__(self, server_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle(self.tr("Log in"))
        self.server = QLabel(server_url)
        self.user = QLineEdit()
        self.user.setObjectName("loginUser")
        self.password = QLineEdit()
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("Server"), self.server)
        form.addRow(self.tr("User name"), self.user)
        form.addRow(self.tr("Password"), self.password)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _submit(self) -> None:
        user = self.user.text().strip()
        if not user or not self.password.text():
            self.error.setText(self.tr("Enter your user name and password"))
            return
        self.error.setText(self.tr("Logging in…"))
        self.buttons.setEnabled(False)
        self.login_requested.emit(user, self.password.text())

    def finished_login(self, ok: bool, detail: str) -> None:
        self.buttons.setEnabled(True)
        self.password.clear()
        if ok:
            self.error.clear()
            self.accept()
        else:
            self.error.setText(self.tr("Login failed: %1").replace("%1", detail))
