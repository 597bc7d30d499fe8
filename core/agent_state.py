"""Agent states (就绪 / 通话中 / 话后处理 / 小休 / 离线) and their allowed transitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum


class AgentState(str, Enum):
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    OFFLINE = "offline"


PAUSE_REASONS = ("休息", "用餐", "会议", "培训", "辅导")

STATE_LABELS = {
    AgentState.READY: "就绪",
    AgentState.ON_CALL: "通话中",
    AgentState.WRAP_UP: "话后处理",
    AgentState.PAUSED: "小休",
    AgentState.OFFLINE: "离线",
}

_ALLOWED: dict[AgentState, set[AgentState]] = {
    AgentState.OFFLINE: {AgentState.READY, AgentState.PAUSED, AgentState.WRAP_UP},
    AgentState.READY: {AgentState.ON_CALL, AgentState.PAUSED, AgentState.OFFLINE},
    # Inbound calls may ring while paused (a returned call); answering moves to on_call.
    AgentState.PAUSED: {AgentState.READY, AgentState.ON_CALL, AgentState.OFFLINE},
    AgentState.ON_CALL: {AgentState.WRAP_UP, AgentState.OFFLINE},
    AgentState.WRAP_UP: {AgentState.READY, AgentState.PAUSED, AgentState.OFFLINE},
}


class TransitionError(ValueError):
    pass


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState
    reason: str | None = None
    since: dt.datetime | None = None
    pending_pause: str | None = None

    @property
    def label(self) -> str:
        text = STATE_LABELS[self.state]
        return f"{text}（{self.reason}）" if self.state is AgentState.PAUSED and self.reason else text

    def presence_payload(self) -> dict:
        payload: dict = {"state": self.state.value}
        if self.reason:
            payload["reason"] = self.reason
        return payload
