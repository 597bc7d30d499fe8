"""Credentials go to a real Secret Service (gnome-keyring) or nowhere."""

from __future__ import annotations

import os
import time
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from sync import credentials
from tests.faults import harness


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory):
    """A real gnome-keyring Secret Service in the test run's D-Bus session."""
    with harness.secret_service(tmp_path_factory.mktemp("keyring-home")):
        yield


def test_store_read_delete_in_real_secret_service(secret_service):
    key = f"test:{os.getpid()}:{time.monotonic_ns()}"
    assert credentials.get_secret(key) is None
    credentials.store_secret(key, "s3cret-pässwörd")
    assert credentials.get_secret(key) == "s3cret-pässwörd"
    # Visible to any Secret Service client, i.e. really stored by the daemon.
    assert SecretService.Keyring().get_password(credentials.SERVICE, key) == "s3cret-pässwörd"
    assert credentials.delete_secret(key) is True
    assert credentials.get_secret(key) is None
    assert credentials.delete_secret(key) is False


class _PlaintextFileKeyring(KeyringBackend):
    """What keyrings.alt's PlaintextKeyring does: the fallback we must never use."""

    priority = 1

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def set_password(self, service, username, password):
        self.path.write_text(f"{service}/{username}={password}")

    def get_password(self, service, username):
        return None

    def delete_password(self, service, username):
        pass


class _EmptyChainer(chainer.ChainerBackend):
    # What keyring builds when no backend is viable at all.
    backends: list = []  # noqa: RUF012


@pytest.mark.parametrize("kind", ["fail", "null", "empty-chainer", "plaintext"])
def test_insecure_backend_refuses_and_writes_nothing(kind, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for var, sub in (("HOME", ""), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        monkeypatch.setenv(var, str(home / sub))
    backend = {
        "fail": fail.Keyring,
        "null": null.Keyring,
        "empty-chainer": _EmptyChainer,
        "plaintext": lambda: _PlaintextFileKeyring(home / "keyring.txt"),
    }[kind]()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        with pytest.raises(credentials.InsecureKeyringError, match="secure system keyring"):
            credentials.store_secret("sip:1001", "hunter2")
        with pytest.raises(credentials.InsecureKeyringError):
            credentials.get_secret("sip:1001")
    finally:
        keyring.set_keyring(previous)
    assert list(home.rglob("*")) == [], "nothing may be written when the keyring is insecure"


def test_secure_backend_classification():
    assert credentials.is_secure_backend(SecretService.Keyring())
    assert not credentials.is_secure_backend(fail.Keyring())
    assert not credentials.is_secure_backend(null.Keyring())
