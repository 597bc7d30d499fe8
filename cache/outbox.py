"""The outbox as the sync loop sees it: the next pending batch, the server's answers, the rejected list.

The outbox is read in ``seq`` order. ``accepted`` and ``duplicate`` answers
mark an event acknowledged; ``rejected`` marks it rejected with the server's
reason. Rejected events stay in the table (the user sees them) and never block
the queue: only ``pending`` events are ever sent. (Events are *written* to the
outbox by ``cache.repository.Repository.append_event``, in the same
transaction as their local effect.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cache import models as m
from cache.overlay import revert_rejected
from cache.sync_state import CURSOR, GENERATION, RECORDING_PREFIX, CacheHandleLike, put_state
from core.contract import ACKNOWLEDGED, OutboxState, PushStatus
from core.timeutil import format_iso, parse_iso, utcnow

_IN_CHUNK = 500  # SQLite's variable limit is generous, but big IN lists plan badly


@dataclass(frozen=True)
class RejectedEvent:
    """An event the server refused; shown to the user with the reason."""

    id: str
    type: str
    lead_id: str | None
    occurred_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class SettleOutcome:
    acknowledged: int
    rejected: int
    unanswered: int


def _chunks(seq: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def count_pending(s: Session) -> int:
    return s.scalar(
        select(func.count()).select_from(m.OutboxEvent).where(m.OutboxEvent.status == OutboxState.PENDING)
    ) or 0


class Outbox:
    """The sync loop's reads and writes of the outbox. Call from the sync thread only."""

    def __init__(self, handle: CacheHandleLike) -> None:
        self.handle = handle

    def pending_count(self) -> int:
        with self.handle.session() as s:
            return count_pending(s)

    def pending_batch(self, limit: int, after_seq: int | None = None) -> list[dict[str, Any]]:
        """The oldest pending events, in creation order, in the wire format of the push."""
        q = (
            select(m.OutboxEvent.id, m.OutboxEvent.seq, m.OutboxEvent.type, m.OutboxEvent.occurred_at,
                   m.OutboxEvent.lead_id, m.OutboxEvent.payload)
            .where(m.OutboxEvent.status == OutboxState.PENDING)
            .order_by(m.OutboxEvent.seq)
            .limit(limit)
        )
        if after_seq is not None:
            q = q.where(m.OutboxEvent.seq > after_seq)
        with self.handle.session() as s:
            rows = s.execute(q).all()
        return [
            {
                "id": r.id,
                "type": r.type,
                "occurred_at": format_iso(r.occurred_at),
                "lead_id": r.lead_id,
                "payload": r.payload or {},
                "_seq": r.seq,
            }
            for r in rows
        ]

    def settle(self, sent_ids: Sequence[str], results: Sequence[Any]) -> SettleOutcome:
        """Record the server's answers for one push, in one transaction.

        ``results`` are objects with ``id``, ``status`` and ``reason`` (core.wire.PushResult).
        Events sent but not answered stay pending (their attempt is counted).
        """
        now = utcnow()
        acked = [r.id for r in results if r.status in ACKNOWLEDGED]
        rejected = [r for r in results if r.status == PushStatus.REJECTED]
        with self.handle.write() as s:
            for ids in _chunks(list(sent_ids)):
                s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id.in_(ids))
                    .values(attempts=m.OutboxEvent.attempts + 1, last_attempt_at=now)
                )
            for ids in _chunks(acked):
                s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id.in_(ids), m.OutboxEvent.status == OutboxState.PENDING)
                    .values(status=OutboxState.ACCEPTED, acknowledged_at=now)
                )
            touched_leads: set[str] = set()
            for r in rejected:
                res = s.execute(
                    update(m.OutboxEvent)
                    .where(m.OutboxEvent.id == r.id, m.OutboxEvent.status == OutboxState.PENDING)
                    .values(status=OutboxState.REJECTED,
                            reject_reason=(r.reason or "rejected by the server")[:2000], acknowledged_at=now)
                    .returning(m.OutboxEvent.lead_id)
                )
                lead_id = res.scalar()
                if lead_id:
                    touched_leads.add(lead_id)
            if touched_leads:
                revert_rejected(s, touched_leads)
        unanswered = len(set(sent_ids) - {r.id for r in results})
        return SettleOutcome(len(acked), len(rejected), unanswered)

    def adopt_generation(self, generation: str, resend_since: dt.datetime | None) -> int:
        """The server's database was restored from a backup (it says so with a new generation).

        In one transaction: the events it acknowledged from ``resend_since`` on (this
        computer's clock; all of them when None) are pending again, recordings whose upload
        it confirmed since then are to be uploaded again, the pull starts over and the new
        generation is remembered. Re-sending is safe: the server stores an event once by its
        id and answers ``duplicate`` for the ones the backup had. Returns the events re-queued.
        """
        with self.handle.write() as s:
            q = update(m.OutboxEvent).where(m.OutboxEvent.status == OutboxState.ACCEPTED)
            if resend_since is not None:
                q = q.where(m.OutboxEvent.acknowledged_at >= resend_since)
            requeued = s.execute(q.values(status=OutboxState.PENDING, acknowledged_at=None)).rowcount or 0
            uploads = s.execute(select(m.SyncState.key, m.SyncState.value)
                                .where(m.SyncState.key.startswith(RECORDING_PREFIX))).all()
            for key, value in uploads:
                try:
                    done_at = parse_iso(value)
                except ValueError:
                    done_at = None
                if resend_since is None or done_at is None or done_at >= resend_since:
                    put_state(s, key, None)
            put_state(s, CURSOR, None)
            put_state(s, GENERATION, generation)
        return requeued

    def rejected_events(self, limit: int = 500) -> list[RejectedEvent]:
        with self.handle.session() as s:
            rows = s.execute(
                select(m.OutboxEvent.id, m.OutboxEvent.type, m.OutboxEvent.lead_id, m.OutboxEvent.occurred_at,
                       m.OutboxEvent.reject_reason)
                .where(m.OutboxEvent.status == OutboxState.REJECTED)
                .order_by(m.OutboxEvent.seq.desc())
                .limit(limit)
            ).all()
        return [RejectedEvent(r.id, r.type, r.lead_id, r.occurred_at, r.reject_reason or "") for r in rows]


__all__ = ["Outbox", "RejectedEvent", "SettleOutcome", "count_pending"]
