"""The ``sync_state`` table: the pull cursor, this installation's id, who logged in,
the settings the server sent, and other small key → text values of the sync.

Part of the cache side of sync (``cache.sync_store`` puts the parts together).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cache import models as m

# sync_state keys
CURSOR = "pull_cursor"
IDENTITY = "identity"
SERVER_URL = "server_url"
DEVICE_ID = "device_id"
LAST_SYNC_AT = "last_sync_at"
CLOCK_OFFSET = "server_clock_offset_s"
MONITOR_PUBLIC_KEY = "monitor_public_key"
SETTING_PREFIX = "setting:"
LAST_USER = "last_username"  # survives logout: who owns what is in this cache
GENERATION = "server_generation"  # the server database's generation this cache is in step with
RECORDING_PREFIX = "recording:"  # recording:<call id> → when its upload was confirmed (sync.recordings)


class CacheHandleLike(Protocol):
    """What cache.db.open_cache returns (only what the sync store uses)."""

    def session(self) -> Any: ...

    def write(self, durable: bool = True) -> Any: ...


def read_state(s: Session, key: str) -> str | None:
    return s.scalar(select(m.SyncState.value).where(m.SyncState.key == key))


def put_state(s: Session, key: str, value: str | None) -> None:
    """Set (or with None, remove) one key inside the caller's transaction."""
    if value is None:
        s.execute(delete(m.SyncState).where(m.SyncState.key == key))
        return
    stmt = sqlite_insert(m.SyncState).values(key=key, value=value)
    s.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))


class SyncState:
    """Reads and writes of ``sync_state``. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle

    def get_state(self, key: str) -> str | None:
        with self.handle.session() as s:
            return read_state(s, key)

    def set_state(self, key: str, value: str | None) -> None:
        with self.handle.write() as s:
            put_state(s, key, value)

    def cursor(self) -> str | None:
        return self.get_state(CURSOR)

    def reset_cursor(self) -> None:
        self.set_state(CURSOR, None)

    def generation(self) -> str | None:
        return self.get_state(GENERATION)

    def device_id(self) -> str:
        """A stable id for this installation (made once; the server ties sessions to it)."""
        current = self.get_state(DEVICE_ID)
        if current:
            return current
        with self.handle.write() as s:
            current = read_state(s, DEVICE_ID)
            if not current:
                current = str(uuid.uuid4())
                put_state(s, DEVICE_ID, current)
            return current

    def identity_json(self) -> dict[str, Any] | None:
        raw = self.get_state(IDENTITY)
        return json.loads(raw) if raw else None

    def settings(self) -> dict[str, Any]:
        """Settings the server sent (key → JSON value)."""
        with self.handle.session() as s:
            rows = s.execute(
                select(m.SyncState.key, m.SyncState.value).where(m.SyncState.key.startswith(SETTING_PREFIX))
            ).all()
        return {k[len(SETTING_PREFIX) :]: json.loads(v) for k, v in rows}
