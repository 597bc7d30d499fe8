"""The cache side of sync, one object for the sync loop: :class:`SyncStore`.

Each job lives in its own module; this class only puts them together for the
sync thread (sync.engine, sync.service, sync.recordings):

- ``cache.sync_state``: the ``sync_state`` table (cursor, device id, identity, settings);
- ``cache.identity``: switching user or server without losing anyone's unsent events;
- ``cache.pull_apply``: one pulled page and its cursor in one transaction;
- ``cache.outbox``: the pending batch, the server's answers, the rejected list;
- ``cache.overlay``: the agent's pending events laid on top of the server's leads
  (the same rule as the server: core.lead_status).
"""

from __future__ import annotations

from cache.identity import CacheOwner
from cache.outbox import Outbox
from cache.pull_apply import PageApplier
from cache.sync_state import CacheHandleLike, SyncState


class SyncStore(SyncState, CacheOwner, PageApplier, Outbox):
    """All sync reads and writes of one cache. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle


__all__ = ["SyncStore"]
