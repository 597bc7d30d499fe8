"""The SIP account as one typed, validated value: settings.json's ``sip`` section.

Everything the softphone can be told about the account lives here, and the
softphone's account is built only from it (app/sip_account.py): :func:`parse_sip` turns the JSON object into a
frozen :class:`SipSettings` or raises :class:`SipSettingsError` carrying a
message code (core/messages.py) and the offending field, so the settings dialog
and the log can say exactly what is wrong. The password is never part of it:
it lives in the OS keyring under ``sip:<user>`` (sync.credentials).

Pure: no Qt, no I/O beyond checking that a CA file exists (done by the caller,
see :func:`check_files`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from core import messages as msg
from core.errors import UserError

TRANSPORTS = ("udp", "tcp", "tls")
SRTP_MODES = ("off", "optional", "mandatory")
#: Codec names pjsua2 knows (matched case-insensitively against "PCMU/8000/1" style ids).
KNOWN_CODECS = ("PCMU", "PCMA", "G722", "opus", "speex", "iLBC", "GSM", "G729", "L16", "AMR", "AMR-WB")

_URI = re.compile(r"^sips?:(?:[^@\s<>]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?(?:;[^\s<>]*)?$")
_HOSTPORT = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$")
_USER = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=%-]{1,64}$")
_LIMITS = {"keepalive_s": (5, 3600), "reg_expires_s": (30, 86400), "reg_retry_s": (1, 30)}
#: Keys accepted for compatibility: ``server`` was the old name of ``domain``.
_ALIASES = {"server": "domain"}


class SipSettingsError(UserError):
    """A ``sip`` setting cannot be used; ``field`` names it, ``code``/``params`` say why."""

    def __init__(self, field: str, code: str, **params: Any) -> None:
        super().__init__(f"sip.{field}: {code} {params}", code=code, params={"field": field, **params})
        self.field = field


@dataclass(frozen=True)
class SipSettings:
    """The agent's SIP account, without its password. ``configured`` is False for an empty one."""

    user: str = ""
    domain: str = ""                  # e.g. "pbx.example.com" or "192.168.1.5:5060"
    auth_user: str = ""               # defaults to user
    display_name: str = ""
    transport: str = "udp"            # udp | tcp | tls
    registrar: str = ""               # defaults to sip:<domain>
    secondary_registrar: str = ""     # used while the first one fails
    outbound_proxy: str = ""          # every request goes through it (sip:proxy;lr)
    stun_servers: tuple[str, ...] = ()  # "host[:port]"
    srtp: str = "off"                 # off | optional | mandatory (mandatory needs tls)
    tls_verify_server: bool = True
    tls_ca_file: str = ""             # custom CA (PEM); empty = the system store
    keepalive_s: int = 15             # UDP keep-alive and registrar probe interval (5..3600 s)
    reg_expires_s: int = 120
    reg_retry_s: int = 20
    codecs: tuple[str, ...] = ()      # preferred order, e.g. ("PCMA", "PCMU"); empty = the engine's
    provisioned: bool = False         # True when the server provisioned it (sync pull)

    @property
    def configured(self) -> bool:
        return bool(self.user and self.domain)

    @property
    def secret_key(self) -> str:
        """Where the password lives in the OS keyring."""
        return f"sip:{self.user}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stun_servers"] = list(self.stun_servers)
        out["codecs"] = list(self.codecs)
        return out

    def needs_restart_versus(self, other: SipSettings) -> bool:
        """STUN servers are the library's, not the account's: changing them restarts the engine."""
        return tuple(self.stun_servers) != tuple(other.stun_servers)


_FIELDS = {f.name for f in fields(SipSettings)}


def parse_sip(data: Mapping[str, Any] | None) -> SipSettings:
    """settings.json's ``sip`` object → :class:`SipSettings`; raises :class:`SipSettingsError`.

    Unknown keys are ignored (a newer version's), ``server`` is read as ``domain``."""
    if data is None:
        return SipSettings()
    if not isinstance(data, Mapping):
        raise SipSettingsError("sip", msg.SIP_INVALID_VALUE, value=type(data).__name__)
    raw = {_ALIASES.get(k, k): v for k, v in data.items() if _ALIASES.get(k, k) in _FIELDS}
    if "domain" not in raw and "server" in data:
        raw["domain"] = data["server"]
    values: dict[str, Any] = {}
    for name in ("user", "domain", "auth_user", "display_name", "registrar", "secondary_registrar",
                 "outbound_proxy", "tls_ca_file"):
        value = raw.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise SipSettingsError(name, msg.SIP_INVALID_VALUE, value=str(value))
        values[name] = str(value).strip()
    for name in ("user", "auth_user"):
        if values[name] and not _USER.match(values[name]):
            raise SipSettingsError(name, msg.SIP_INVALID_USER, value=values[name])
    if values["domain"] and not _HOSTPORT.match(values["domain"]):
        raise SipSettingsError("domain", msg.SIP_INVALID_HOST, value=values["domain"])
    for name in ("registrar", "secondary_registrar", "outbound_proxy"):
        if values[name] and not _URI.match(values[name]):
            raise SipSettingsError(name, msg.SIP_INVALID_URI, value=values[name])
    transport = str(raw.get("transport") or "udp").lower()
    if transport not in TRANSPORTS:
        raise SipSettingsError("transport", msg.SIP_INVALID_CHOICE, value=transport, choices=TRANSPORTS)
    values["transport"] = transport
    srtp = str(raw.get("srtp") or "off").lower()
    if srtp in ("disabled", "none", "false"):
        srtp = "off"
    if srtp not in SRTP_MODES:
        raise SipSettingsError("srtp", msg.SIP_INVALID_CHOICE, value=srtp, choices=SRTP_MODES)
    if srtp == "mandatory" and transport != "tls":
        raise SipSettingsError("srtp", msg.SIP_SRTP_NEEDS_TLS)
    values["srtp"] = srtp
    stun = raw.get("stun_servers", ())
    if isinstance(stun, str):
        stun = [s for s in re.split(r"[,\s]+", stun) if s]
    if not isinstance(stun, (list, tuple)):
        raise SipSettingsError("stun_servers", msg.SIP_INVALID_VALUE, value=str(stun))
    for s in stun:
        if not isinstance(s, str) or not _HOSTPORT.match(s.strip()):
            raise SipSettingsError("stun_servers", msg.SIP_INVALID_HOST, value=str(s))
    values["stun_servers"] = tuple(s.strip() for s in stun)
    codecs = raw.get("codecs", ())
    if isinstance(codecs, str):
        codecs = [c for c in re.split(r"[,\s]+", codecs) if c]
    if not isinstance(codecs, (list, tuple)):
        raise SipSettingsError("codecs", msg.SIP_INVALID_VALUE, value=str(codecs))
    known = {c.lower(): c for c in KNOWN_CODECS}
    out_codecs = []
    for c in codecs:
        name = str(c).split("/", 1)[0].strip()
        if name.lower() not in known:
            raise SipSettingsError("codecs", msg.SIP_UNKNOWN_CODEC, value=str(c), choices=KNOWN_CODECS)
        out_codecs.append(str(c).strip())
    values["codecs"] = tuple(out_codecs)
    for name, (lo, hi) in _LIMITS.items():
        value = raw.get(name, getattr(SipSettings, name))
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SipSettingsError(name, msg.SIP_OUT_OF_RANGE, value=str(value), low=lo, high=hi)
        values[name] = value
    verify = raw.get("tls_verify_server", True)
    if not isinstance(verify, bool):
        raise SipSettingsError("tls_verify_server", msg.SIP_INVALID_VALUE, value=str(verify))
    values["tls_verify_server"] = verify
    values["provisioned"] = bool(raw.get("provisioned", False))
    if bool(values["user"]) != bool(values["domain"]):
        missing = "domain" if values["user"] else "user"
        raise SipSettingsError(missing, msg.SIP_MISSING)
    return SipSettings(**values)


def check_files(s: SipSettings) -> None:
    """The CA file must exist and be readable (raises :class:`SipSettingsError`)."""
    if s.tls_ca_file and not os.access(s.tls_ca_file, os.R_OK):
        raise SipSettingsError("tls_ca_file", msg.SIP_CA_MISSING, value=s.tls_ca_file)


def registration_message(registered: bool, code: int, reason: str) -> msg.Message:
    """The registration state in plain words (the status bar, the settings dialog)."""
    if registered:
        return msg.Message.of(msg.SIP_REG_OK)
    if code in (0, 100):
        return msg.Message.of(msg.SIP_REG_PENDING)
    if code in (401, 403, 407):
        return msg.Message.of(msg.SIP_REG_AUTH, status=code)
    if code in (408, 502, 503, 504) or code >= 170000:
        # pjsip reports transport errors (connection refused, TLS handshake) as 5xx or PJ_E* codes
        if "tls" in reason.lower() or "ssl" in reason.lower() or "certificate" in reason.lower():
            return msg.Message.of(msg.SIP_REG_TLS, status=code)
        return msg.Message.of(msg.SIP_REG_UNREACHABLE, status=code)
    if code == 200:  # an un-REGISTER answered
        return msg.Message.of(msg.SIP_REG_OFF)
    return msg.Message.of(msg.SIP_REG_FAILED, status=code, reason=reason)
