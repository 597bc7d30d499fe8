"""The pulled ``sip_account`` (the caller's SIP account, provisioned on the server): its
password goes to the OS keyring here, on the sync thread, and nowhere else — the change
that reaches the cache and the app carries no password.

``take_sip_accounts(changes)`` returns the page's changes with every ``sip_account``'s
password removed, and one :class:`ProvisionedSip` per account for the app (which saves
the settings and re-registers the softphone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.contract import ChangeOp, Entity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionedSip:
    settings: dict[str, Any] = field(default_factory=dict)  # core.sip_settings fields, no password
    version: int = 0
    password_changed: bool = False  # the keyring got a new password: register again even if nothing else changed
    deleted: bool = False


def take_sip_accounts(changes: Sequence[Any]) -> tuple[list[Any], list[ProvisionedSip]]:
    out: list[Any] = []
    notices: list[ProvisionedSip] = []
    for change in changes:
        if change.entity != Entity.SIP_ACCOUNT:
            out.append(change)
            continue
        if change.op == ChangeOp.DELETE or not change.data:
            out.append(change)
            notices.append(ProvisionedSip(deleted=True))
            continue
        data = dict(change.data)
        password = data.pop("password", None)
        settings = dict(data.get("settings") or {})
        changed = False
        user = str(settings.get("user") or "")
        if password and user:
            changed = _store(f"sip:{user}", str(password))
        out.append(replace(change, data=data))
        notices.append(ProvisionedSip(settings, int(data.get("version") or 0), changed))
    return out, notices


def _store(key: str, password: str) -> bool:
    """Put the password in the keyring; True when it differs from the one there."""
    from sync.credentials import get_secret, store_secret

    try:
        if get_secret(key) == password:
            return False
        store_secret(key, password)
        return True
    except Exception as exc:  # no keyring: the account is still used, without a password
        log.warning("the provisioned SIP password could not be stored in the keyring (%s)", type(exc).__name__)
        return False
