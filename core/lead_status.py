"""What an event does to its lead: the one copy of the disposition → lead-status rule.

The server derives a lead's state from events and is the authority
(server/events.py); the agent's cache shows the same state at once, before the
server has answered: the wrap-up's save (app/workspace/store.py) and the pull
overlay of pending events (cache/overlay.py). All three call this module, so
the agent's list never shows a status that the next pull flips.

The rule (docs/sync-api.md, "Derived lead state"), in order:

1. a code that ``closes_lead`` → ``closed``, no callback: the code says the lead
   is finished (do-not-call, wrong party, invalid number), and a callback time
   given with it must not reopen a lead the customer asked never to be called
   about again; this holds for converting codes too;
2. else a callback time → ``callback`` at that time;
3. else a converting or connected code → ``done``;
4. else (not connected, no callback) the lead stays as it was, in its queue.

A ``callback_scheduled`` event moves any lead but a closed one to ``callback``.
An event older than the one that last set the status does not change it (a
late offline backlog must not undo newer work); the cache keeps no such time,
so there every event counts as newer (the agent's own pending work is always
laid on top of the server's copy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from core.contract import CodeGroup, LeadStatus


@dataclass(frozen=True)
class CodeFlags:
    """The flags of a disposition code that decide what it does to a lead's status."""

    closes_lead: bool = False
    is_conversion: bool = False
    connected: bool = False  # the code's group is "connected": the customer was reached

    @classmethod
    def of(cls, code: Any) -> CodeFlags:
        """From anything with ``closes_lead``, ``is_conversion`` and ``group`` (a
        core.wrapup.CodeRule, a cache or server row)."""
        return cls(bool(code.closes_lead), bool(code.is_conversion), code.group == CodeGroup.CONNECTED)


@dataclass(frozen=True)
class LeadState:
    """The derived part of a lead. Times are naive UTC."""

    status: str
    next_callback_at: dt.datetime | None = None
    last_disposition: str | None = None
    last_attempt_at: dt.datetime | None = None
    #: ``occurred_at`` of the event that last set the status; the server keeps it, the
    #: cache does not (None: every event is newer).
    state_event_at: dt.datetime | None = None


def is_newer(occurred_at: dt.datetime, state_event_at: dt.datetime | None) -> bool:
    """Does an event at ``occurred_at`` win over the one that last set the status? (Ties win.)"""
    return state_event_at is None or occurred_at >= state_event_at


def disposition_status(flags: CodeFlags | None, callback_at: dt.datetime | None, current_status: str,
                       current_callback_at: dt.datetime | None) -> tuple[str, dt.datetime | None]:
    """(status, next_callback_at) after a disposition; ``flags`` None: a code this side
    does not know (only its callback time counts)."""
    flags = flags or CodeFlags()
    if flags.closes_lead:
        return LeadStatus.CLOSED, None
    if callback_at is not None:
        return LeadStatus.CALLBACK, callback_at
    if flags.is_conversion or flags.connected:
        return LeadStatus.DONE, None
    return current_status, current_callback_at


def _later(a: dt.datetime | None, b: dt.datetime) -> dt.datetime:
    return b if a is None or b > a else a


def after_attempt(lead: LeadState, occurred_at: dt.datetime) -> LeadState:
    """A call attempt only moves ``last_attempt_at`` forward."""
    return replace(lead, last_attempt_at=_later(lead.last_attempt_at, occurred_at))


def after_disposition(lead: LeadState, code: str, flags: CodeFlags | None, callback_at: dt.datetime | None,
                      occurred_at: dt.datetime) -> LeadState:
    """The lead after a ``disposition_recorded`` event with ``code`` (see the module's rule)."""
    attempted = _later(lead.last_attempt_at, occurred_at)
    if not is_newer(occurred_at, lead.state_event_at):
        return replace(lead, last_attempt_at=attempted)
    status, next_callback_at = disposition_status(flags, callback_at, lead.status, lead.next_callback_at)
    return LeadState(status, next_callback_at, code, attempted, occurred_at)


def after_callback_scheduled(lead: LeadState, due_at: dt.datetime | None, occurred_at: dt.datetime) -> LeadState:
    """The lead after a ``callback_scheduled`` event: ``callback`` unless it is closed."""
    if due_at is None or lead.status == LeadStatus.CLOSED or not is_newer(occurred_at, lead.state_event_at):
        return lead
    return replace(lead, status=LeadStatus.CALLBACK, next_callback_at=due_at, state_event_at=occurred_at)


__all__ = ["CodeFlags", "LeadState", "after_attempt", "after_callback_scheduled", "after_disposition",
           "disposition_status", "is_newer"]
