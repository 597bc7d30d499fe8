"""Where the refresh token lives: the OS keyring, through sync.credentials only.

The key names the server and the user, so two accounts (or a test server and
the real one) on one workstation never overwrite each other's session.
``sync.credentials`` raises when no secure keyring is available: then the user
can still log in for this run, but has to log in again after a restart.
"""

from __future__ import annotations

import logging

from sync import credentials
from sync.client import TokenSet

log = logging.getLogger(__name__)


def refresh_key(server_url: str, username: str) -> str:
    return f"server-refresh:{username}@{server_url.rstrip('/')}"


class KeyringVault:
    """A :class:`sync.client.TokenVault` on the OS keyring."""

    def __init__(self, server_url: str, username: str) -> None:
        self.key = refresh_key(server_url, username)
        # If the keyring refuses (insecure backend), keep the token for this run only.
        self._volatile: TokenSet | None = None

    def load(self) -> TokenSet | None:
        if self._volatile is not None:
            return self._volatile
        raw = credentials.get_secret(self.key)
        return TokenSet.from_json(raw) if raw else None

    def save(self, tokens: TokenSet) -> None:
        try:
            credentials.store_secret(self.key, tokens.to_json())
            self._volatile = None
        except credentials.InsecureKeyringError:
            log.warning("no secure keyring: the session is kept in memory for this run only")
            self._volatile = tokens

    def clear(self) -> None:
        self._volatile = None
        try:
            credentials.delete_secret(self.key)
        except credentials.CredentialError as exc:
            log.warning("could not delete the saved session: %s", exc)
