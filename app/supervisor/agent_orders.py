"""The agent's side of floor control: the TL's orders and messages (docs/supervisor.md).

The agent stream (``/agent/stream``) runs on a thread of its own; each event is
posted onto the GUI thread, where:

- a ``command`` (force 小休 / 就绪) is carried out on the agent's state machine
  (``app.workspace.agent_state``) and acknowledged: ``applied`` at once, or
  ``deferred`` when the agent is on a call or in wrap-up (a pause then starts when
  the wrap-up is saved, like a pause the agent asked for) and ``applied`` once the
  machine gets there; ``refused`` for a reason the campaign does not know. The
  presence change follows from the machine as for any other change, so the TL's
  board shows the new state only when the desktop is in it.
- a ``message`` is kept in the list (``messages``) and announced (``message_received``).

Acks run on one ``app.background`` worker with the borrowed session. Commands and
messages are taken once by id (the stream may bring one again after a reconnect).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import Worker, on_gui
from app.supervisor.common import ApiSource, BorrowedClient, StreamOwner, TokenBorrower
from core import messages as msg
from core.agent_state import AgentState, AgentStatus, TransitionError
from core.messages import Message
from core.supervisor import AgentCommand, AgentFeedEvent, CommandStatus, TeamMessage
from core.timeutil import utcnow
from sync.supervisor import EventStream, StreamEvent, SupervisorClient

log = logging.getLogger(__name__)

#: A pulled message younger than this still pops up; older ones only join the list.
RECENT = dt.timedelta(minutes=15)


class AgentOrders(QObject, StreamOwner):
    message_received = Signal(object)  # TeamMessage: new, pop it up
    message_listed = Signal(object)  # TeamMessage: an older one (from the pull), list it quietly
    order_applied = Signal(object)  # Message: what the TL's order did (the UI words it)
    acked = Signal(str, str)  # command id, result (tests and the log)

    def __init__(self, api_source: ApiSource, machine: Any, *, parent: QObject | None = None,
                 stream_options: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self._tokens = TokenBorrower(api_source)
        self._machine = machine
        self._stream_options = dict(stream_options or {})
        self._stream: EventStream | None = None
        self._worker = Worker("agent-orders")
        self._client: BorrowedClient | None = None
        self._seen_commands: set[str] = set()
        self._seen_messages: set[str] = set()
        self._waiting: dict[str, AgentCommand] = {}  # deferred: command id → order
        self.messages: list[TeamMessage] = []
        self.unread = 0
        self._stopped = False
        machine.changed.connect(self._on_state)

    def start(self) -> None:
        if self._stream is not None or self._stopped:
            return
        api = self._tokens.api()
        self._stream = EventStream(api.base_url, "/agent/stream", self._tokens, {}, self._on_stream_event,
                                   **self._stream_options)
        self._stream.start()

    def stop(self) -> None:
        self._shut_down()

    def mark_read(self) -> None:
        self.unread = 0

    # -- stream thread → GUI thread ----------------------------------------------------
    def _on_stream_event(self, ev: StreamEvent) -> None:
        if ev.data is not None:
            on_gui(self._handle, ev)

    def _handle(self, ev: StreamEvent) -> None:
        if self._stopped or ev.data is None:
            return
        try:
            if ev.name == AgentFeedEvent.COMMAND:
                self.take_command(AgentCommand.from_json(ev.data))
            elif ev.name == AgentFeedEvent.MESSAGE:
                self.take_message(TeamMessage.from_json(ev.data))
        except (KeyError, TypeError, ValueError):
            log.warning("agent stream: unreadable %s dropped", ev.name)

    # -- the pull (durable delivery: what came while the stream was not connected) -----------
    def take_pulled(self, changes: list[Any]) -> None:
        """Pulled ``agent_command`` / ``team_message`` changes (``SyncService.floor_changes``).
        Open, unexpired orders are carried out like streamed ones; messages join the list,
        and only recent ones (``RECENT``) pop up: a first pull brings the team's history."""
        now = utcnow()
        for change in changes:
            data = getattr(change, "data", None)
            if getattr(change, "op", "") != "upsert" or not isinstance(data, dict):
                continue
            try:
                if change.entity == "agent_command":
                    self.take_command(AgentCommand.from_json({"id": change.id, **data}))
                elif change.entity == "team_message":
                    message = TeamMessage.from_json({"id": change.id, **data})
                    recent = message.sent_at is not None and now - message.sent_at <= RECENT
                    self.take_message(message, announce=recent)
            except (KeyError, TypeError, ValueError):
                log.warning("pulled %s %s unreadable; skipped", change.entity, change.id)

    # -- messages ------------------------------------------------------------------------
    def take_message(self, message: TeamMessage, *, announce: bool = True) -> None:
        if message.id in self._seen_messages:
            return
        self._seen_messages.add(message.id)
        self.messages.append(message)
        self.messages.sort(key=lambda m: m.sent_at or dt.datetime.min)
        if announce:
            self.unread += 1
            self.message_received.emit(message)
        else:
            self.message_listed.emit(message)

    # -- orders --------------------------------------------------------------------------
    def take_command(self, cmd: AgentCommand) -> None:
        if cmd.id in self._seen_commands or not cmd.is_open:
            return
        if cmd.expires_at is not None and cmd.expires_at <= utcnow():
            return  # nobody carried it out in time: the server has closed it
        self._seen_commands.add(cmd.id)
        # A newer order replaces one still waiting for the wrap-up.
        for old in list(self._waiting):
            del self._waiting[old]
        state = self._machine.state
        busy = state in (AgentState.ON_CALL, AgentState.WRAP_UP)
        try:
            if cmd.state == AgentState.PAUSED.value:
                self._machine.pause(cmd.reason or "")
            elif cmd.state == AgentState.READY.value:
                if state is AgentState.PAUSED:
                    self._machine.resume()
                elif busy:
                    self._machine.resume()  # drops a pause asked for after this call
                elif state is not AgentState.READY:
                    self._machine.go_ready()
            else:
                raise TransitionError(f"unknown order {cmd.state!r}")
        except TransitionError as exc:
            log.info("TL's order %s refused: %s", cmd.id, exc)
            self._ack(cmd.id, CommandStatus.REFUSED.value, str(exc)[:200])
            return
        if busy:
            self._waiting[cmd.id] = cmd
            self._ack(cmd.id, CommandStatus.DEFERRED.value, None)
            if cmd.state == AgentState.PAUSED.value:
                self.order_applied.emit(Message.of(msg.ORDER_PAUSE_LATER, by=cmd.issued_by_name,
                                                   reason=cmd.reason or ""))
            return
        self._ack(cmd.id, CommandStatus.APPLIED.value, None)
        self._announce(cmd)

    def _announce(self, cmd: AgentCommand) -> None:
        if cmd.state == AgentState.PAUSED.value:
            self.order_applied.emit(Message.of(msg.ORDER_PAUSE, by=cmd.issued_by_name, reason=cmd.reason or ""))
        else:
            self.order_applied.emit(Message.of(msg.ORDER_READY, by=cmd.issued_by_name))

    def _on_state(self, status: AgentStatus) -> None:
        """A deferred order is applied once the machine reaches its state after the call."""
        for cid, cmd in list(self._waiting.items()):
            if status.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
                continue
            del self._waiting[cid]
            if status.state.value == cmd.state:
                self._ack(cid, CommandStatus.APPLIED.value, None)
                self._announce(cmd)
            else:
                self._ack(cid, CommandStatus.REFUSED.value, f"agent went {status.state.value}")

    def _ack(self, command_id: str, result: str, detail: str | None) -> None:
        def job() -> Any:
            if self._client is None:
                self._client = BorrowedClient(self._tokens.api().base_url, self._tokens)
            return SupervisorClient(self._client).ack_command(command_id, result, detail)

        self._worker.submit(job, on_success=lambda _c: self.acked.emit(command_id, result),
                            on_failure=lambda exc: log.info("ack of %s failed: %s", command_id, exc))
