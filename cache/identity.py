"""Who owns what is in this cache: switching user (or server) without losing or
misattributing anyone's unsent events.

Part of the cache side of sync (``cache.sync_store`` puts the parts together).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from cache.outbox import count_pending
from cache.pull_apply import clear_server_data
from cache.sync_state import (
    CURSOR,
    GENERATION,
    IDENTITY,
    LAST_USER,
    SERVER_URL,
    CacheHandleLike,
    put_state,
    read_state,
)
from core.errors import EnvironmentFault


class IdentityConflict(EnvironmentFault, RuntimeError):
    """Another user's unsent events are in this cache; ``str()`` is for the user,
    ``code`` and ``params`` (``pending``, ``owner``) say the same for a translated message."""

    code = "sync.other_users_events"


def _same_owner(s: Session, username: str, server_url: str) -> bool:
    return read_state(s, LAST_USER) == username and read_state(s, SERVER_URL) == server_url


class CacheOwner:
    """Logging in and out as far as the cache is concerned. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle

    def check_switch(self, username: str, server_url: str) -> None:
        """Raise IdentityConflict when another user's (or server's) events are still unsent here.

        Called before logging in: pushing them under someone else's session would
        attribute them to the wrong agent, and dropping them would lose them.
        """
        with self.handle.session() as s:
            if _same_owner(s, username, server_url):
                return
            pending = count_pending(s)
            owner = read_state(s, LAST_USER)
        if pending and owner is not None:
            raise IdentityConflict(
                f"{pending} events recorded by {owner} on this computer have not been sent yet; "
                f"{owner} must log in once to send them",
                params={"pending": pending, "owner": owner},
            )

    def save_identity(self, identity: dict[str, Any], server_url: str) -> None:
        """Remember who logged in (never a secret) so the next start works offline.

        A different user or server than last time starts from a clean slate: the
        previous owner's leads and other server data are removed, the cursor reset.
        """
        username = str(identity.get("username") or "")
        with self.handle.write() as s:
            if not _same_owner(s, username, server_url):
                owner = read_state(s, LAST_USER)
                if owner is not None:
                    pending = count_pending(s)
                    if pending:
                        raise IdentityConflict(f"{pending} events of the previous user are not sent yet",
                                               params={"pending": pending, "owner": owner})
                    clear_server_data(s)
                put_state(s, CURSOR, None)
                # Another server's generation means nothing here (and must never make this
                # cache re-send the previous owner's events to it).
                put_state(s, GENERATION, None)
            put_state(s, IDENTITY, json.dumps(identity, ensure_ascii=False))
            put_state(s, SERVER_URL, server_url)
            put_state(s, LAST_USER, username)

    def forget_identity(self) -> None:
        with self.handle.write() as s:
            put_state(s, IDENTITY, None)


__all__ = ["CacheOwner", "IdentityConflict"]
