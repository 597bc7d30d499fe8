"""One running Seatmate per user and data folder.

The first instance listens on a QLocalServer (a Unix socket / Windows named
pipe). A later ``seatmate dial 138…`` or ``seatmate tel:138…`` connects,
sends one JSON line and exits 0 once the running window has acknowledged it.
Numbers are never logged in full.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
from pathlib import Path
from urllib.parse import unquote

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.digest import sha256
from core.phone import PhoneError, mask, normalise

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
REPLY_TIMEOUT_MS = 3000
_URL = re.compile(r"^(tel|sip|sips|callto):(//)?", re.I)


def server_name(data_dir: Path) -> str:
    """Stable per user and data folder, short enough for a Unix socket path."""
    try:
        user = getpass.getuser()
    except Exception:  # no user database entry (containers): the folder alone is enough
        user = "?"
    digest = sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:16]
    return f"seatmate-{digest}"


def number_from_argument(text: str) -> str:
    """``13800138000``, ``tel:+86-138-0013-8000``, ``sip:13800138000@pbx;user=phone`` → E.164.

    Raises PhoneError (whose message never holds the number) if it is not a number.
    """
    raw = unquote(text.strip())
    raw = _URL.sub("", raw)
    raw = raw.split(";", 1)[0].split("?", 1)[0]
    if "@" in raw:  # sip:user@host — the user part is the number
        raw = raw.split("@", 1)[0]
    return normalise(raw)


def is_dial_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))


class SingleInstance(QObject):
    """Server side, in the running app. ``dialRequested`` carries an E.164 number."""

    dialRequested = Signal(str)
    activateRequested = Signal()

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            log.info("single-instance server listening")
            return True
        # A stale socket from a crashed run: nobody answered, so it is safe to remove.
        QLocalServer.removeServer(self.name)
        ok = self._server.listen(self.name)
        if not ok:
            log.error("single-instance server could not listen: %s", self._server.errorString())
        return ok

    def close(self) -> None:
        self._server.close()

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._on_ready(s))
            sock.disconnected.connect(sock.deleteLater)

    def _on_ready(self, sock: QLocalSocket) -> None:
        if not sock.canReadLine():
            return
        line = bytes(sock.readLine().data()).decode("utf-8", "replace")
        try:
            message = json.loads(line)
            command = message.get("cmd")
        except (ValueError, AttributeError):
            command, message = None, {}
        if command == "dial":
            try:
                number = normalise(str(message.get("number", "")))
            except PhoneError as exc:
                log.warning("hand-off with an unusable number refused: %s", exc)
                sock.write(b'{"ok": false, "error": "bad number"}\n')
            else:
                log.info("dial hand-off received for %s", mask(number))
                sock.write(b'{"ok": true}\n')
                self.dialRequested.emit(number)
        elif command == "activate":
            sock.write(b'{"ok": true}\n')
            self.activateRequested.emit()
        else:
            log.warning("unknown single-instance message ignored")
            sock.write(b'{"ok": false, "error": "unknown command"}\n')
        sock.flush()


def send_to_running(name: str, message: dict) -> bool | None:
    """Client side. True: the running instance took it; False: it refused;
    None: no instance is running (the caller starts the GUI itself)."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
        return None
    sock.write((json.dumps(message) + "\n").encode())
    sock.flush()
    reply = b""
    # Bounded: at most REPLY_TIMEOUT_MS in total spread over a few waits.
    for _ in range(30):
        if sock.canReadLine():
            reply = bytes(sock.readLine().data())
            break
        if not sock.waitForReadyRead(REPLY_TIMEOUT_MS // 30):
            if sock.state() != QLocalSocket.LocalSocketState.ConnectedState:
                break
    sock.disconnectFromServer()
    try:
        return bool(json.loads(reply.decode()).get("ok"))
    except ValueError:
        log.warning("the running instance did not answer the hand-off")
        return False
