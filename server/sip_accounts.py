"""Central SIP provisioning: each user's SIP account, set by an admin, pulled by that user.

The account's settings are validated with the app's own model (core.sip_settings), so a
value the app would refuse is refused here first. The SIP password is encrypted at rest
with Fernet (AES-128-CBC + HMAC-SHA256, cryptography) under the server's SIP key, which
is NOT in the database (a database dump alone reveals no SIP password):

- ``SEATMATE_SERVER_SIP_KEY`` (a Fernet key: 32 url-safe base64 bytes) when set — what
  several server instances must share;
- else ``<data dir>/sip-password.key``, created owner-only on first use.

The pull (entity ``sip_account``, the caller's own only: scope ``u:<user id>``) carries
the decrypted password over the authenticated connection; the app puts it in the OS
keyring and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contract import ChangeOp, Entity
from core.sip_settings import SipSettingsError, parse_sip
from core.timeutil import utcnow
from server import changes
from server.models import SipAccount, User

ENV_SIP_KEY = "SEATMATE_SERVER_SIP_KEY"
KEY_FILE = "sip-password.key"

_cipher: Fernet | None = None


class SipAccountError(ValueError):
    """An admin's SIP account cannot be stored (unknown user, invalid value)."""


def load_key(data_dir: Path) -> bytes:
    env = os.environ.get(ENV_SIP_KEY, "").strip()
    if env:
        Fernet(env.encode())  # raises ValueError when it is not a Fernet key
        return env.encode()
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        with contextlib.suppress(FileExistsError):  # another worker made it first: use theirs
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
                fh.flush()
                os.fsync(fh.fileno())
    return path.read_bytes().strip()


def configure(data_dir: Path) -> Fernet:
    """Set this process's SIP key (the server at start, the admin CLI)."""
    global _cipher
    _cipher = Fernet(load_key(data_dir))
    return _cipher


def _fernet() -> Fernet:
    if _cipher is None:
        raise RuntimeError("the SIP key is not configured (server.sip_accounts.configure)")
    return _cipher


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # Another key (a lost key file, an instance without the shared key): send no password
        # rather than garbage; the app keeps the one in its keyring.
        return ""


def set_sip(session: Session, username: str, values: dict[str, Any], password: str | None) -> SipAccount:
    """Create or change ``username``'s SIP account; ``password`` None keeps the stored one.
    Unset fields keep their stored values. The user's next pull carries it."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise SipAccountError(f"no user {username!r}")
    row = session.get(SipAccount, user.id)
    merged = {**(row.settings if row is not None else {}),
              **{k: v for k, v in values.items() if v is not None}}
    merged.setdefault("user", user.sip_user or "")
    try:
        parsed = parse_sip(merged)
    except SipSettingsError as exc:
        raise SipAccountError(f"sip.{exc.field}: {exc.code} {exc.params}") from exc
    if not parsed.configured:
        raise SipAccountError("a SIP account needs --sip-user (or the user's sip_user) and --domain")
    data = parsed.to_dict()
    data.pop("provisioned", None)
    if row is None:
        row = SipAccount(user_id=user.id, settings=data, password_enc=encrypt(password or ""), version=1,
                         updated_at=utcnow())
        session.add(row)
    else:
        row.settings = data
        if password is not None:
            row.password_enc = encrypt(password)
        row.version = (row.version or 0) + 1
        row.updated_at = utcnow()
    if user.sip_user != parsed.user:
        user.sip_user = parsed.user  # the monitoring grants address the agent by it
    changes.note(session, changes.user_scope(user.id), Entity.SIP_ACCOUNT, user.id)
    return row


def delete_sip(session: Session, username: str) -> bool:
    user = session.scalar(select(User).where(User.username == username))
    row = session.get(SipAccount, user.id) if user is not None else None
    if row is None or user is None:
        return False
    session.delete(row)
    changes.note(session, changes.user_scope(user.id), Entity.SIP_ACCOUNT, user.id, ChangeOp.DELETE)
    return True


def serialize(row: Any) -> dict[str, Any]:
    """The pulled ``sip_account``: settings, the password (decrypted), and a version."""
    return {"settings": dict(row.settings or {}), "password": decrypt(row.password_enc or ""),
            "version": int(row.version or 0)}
