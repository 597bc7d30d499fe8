"""Every SIP setting in settings.json changes what goes on the wire — through the app's
own path (Settings → WorkspaceRuntime → engine), not by building the engine's account."""

from __future__ import annotations

import time

import pytest

from core import messages as m
from core.wrapup import call_result
from tests.sip.kamailio import free_port
from tests.sip.stun import StunServer
from tests.sip.tap import SipTap, audio_payloads, sdp_of

pytestmark = pytest.mark.sip


def _registered(line) -> bool:
    return any(r.registered for r in line.regs)


def test_register_goes_through_the_outbound_proxy_with_keepalives(qtbot, app_line, kamailio) -> None:
    proxy = SipTap(upstream=("127.0.0.1", kamailio.port)).start()
    try:
        app_line.start({"user": "1001", "domain": kamailio.domain, "outbound_proxy": proxy.uri + ";lr",
                        "keepalive_s": 5})
        qtbot.waitUntil(lambda: _registered(app_line), timeout=20_000)
        registers = proxy.requests("REGISTER")
        assert registers, "the REGISTER did not go through the outbound proxy"
        assert f"Route: <{proxy.uri};lr>" in registers[0]
        assert any("Authorization:" in r for r in registers)  # the digest answer went that way too
        # UDP keep-alives every keepalive_s (5 s) to the next hop: the proxy.
        qtbot.waitUntil(lambda: len(proxy.keepalives) >= 2, timeout=16_000)
        gap = proxy.keepalives[1] - proxy.keepalives[0]
        assert 3.5 < gap < 7.5, gap
    finally:
        proxy.stop()


def test_codec_order_and_optional_srtp_in_the_offer(qtbot, app_line, kamailio) -> None:
    from app.sip_account import SipAccountService

    uas = SipTap(answer=488).start()
    try:
        runtime = app_line.start({"user": "1001", "domain": kamailio.domain, "codecs": ["PCMA", "G722", "PCMU"],
                                  "srtp": "optional"})
        qtbot.waitUntil(lambda: runtime.phone is not None and _registered(app_line), timeout=20_000)
        call_id = runtime.phone.dial(f"sip:9@127.0.0.1:{uas.port}").result(5)
        qtbot.waitUntil(lambda: len(uas.requests("INVITE")) >= 1, timeout=10_000)
        sdp = sdp_of(uas.requests("INVITE")[0])
        assert audio_payloads(sdp)[:3] == [8, 9, 0], sdp
        assert "a=crypto:" in sdp and "RTP/AVP" in sdp  # optional: offered, not required
        qtbot.waitUntil(lambda: call_id not in runtime.phone.calls, timeout=10_000)

        # A change through the service (what the settings dialog does): saved, re-registered,
        # and the next offer follows the new order with no SRTP.
        service = SipAccountService(app_line.settings, runtime)
        before = len(app_line.regs)
        assert service.apply({**app_line.settings.sip, "codecs": ["PCMU", "PCMA"], "srtp": "off"}) is None
        qtbot.waitUntil(lambda: any(r.registered for r in app_line.regs[before:]), timeout=20_000)
        assert app_line.settings.path is not None
        assert '"PCMU"' in app_line.settings.path.read_text()
        runtime.phone.dial(f"sip:9@127.0.0.1:{uas.port}").result(5)
        qtbot.waitUntil(lambda: len(uas.requests("INVITE")) >= 2, timeout=10_000)
        sdp = sdp_of(uas.requests("INVITE")[-1])
        assert audio_payloads(sdp)[:2] == [0, 8], sdp
        assert "a=crypto:" not in sdp
    finally:
        uas.stop()


def test_stun_server_is_asked(qtbot, app_line, kamailio) -> None:
    stun = StunServer().start()
    try:
        app_line.start({"user": "1001", "domain": kamailio.domain, "stun_servers": [f"127.0.0.1:{stun.port}"]})
        qtbot.waitUntil(lambda: _registered(app_line), timeout=20_000)
        assert stun.requests >= 1
    finally:
        stun.stop()


def test_secondary_registrar_takes_over(qtbot, app_line, kamailio) -> None:
    dead = free_port()
    app_line.start({"user": "1001", "domain": kamailio.domain, "registrar": f"sip:127.0.0.1:{dead}",
                    "secondary_registrar": kamailio.uri, "keepalive_s": 5})
    qtbot.waitUntil(lambda: _registered(app_line), timeout=40_000)
    reg = next(r for r in app_line.regs if r.registered)
    assert str(kamailio.port) in reg.registrar


def test_invalid_sip_section_is_refused_with_a_code(qtbot, app_line, kamailio) -> None:
    from app.sip_account import SipAccountService, sip_settings_error

    runtime = app_line.start({"user": "1001", "domain": kamailio.domain})
    qtbot.waitUntil(lambda: _registered(app_line), timeout=20_000)
    service = SipAccountService(app_line.settings, runtime)
    old = dict(app_line.settings.sip)
    error = service.apply({**old, "srtp": "mandatory"})  # over UDP
    assert error is not None and error.code == m.SIP_SRTP_NEEDS_TLS
    error = service.apply({**old, "outbound_proxy": "proxy.example.com"})
    assert error is not None and error.code == m.SIP_INVALID_URI and error.params["field"] == "outbound_proxy"
    assert app_line.settings.sip == old and sip_settings_error(app_line.settings) is None
    time.sleep(0.5)
    assert app_line.regs[-1].registered  # nothing re-registered


def test_a_488_is_explained() -> None:
    assert call_result(False, 488).code == m.CALL_MEDIA_REFUSED
