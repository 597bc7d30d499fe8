"""The sync contract's vocabulary (docs/sync-api.md): one enum per set of wire strings.

Every enum is a ``str`` subclass whose members *are* the wire strings: they
compare equal to them, serialise to them (JSON, SQL parameters) and print as
them (``str()``, f-strings). So the database values and the wire stay exactly
as they were; only the spelling in the code is checked now.
"""

from __future__ import annotations

from enum import Enum


class WireEnum(str, Enum):
    """A str enum that prints as its value on every Python version (3.11 prints ``Cls.NAME``)."""

    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__


class EventType(WireEnum):
    """What the agent did: an outbox event's ``type`` (docs/sync-api.md, "Push")."""

    CALL_ATTEMPTED = "call_attempted"
    CALL_ENDED = "call_ended"
    DISPOSITION_RECORDED = "disposition_recorded"
    CALLBACK_SCHEDULED = "callback_scheduled"
    NOTE_ADDED = "note_added"
    DNC_REQUESTED = "dnc_requested"
    UNSCRIPTED_QUESTION = "unscripted_question"
    COACHING_SCORE = "coaching_score"
    AGENT_STATE_CHANGED = "agent_state_changed"
    # Coaching (docs/coaching.md): a TL's evaluation on the campaign's form (a correction is a
    # new evaluation that ``supersedes`` the old one), the agent's answer to it.
    COACHING_EVALUATION_RECORDED = "coaching_evaluation_recorded"
    COACHING_ACKNOWLEDGED = "coaching_acknowledged"
    COACHING_DISPUTED = "coaching_disputed"


#: Event types that are about one lead and need a ``lead_id``.
LEAD_EVENT_TYPES = frozenset({EventType.DISPOSITION_RECORDED, EventType.CALLBACK_SCHEDULED, EventType.NOTE_ADDED})


class Entity(WireEnum):
    """What a pull change is about (docs/sync-api.md, "Pull")."""

    CAMPAIGN = "campaign"
    SCRIPT = "script"
    DISPOSITION_CODE = "disposition_code"
    LEAD = "lead"
    DNC = "dnc"
    TARGET = "target"
    SETTING = "setting"
    # Supervisor floor control (docs/supervisor.md): a TL's order to this agent, and a TL's
    # message to this agent or their whole team. Not in ENTITY_APPLY_ORDER until the cache
    # stores them (an unknown entity is skipped with a warning, never refused).
    AGENT_COMMAND = "agent_command"
    TEAM_MESSAGE = "team_message"
    # Coaching (docs/coaching.md): the campaign's 辅导表, and evaluations (an agent's own calls;
    # a TL's team's, with the agent's acknowledgement or dispute).
    COACHING_FORM = "coaching_form"
    COACHING_EVALUATION = "coaching_evaluation"
    # The caller's own SIP account, provisioned centrally (docs/sync-api.md, "sip_account").
    SIP_ACCOUNT = "sip_account"


#: The order a pulled page is applied in: parents before their children.
ENTITY_APPLY_ORDER: tuple[Entity, ...] = (
    Entity.CAMPAIGN, Entity.SCRIPT, Entity.DISPOSITION_CODE, Entity.LEAD, Entity.DNC, Entity.TARGET,
    Entity.SETTING, Entity.SIP_ACCOUNT,
)


class ChangeOp(WireEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class LeadStatus(WireEnum):
    """A lead's status; the server derives it from events (core.lead_status)."""

    NEW = "new"
    CALLBACK = "callback"
    DONE = "done"
    CLOSED = "closed"


#: Statuses still to be worked (the agent's to-do list) and finished ones.
OPEN_STATUSES: tuple[LeadStatus, ...] = (LeadStatus.NEW, LeadStatus.CALLBACK)
FINISHED_STATUSES: tuple[LeadStatus, ...] = (LeadStatus.DONE, LeadStatus.CLOSED)


class OutboxState(WireEnum):
    """Where an event is in the local outbox (and on the server: accepted or rejected)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PushStatus(WireEnum):
    """The server's answer for one pushed event; ``duplicate`` counts as accepted."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


#: Answers that mean "the server has this event".
ACKNOWLEDGED: frozenset[PushStatus] = frozenset({PushStatus.ACCEPTED, PushStatus.DUPLICATE})


class CallDirection(WireEnum):
    """The one spelling of a call's direction: the wire's (``call_attempted.direction``,
    the cache's ``calls.direction``); the softphone reports it with the same enum."""

    OUT = "out"
    IN = "in"


class CodeGroup(WireEnum):
    """A disposition code's group: was the customer reached?"""

    CONNECTED = "connected"
    NOT_CONNECTED = "not_connected"


__all__ = [
    "ACKNOWLEDGED",
    "ENTITY_APPLY_ORDER",
    "FINISHED_STATUSES",
    "LEAD_EVENT_TYPES",
    "OPEN_STATUSES",
    "CallDirection",
    "ChangeOp",
    "CodeGroup",
    "Entity",
    "EventType",
    "LeadStatus",
    "OutboxState",
    "PushStatus",
    "WireEnum",
]
