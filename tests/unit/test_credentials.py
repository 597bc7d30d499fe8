"""Credentials go to a real Secret Service (gnome-keyring) or nowhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from sync import credentials


def _secret_service_up() -> bool:
    """Is org.freedesktop.secrets owned on the session bus? (Asking NameHasOwner,
    unlike a secretstorage call, does not D-Bus-activate a locked default daemon.)"""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus="SESSION") as conn:
        (owned,) = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets")).body
    return bool(owned)


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory):
    """A real gnome-keyring Secret Service in the test run's D-Bus session."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail("no D-Bus session bus: run the tests through scripts/test.sh (dbus-run-session)")
    daemon = shutil.which("gnome-keyring-daemon")
    if daemon is None:
        pytest.fail("gnome-keyring-daemon is not installed (apt: gnome-keyring)")
    proc = None
    if not _secret_service_up():
        home = tmp_path_factory.mktemp("keyring-home")
        run = home / "run"
        run.mkdir(mode=0o700)
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(run))
        proc = subprocess.Popen(
            [daemon, "--unlock", "--components=secrets", "--foreground"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )
        proc.stdin.write(b"test-unlock-password")
        proc.stdin.close()
        deadline = time.monotonic() + 10
        while not _secret_service_up():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gnome-keyring-daemon did not come up: {proc.stderr.read().decode(errors='replace')}")
            time.sleep(0.05)
    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    yield
    keyring.set_keyring(previous)
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


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
