"""settings.json's ``sip`` section as one typed value, and its mapping onto the engine."""

from __future__ import annotations

import pytest

from app.settings import Settings
from app.sip_account import account_settings, sip_settings, sip_settings_error
from core import messages as m
from core.sip_settings import SipSettings, SipSettingsError, check_files, parse_sip, registration_message


def _err(data) -> SipSettingsError:
    with pytest.raises(SipSettingsError) as info:
        parse_sip(data)
    return info.value


def test_every_field_parses_and_round_trips() -> None:
    data = {"user": "1001", "domain": "pbx.example.com:5061", "auth_user": "a1001", "display_name": "李娜",
            "transport": "TLS", "registrar": "sip:pbx.example.com:5061", "secondary_registrar": "sip:pbx2.example.com",
            "outbound_proxy": "sip:proxy.example.com;lr", "stun_servers": "stun.example.com:3478, 1.2.3.4",
            "srtp": "mandatory", "tls_verify_server": False, "tls_ca_file": "/etc/ca.pem", "keepalive_s": 30,
            "reg_expires_s": 300, "reg_retry_s": 10, "codecs": ["PCMA", "opus/48000/2"], "future_key": 1}
    s = parse_sip(data)
    assert s.transport == "tls" and s.srtp == "mandatory" and s.stun_servers == ("stun.example.com:3478", "1.2.3.4")
    assert s.codecs == ("PCMA", "opus/48000/2") and s.configured and s.secret_key == "sip:1001"
    assert parse_sip(s.to_dict()) == s
    assert parse_sip({"user": "1001", "server": "pbx"}).domain == "pbx"  # the old key name
    assert not parse_sip({}).configured and parse_sip(None) == SipSettings()


@pytest.mark.parametrize(("data", "field", "code"), [
    ({"user": "1001", "domain": "pbx", "transport": "sctp"}, "transport", m.SIP_INVALID_CHOICE),
    ({"user": "1001", "domain": "pbx", "srtp": "always"}, "srtp", m.SIP_INVALID_CHOICE),
    ({"user": "1001", "domain": "pbx", "srtp": "mandatory"}, "srtp", m.SIP_SRTP_NEEDS_TLS),
    ({"user": "1001", "domain": "pbx", "outbound_proxy": "proxy:5060"}, "outbound_proxy", m.SIP_INVALID_URI),
    ({"user": "1001", "domain": "pbx", "registrar": "http://x"}, "registrar", m.SIP_INVALID_URI),
    ({"user": "1001", "domain": "pbx", "stun_servers": ["stun:bad host"]}, "stun_servers", m.SIP_INVALID_HOST),
    ({"user": "1001", "domain": "pbx", "codecs": ["MP3"]}, "codecs", m.SIP_UNKNOWN_CODEC),
    ({"user": "1001", "domain": "pbx", "keepalive_s": 1}, "keepalive_s", m.SIP_OUT_OF_RANGE),
    ({"user": "1001", "domain": "pbx", "reg_retry_s": 300}, "reg_retry_s", m.SIP_OUT_OF_RANGE),
    ({"user": "1001", "domain": "pbx", "tls_verify_server": "no"}, "tls_verify_server", m.SIP_INVALID_VALUE),
    ({"user": "10 01", "domain": "pbx"}, "user", m.SIP_INVALID_USER),
    ({"user": "1001", "domain": "pbx/x"}, "domain", m.SIP_INVALID_HOST),
    ({"user": "1001"}, "domain", m.SIP_MISSING),
])
def test_invalid_values_say_which_field_and_why(data, field, code) -> None:
    err = _err(data)
    assert (err.field, err.code) == (field, code)
    assert err.params["field"] == field
    assert code in m.CODES


def test_a_missing_ca_file_is_named(tmp_path) -> None:
    s = parse_sip({"user": "1001", "domain": "pbx", "transport": "tls", "tls_ca_file": str(tmp_path / "no.pem")})
    with pytest.raises(SipSettingsError) as info:
        check_files(s)
    assert info.value.code == m.SIP_CA_MISSING


def test_an_invalid_section_is_no_account_and_says_why(tmp_path) -> None:
    settings = Settings()
    settings.sip = {"user": "1001", "domain": "pbx", "srtp": "mandatory"}
    assert not sip_settings(settings).configured
    assert sip_settings_error(settings).code == m.SIP_SRTP_NEEDS_TLS


def test_every_setting_reaches_the_engine_account() -> None:
    from softphone.account import Srtp, Transport

    s = parse_sip({"user": "1001", "domain": "pbx:5061", "auth_user": "a1", "transport": "tls", "srtp": "mandatory",
                   "registrar": "sip:r1", "secondary_registrar": "sip:r2", "outbound_proxy": "sip:p;lr",
                   "stun_servers": ["s:3478"], "tls_verify_server": False, "tls_ca_file": "/ca.pem",
                   "keepalive_s": 25, "reg_expires_s": 600, "reg_retry_s": 7, "codecs": ["PCMA"]})
    acc = account_settings(s, "pw", display_name="坐席")
    assert (acc.user, acc.domain, acc.password, acc.auth_user) == ("1001", "pbx:5061", "pw", "a1")
    assert acc.transport is Transport.TLS and acc.srtp is Srtp.MANDATORY
    assert acc.registrars == ["sip:r1;transport=tls", "sip:r2;transport=tls"]
    assert (acc.outbound_proxy, acc.stun_servers, acc.tls_verify_server, acc.tls_ca_file) == \
        ("sip:p;lr", ("s:3478",), False, "/ca.pem")
    assert (acc.keepalive_s, acc.reg_expires_s, acc.reg_retry_s, acc.codecs) == (25, 600, 7, ("PCMA",))
    assert acc.display_name == "坐席"


def test_registration_in_plain_words() -> None:
    assert registration_message(True, 200, "OK").code == m.SIP_REG_OK
    assert registration_message(False, 403, "Forbidden").code == m.SIP_REG_AUTH
    assert registration_message(False, 408, "Request Timeout").code == m.SIP_REG_UNREACHABLE
    assert registration_message(False, 503, "TLS handshake failed").code == m.SIP_REG_TLS
    assert registration_message(False, 100, "").code == m.SIP_REG_PENDING
    assert registration_message(False, 482, "Loop").params == {"status": 482, "reason": "Loop"}
