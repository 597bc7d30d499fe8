"""Central SIP provisioning end to end: an admin sets lina's SIP account on the real server
(password encrypted at rest); lina's app logs in, pulls it, keeps the password only in the
OS keyring and registers at Kamailio with no manual step; a change on the server reaches the
running app on its next sync and re-registers it."""

from __future__ import annotations

import argparse
import json
import sqlite3

import pytest

from tests.server_mode import PASSWORD, demo_server
from tests.sip.agent import USERS

pytestmark = pytest.mark.sip



@pytest.fixture
def server(tmp_path):
    with demo_server(tmp_path / "server") as srv:
        yield srv


def _login(qtbot, app) -> None:
    qtbot.waitUntil(lambda: getattr(app, "login_dialog", None) is not None and app.login_dialog.isVisible(),
                    timeout=20_000)
    dialog = app.login_dialog
    dialog.user.setText("lina")
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(app.sync.login_finished, timeout=20_000) as login:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert login.args[0], login.args


def test_server_provisions_the_sip_account_and_a_change_re_registers(qtbot, qapp, tmp_path, server, kamailio,
                                                                     keyring_home) -> None:
    from app.application import Application
    from sync.credentials import get_secret

    sip_password = USERS["1002"]
    server.cli("set-sip", "lina", "--domain", kamailio.domain, "--sip-user", "1002", "--transport", "udp",
               "--codecs", "PCMA,PCMU", "--password-stdin", input=sip_password + "\n")
    # At rest: encrypted (the key is outside the database).
    with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as db:
        stored = db.execute("SELECT settings, password_enc FROM sip_accounts").fetchall()
    assert len(stored) == 1 and sip_password not in stored[0][1] and stored[0][1].startswith("gAAAA")
    assert json.loads(stored[0][0])["user"] == "1002"
    assert (server.data_dir / "sip-password.key").stat().st_mode & 0o077 == 0

    data = tmp_path / "agent"
    (data / "config").mkdir(parents=True)
    settings_path = data / "config" / "settings.json"
    settings_path.write_text(json.dumps({  # no sip section: nothing configured by hand
        "server_url": server.url,
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"},
    }), encoding="utf-8")
    app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None))
    assert app.start() is None
    qtbot.addWidget(app.window)
    try:
        qtbot.waitUntil(lambda: getattr(app, "workspace", None) is not None and getattr(app, "sync", None) is not None,
                        timeout=20_000)
        runtime = app.workspace.runtime
        regs = []
        runtime.registration.connect(regs.append)
        _login(qtbot, app)
        # The pull brings the account: saved, the password in the keyring, registered.
        qtbot.waitUntil(lambda: any(r.registered for r in regs), timeout=30_000)
        reg = next(r for r in regs if r.registered)
        assert reg.account == "1002" and str(kamailio.port) in reg.registrar
        assert get_secret("sip:1002") == sip_password
        saved = settings_path.read_text(encoding="utf-8")
        assert sip_password not in saved
        sip = json.loads(saved)["sip"]
        assert sip["user"] == "1002" and sip["codecs"] == ["PCMA", "PCMU"] and sip["provisioned"] is True
        with sqlite3.connect(data / "cache.sqlite3") if (data / "cache.sqlite3").exists() else _cache_db(data) as db:
            cached = db.execute("SELECT value FROM sync_state WHERE key = 'sip_account'").fetchone()
        assert cached is not None and sip_password not in cached[0] and "password" not in json.loads(cached[0])

        # A change on the server (TCP now) reaches the running app at its next sync.
        before = len(regs)
        server.cli("set-sip", "lina", "--transport", "tcp")
        app.sync.sync_now()
        qtbot.waitUntil(lambda: any(r.registered and "transport=tcp" in r.registrar for r in regs[before:]),
                        timeout=30_000)
        assert json.loads(settings_path.read_text(encoding="utf-8"))["sip"]["transport"] == "tcp"
    finally:
        app._shutdown()


def _cache_db(data):
    found = sorted(data.rglob("*.sqlite3"))
    assert found, list(data.rglob("*"))
    return sqlite3.connect(found[0])
