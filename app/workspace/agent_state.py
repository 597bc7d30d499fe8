"""The agent's state: 就绪 / 通话中 / 话后处理 / 小休(原因) / 离线.

A small state machine with explicit transitions. Every change is emitted as a
frozen :class:`AgentStatus`; the composition root turns it into the
``agent_state_changed`` presence event and the status-bar text.

A pause asked for while on a call or in wrap-up is remembered and taken when
the wrap-up is saved, so the agent can say "break after this call".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal

from core.agent_state import _ALLOWED, PAUSE_REASONS, AgentState, AgentStatus, TransitionError
from core.timeutil import now_utc

# English source names for the UI (context "AgentState"); STATE_LABELS stay the Chinese
# defaults for logs and anything without a translator.
STATE_NAMES = {
    AgentState.READY: QT_TRANSLATE_NOOP("AgentState", "Ready"),
    AgentState.ON_CALL: QT_TRANSLATE_NOOP("AgentState", "On call"),
    AgentState.WRAP_UP: QT_TRANSLATE_NOOP("AgentState", "Wrap-up"),
    AgentState.PAUSED: QT_TRANSLATE_NOOP("AgentState", "Paused"),
    AgentState.OFFLINE: QT_TRANSLATE_NOOP("AgentState", "Offline"),
}


class AgentStateMachine(QObject):
    changed = Signal(object)  # AgentStatus

    def __init__(
        self,
        clock: Callable[[], dt.datetime] | None = None,
        pause_reasons: tuple[str, ...] = PAUSE_REASONS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock or now_utc
        self.pause_reasons = tuple(pause_reasons)
        self._status = AgentStatus(AgentState.OFFLINE, since=self._clock())

    @property
    def status(self) -> AgentStatus:
        return self._status

    @property
    def state(self) -> AgentState:
        return self._status.state

    def can_dial(self) -> bool:
        return self.state is AgentState.READY

    # -- transitions -------------------------------------------------------------
    def go_ready(self) -> None:
        self._move(AgentState.READY)

    def go_offline(self) -> None:
        self._move(AgentState.OFFLINE)

    def call_started(self) -> None:
        self._move(AgentState.ON_CALL)

    def call_ended(self) -> None:
        """The call is over: wrap-up is mandatory, whatever came before."""
        if self.state is AgentState.WRAP_UP:
            return
        self._move(AgentState.WRAP_UP)

    def resume_wrapup(self) -> None:
        """After a restart with an unsaved wrap-up: back into wrap-up, whatever the start state."""
        if self.state is not AgentState.WRAP_UP:
            self._status = AgentStatus(AgentState.WRAP_UP, since=self._clock())
            self.changed.emit(self._status)

    def wrapup_saved(self) -> None:
        pending = self._status.pending_pause
        if pending:
            self._move(AgentState.PAUSED, pending)
        else:
            self._move(AgentState.READY)

    def pause(self, reason: str) -> None:
        if reason not in self.pause_reasons:
            raise TransitionError(f"unknown pause reason {reason!r}")
        if self.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            # Taken after the wrap-up is saved.
            self._status = AgentStatus(
                self._status.state, self._status.reason, self._status.since, pending_pause=reason
            )
            self.changed.emit(self._status)
            return
        self._move(AgentState.PAUSED, reason)

    def resume(self) -> None:
        if self.state is AgentState.PAUSED:
            self._move(AgentState.READY)
        elif self._status.pending_pause:
            self._status = AgentStatus(self._status.state, self._status.reason, self._status.since)
            self.changed.emit(self._status)

    def _move(self, target: AgentState, reason: str | None = None) -> None:
        current = self.state
        if target is current and reason == self._status.reason:
            return
        if target is not current and target not in _ALLOWED[current]:
            raise TransitionError(f"{current.value} → {target.value} is not allowed")
        # A pause asked for during the call carries through to the end of wrap-up.
        pending = self._status.pending_pause if target in (AgentState.ON_CALL, AgentState.WRAP_UP) else None
        self._status = AgentStatus(target, reason if target is AgentState.PAUSED else None, self._clock(), pending)
        self.changed.emit(self._status)
