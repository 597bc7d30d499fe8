"""TLS (custom CA, verification) and mandatory SRTP, set in settings.json, through the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import messages as m
from core.sip_settings import registration_message
from core.wrapup import call_result
from softphone.types import CallState
from tests.sip.agent import CUSTOMER_HZ, USERS
from tests.sip.certs import TlsFiles, make_tls_files
from tests.sip.kamailio import Kamailio
from tests.sip.peer import PeerProcess

pytestmark = pytest.mark.sip


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def kamailio(tls_files: TlsFiles) -> Iterator[Kamailio]:
    k = Kamailio(USERS, tls=tls_files)
    k.start()
    try:
        yield k
    finally:
        k.stop()


def _sip(k: Kamailio, ca, **kw):
    return {"user": "1001", "domain": f"127.0.0.1:{k.tls_port}", "transport": "tls", "tls_ca_file": str(ca), **kw}


def _peer(k: Kamailio, user: str, srtp: str) -> PeerProcess:
    p = PeerProcess("--user", user, "--register", k.uri, "--password", USERS[user], "--auto-answer", "200",
                    "--tone", str(CUSTOMER_HZ), "--srtp", srtp).start()
    p.wait("reg", active=True, timeout=15)
    return p


def test_mandatory_srtp_over_tls_calls_an_srtp_peer_and_refuses_a_plain_one(qtbot, app_line, kamailio,
                                                                            tls_files) -> None:
    secure, plain = _peer(kamailio, "2001", "optional"), _peer(kamailio, "2002", "off")
    try:
        runtime = app_line.start(_sip(kamailio, tls_files.ca_cert, srtp="mandatory"))
        qtbot.waitUntil(lambda: any(r.registered for r in app_line.regs), timeout=20_000)
        assert "transport=tls" in next(r for r in app_line.regs if r.registered).registrar
        phone = runtime.phone
        media = []
        phone.media_state_changed.connect(media.append)
        ended = {}
        phone.call_state_changed.connect(lambda c: c.state is CallState.ENDED and ended.setdefault(c.call_id, c))
        first = phone.dial("2001").result(5)
        qtbot.waitUntil(lambda: any(x.call_id == first and x.active for x in media), timeout=15_000)
        assert next(x for x in media if x.call_id == first and x.active).srtp  # RTP/SAVP negotiated
        phone.hangup(first).result(5)
        qtbot.waitUntil(lambda: first in ended, timeout=10_000)

        second = phone.dial("2002").result(5)
        qtbot.waitUntil(lambda: second in ended, timeout=20_000)
        info = ended[second]
        assert info.answered_at is None
        said = call_result(False, info.sip_code)
        assert said is not None and said.code == m.CALL_MEDIA_REFUSED, (info.sip_code, info.reason)
    finally:
        secure.stop()
        plain.stop()


def test_an_unknown_ca_is_refused_and_said_in_plain_words(qtbot, app_line, kamailio, tmp_path) -> None:
    rogue = make_tls_files(tmp_path / "rogue", ca_name="Someone Else")
    app_line.start(_sip(kamailio, rogue.ca_cert))
    qtbot.waitUntil(lambda: any(not r.registered and r.code not in (0, 100) for r in app_line.regs),
                    timeout=20_000)
    assert not any(r.registered for r in app_line.regs)
    reg = next(r for r in app_line.regs if not r.registered and r.code not in (0, 100))
    said = registration_message(reg.registered, reg.code, reg.reason)
    assert said.code in (m.SIP_REG_TLS, m.SIP_REG_UNREACHABLE), (reg.code, reg.reason)


def test_dialog_sets_up_an_srtp_account_behind_a_proxy_that_registers_and_calls(qtbot, app_line, kamailio,
                                                                              tls_files) -> None:
    """The issue's "done when": typed into the settings dialog (TLS, a custom CA, mandatory
    SRTP, an outbound proxy), applied without a restart: it registers and calls."""
    from PySide6.QtCore import Qt

    from app.workspace.settings_service import SettingsService
    from sync.credentials import get_secret
    from ui.settings_dialog import SettingsDialog

    secure = _peer(kamailio, "2003", "optional")
    try:
        runtime = app_line.start({})  # nothing configured yet: the phone waits for an account
        qtbot.waitUntil(lambda: runtime.phone_start_finished(), timeout=20_000)
        service = SettingsService(app_line.settings, runtime)
        dialog = SettingsDialog(service)
        qtbot.addWidget(dialog)
        f = dialog.sip_fields
        f["user"].setText("1001")
        f["domain"].setText(f"127.0.0.1:{kamailio.tls_port}")
        f["outbound_proxy"].setText(f"sip:127.0.0.1:{kamailio.tls_port};transport=tls;lr")
        f["tls_ca_file"].setText(str(tls_files.ca_cert))
        dialog.sip_transport.setCurrentText("tls")
        dialog.sip_srtp.setCurrentText("mandatory")
        dialog.sip_password.setText(USERS["1001"])
        qtbot.mouseClick(dialog.sip_apply, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(r.registered for r in app_line.regs), timeout=30_000)
        saved = app_line.settings.path.read_text()
        assert '"mandatory"' in saved and USERS["1001"] not in saved
        phone = runtime.phone
        media, ended = [], {}
        phone.media_state_changed.connect(media.append)
        phone.call_state_changed.connect(lambda c: c.state is CallState.ENDED and ended.setdefault(c.call_id, c))
        call_id = phone.dial("2003").result(5)
        qtbot.waitUntil(lambda: any(x.call_id == call_id and x.active for x in media), timeout=15_000)
        assert next(x for x in media if x.call_id == call_id and x.active).srtp
        phone.hangup(call_id).result(5)
        qtbot.waitUntil(lambda: call_id in ended, timeout=10_000)
        assert get_secret("sip:1001") == USERS["1001"]  # the keyring, not settings.json
    finally:
        secure.stop()
