"""Agent presence: the current state on change, and a heartbeat every 5 s.

Presence is live information, not a record: when the server cannot be reached
the beat is dropped (the durable trail is the ``agent_state_changed`` events in
the outbox). A successful beat after failures tells the service the server is
back, so it can sync at once instead of waiting for the next timer tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sync.client import ApiClient, AuthError, RequestRejected, SyncError

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
STATES = ("ready", "on_call", "wrap_up", "paused", "offline")


@dataclass(frozen=True)
class PresenceState:
    state: str = "offline"
    reason: str | None = None
    call_id: str | None = None
    lead_id: str | None = None


class PresenceReporter:
    """Sends the latest state; call :meth:`beat` every HEARTBEAT_S from the sync thread."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.current = PresenceState()
        self.reachable: bool | None = None

    def set_state(self, state: str, reason: str | None = None, call_id: str | None = None,
                  lead_id: str | None = None) -> bool:
        if state not in STATES:
            raise ValueError(f"unknown presence state {state!r}")
        self.current = PresenceState(state, reason, call_id, lead_id)
        return self.beat()

    def beat(self) -> bool:
        """Send the current state; returns True when the server took it."""
        c = self.current
        try:
            try:
                self.client.presence(c.state, reason=c.reason, call_id=c.call_id, lead_id=c.lead_id)
            except RequestRejected as exc:
                if not (c.lead_id and exc.status == 403 and getattr(exc, "code", "") == "not_your_lead"):
                    raise
                # The lead is no longer ours (reclaimed mid-call): the state still counts, without it.
                self.current = c = PresenceState(c.state, c.reason, c.call_id, None)
                self.client.presence(c.state, reason=c.reason, call_id=c.call_id, lead_id=None)
        except AuthError:
            raise
        except SyncError as exc:
            if self.reachable is not False:
                log.info("presence not sent: %s", exc)
            self.reachable = False
            return False
        self.reachable = True
        return True
