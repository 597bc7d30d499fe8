"""The sync API's values as the client holds them (docs/sync-api.md): plain frozen data.

``sync.client`` makes them from the server's JSON; ``cache`` applies and
settles them; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.contract import ChangeOp, PushStatus


@dataclass(frozen=True)
class Identity:
    """Who is logged in; cached in sync_state so the app starts offline."""

    user_id: str
    username: str
    display_name: str
    role: str
    team_id: str | None
    sip_user: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        return cls(
            user_id=str(data["id"]),
            username=str(data["username"]),
            display_name=str(data.get("display_name") or data["username"]),
            role=str(data.get("role") or "tsr"),
            team_id=None if data.get("team_id") is None else str(data["team_id"]),
            sip_user=None if data.get("sip_user") is None else str(data["sip_user"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "team_id": self.team_id,
            "sip_user": self.sip_user,
        }


@dataclass(frozen=True)
class Change:
    """One pulled change. ``entity`` is usually an :class:`core.contract.Entity`; a newer
    server may send kinds this client does not know (they are skipped, not refused)."""

    entity: str
    id: str
    op: ChangeOp
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class PullPage:
    changes: list[Change]
    next_cursor: str | None
    has_more: bool
    server_time: str | None
    monitor_public_key: str | None
    #: The server database's generation (a new one after a restore from backup) and, after a
    #: restore, when that backup was taken; None from a server that does not send them.
    generation: str | None = None
    restored_from: str | None = None


@dataclass(frozen=True)
class PushResult:
    id: str
    status: PushStatus
    reason: str | None = None


@dataclass(frozen=True)
class Grant:
    token: str
    expires_at: str
    agent_sip_user: str | None


__all__ = ["Change", "Grant", "Identity", "PullPage", "PushResult"]
