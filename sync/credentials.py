"""Secrets (server tokens, SIP passwords) in the OS keyring, and nowhere else.

This is the only module that talks to ``keyring``. When the active backend is
not a real OS secret store (keyring's "fail" or "null" backends, a chainer with
nothing secure behind it, or the plaintext/encrypted-file backends from
``keyrings.alt``) every call raises :class:`InsecureKeyringError` and nothing is
written: a password in a file next to the settings is exactly what we promise
agents never happens.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from core.errors import EnvironmentFault

log = logging.getLogger(__name__)

#: keyring "service" name; service_key values are stored as the username under it.
SERVICE = "seatmate"

# Backends that keep secrets in an OS-provided, access-controlled store.
_SECURE_MODULES = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.Windows",
    "keyring.backends.macOS",
)


class CredentialError(EnvironmentFault, RuntimeError):
    """A secret could not be stored or read; the message is meant for the user."""

    code = "keyring.failed"


class InsecureKeyringError(CredentialError):
    """No secure keyring backend is available; we refuse rather than write plaintext."""

    code = "keyring.insecure"


def is_secure_backend(backend: KeyringBackend) -> bool:
    # A chainer is as good as what it chains; an empty one is the "nothing found" case.
    children = getattr(backend, "backends", None)
    if type(backend).__module__ == "keyring.backends.chainer":
        return bool(children) and all(is_secure_backend(b) for b in children)
    module = type(backend).__module__
    return any(module == m or module.startswith(m + ".") for m in _SECURE_MODULES)


def _backend() -> KeyringBackend:
    backend = keyring.get_keyring()
    if not is_secure_backend(backend):
        name = f"{type(backend).__module__}.{type(backend).__name__}"
        log.error("refusing credential access: keyring backend %s is not a secure store", name)
        raise InsecureKeyringError(
            "No secure system keyring is available (found "
            f"{name}); Seatmate will not store passwords in a plain file. "
            "Start your desktop's keyring (e.g. GNOME Keyring / KWallet, or Windows Credential Manager) and try again."
        )
    return backend


def store_secret(service_key: str, secret: str) -> None:
    """Store ``secret`` under ``service_key`` (e.g. "sip:1001@pbx", "server:token")."""
    backend = _backend()
    try:
        backend.set_password(SERVICE, service_key, secret)
    except keyring.errors.KeyringError as exc:
        # Never include the secret; the key is fine to log.
        log.error("storing credential %s failed: %s", service_key, type(exc).__name__)
        raise CredentialError(f"The system keyring refused to store the credential ({exc}).") from exc
    log.info("credential %s stored in %s", service_key, type(backend).__module__)


def get_secret(service_key: str) -> str | None:
    backend = _backend()
    try:
        return backend.get_password(SERVICE, service_key)
    except keyring.errors.KeyringError as exc:
        log.error("reading credential %s failed: %s", service_key, type(exc).__name__)
        raise CredentialError(f"The system keyring could not be read ({exc}).") from exc


def delete_secret(service_key: str) -> bool:
    """Delete the secret; returns False when there was none."""
    backend = _backend()
    try:
        backend.delete_password(SERVICE, service_key)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise CredentialError(f"The system keyring could not delete the credential ({exc}).") from exc
    log.info("credential %s deleted", service_key)
    return True
