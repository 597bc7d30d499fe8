"""The SIP account from settings to engine: one path for settings.json, the settings dialog
and the server's provisioning.

``sip_settings(settings)`` reads settings.json's ``sip`` section as a typed
:class:`core.sip_settings.SipSettings` (an invalid section is logged with its
message code and treated as "no account", never half-used);
``account_settings(sip, password)`` maps it onto the engine's
``softphone.account.AccountSettings`` — every field, nothing dropped.
``SipAccountService`` owns changes: validate → keep the old value and say why
when invalid → else save (settings.json; the password only in the keyring) and
hand the new account to the running runtime, which re-registers at once.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from core import messages as msg
from core.messages import Message
from core.sip_settings import SipSettings, SipSettingsError, check_files, parse_sip, registration_message

log = logging.getLogger(__name__)


def sip_settings(settings: Any) -> SipSettings:
    """The typed ``sip`` section; an empty (unconfigured) one when it is missing or invalid."""
    try:
        return parse_sip(getattr(settings, "sip", None) or {})
    except SipSettingsError as exc:
        log.warning("the sip settings are invalid (%s: %s); no SIP account is used", exc.field, exc.code)
        return SipSettings()


def sip_settings_error(settings: Any) -> Message | None:
    """Why the ``sip`` section cannot be used (None when it can)."""
    try:
        check_files(parse_sip(getattr(settings, "sip", None) or {}))
    except SipSettingsError as exc:
        return Message(exc.code, exc.params)
    return None


def account_settings(sip: SipSettings, password: str = "", display_name: str = "") -> Any:
    """The engine's AccountSettings for this account (imports softphone lazily: pjsua2)."""
    from softphone.account import AccountSettings, Srtp, Transport

    return AccountSettings(
        user=sip.user, domain=sip.domain, password=password, auth_user=sip.auth_user,
        display_name=sip.display_name or display_name, transport=Transport(sip.transport),
        registrar=sip.registrar, secondary_registrar=sip.secondary_registrar,
        outbound_proxy=sip.outbound_proxy, stun_servers=tuple(sip.stun_servers), srtp=Srtp(sip.srtp),
        tls_verify_server=sip.tls_verify_server, tls_ca_file=sip.tls_ca_file,
        reg_expires_s=sip.reg_expires_s, reg_retry_s=sip.reg_retry_s, keepalive_s=sip.keepalive_s,
        codecs=tuple(sip.codecs))


def read_password(sip: SipSettings) -> str:
    if not sip.user:
        return ""
    try:
        from sync.credentials import get_secret

        return get_secret(sip.secret_key) or ""
    except Exception:
        log.warning("the SIP password could not be read from the keyring")
        return ""


class SipAccountService(QObject):
    """Changes to the SIP account and its registration state in plain words (GUI thread)."""

    changed = Signal(object)          # SipSettings now in use
    state_changed = Signal(object)    # Message: the registration state in plain words
    message = Signal(object)          # Message: saved / provisioned / why a change was refused

    def __init__(self, settings: Any, runtime: Any | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runtime = runtime
        self.current = sip_settings(settings)
        self.state: Message = Message.of(msg.SIP_REG_PENDING if self.current.configured else msg.SIP_NOT_CONFIGURED)
        self.last_error: Message | None = sip_settings_error(settings)
        self.last_reg: Any = None
        if runtime is not None:
            runtime.registration.connect(self.on_registration)
            runtime.phone_ready.connect(self._on_phone_ready)

    # -- state --------------------------------------------------------------------------
    def on_registration(self, reg: Any) -> None:
        self.last_reg = reg
        self.state = registration_message(bool(reg.registered), int(reg.code), str(reg.reason))
        if not reg.registered and int(reg.code) not in (0, 100, 200):
            self.last_error = self.state
        elif reg.registered:
            self.last_error = None
        self.state_changed.emit(self.state)

    def _on_phone_ready(self, up: bool, detail: str) -> None:
        if not up and not self.current.configured:
            self.state = Message.of(msg.SIP_NOT_CONFIGURED)
            self.state_changed.emit(self.state)

    # -- changes ------------------------------------------------------------------------
    def validate(self, data: dict[str, Any]) -> tuple[SipSettings | None, Message | None]:
        try:
            new = parse_sip(data)
            check_files(new)
        except SipSettingsError as exc:
            return None, Message(exc.code, exc.params)
        return new, None

    def apply(self, data: dict[str, Any], password: str | None = None, provisioned: bool = False,
              reregister: bool = False) -> Message | None:
        """Validate, save and use a new ``sip`` section. Returns the reason it was refused
        (the old account stays in use) or None. ``password`` None = keep the keyring's;
        ``reregister``: register again even if the settings are the same (a new password)."""
        new, error = self.validate({**data, "provisioned": provisioned})
        if error is not None or new is None:
            log.info("a SIP setting was refused: %s", error)
            if error is not None:
                self.message.emit(error)
            return error
        if password is not None and new.user:
            try:
                from sync.credentials import store_secret

                store_secret(new.secret_key, password)
            except Exception as exc:
                error = msg.from_error(exc)
                self.message.emit(error)
                return error
        old = self.current
        self.settings.sip = new.to_dict()
        if getattr(self.settings, "path", None) is not None:
            try:
                self.settings.save()
            except Exception as exc:
                self.settings.sip = old.to_dict()
                error = msg.from_error(exc)
                self.message.emit(error)
                return error
        self.current = new
        self.last_error = None
        self.changed.emit(new)
        if new != old or password is not None or reregister:
            self.state = Message.of(msg.SIP_REG_PENDING if new.configured else msg.SIP_NOT_CONFIGURED)
            self.state_changed.emit(self.state)
            if self.runtime is not None:
                self.runtime.reconfigure_sip(new)
            self.message.emit(Message.of(msg.SIP_PROVISIONED if provisioned else msg.SIP_SAVED))
        return None


def apply_provisioned(service: SipAccountService, notice: Any) -> Message | None:
    """The server's SIP account for this user arrived with a pull (sync.sip_provisioning:
    its password is already in the keyring): save it and register with it, no manual step.
    A removal on the server leaves the account in use as it is (the agent may be mid-call)."""
    if getattr(notice, "deleted", False):
        log.info("the server no longer provisions a SIP account; keeping the one in use")
        return None
    error = service.apply(dict(notice.settings), provisioned=True, reregister=bool(notice.password_changed))
    if error is not None:
        log.warning("the provisioned SIP account was refused: %s", error)
    return error
