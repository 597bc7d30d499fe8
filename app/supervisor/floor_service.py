"""The TL's floor (班组监控): the live board, its clock and alerts, floor control.

A QObject on the GUI thread that the board widgets talk to. It wraps
``sync.supervisor``:

- the board stream (``/supervisor/board/stream``) runs on a thread of its own
  (:class:`~sync.supervisor.EventStream`: one owner thread, reconnects with
  backoff, a fresh snapshot on every connection); each event is posted onto the
  GUI thread (``app.background.on_gui``) and applied to one
  :class:`~core.supervisor.BoardState` there, so the state has one owner and the
  model reads it without locks;
- ``board_reset`` after a snapshot, ``rows_changed({agent ids})`` after a patch
  (only those rows repaint), ``live_changed`` when the stream drops or comes back
  (the rows stay: stale, with their age, see :meth:`stale_age_s`);
- one 1 s timer (``tick``) for every clock on the board (time in state, call
  duration, stale age) and for the thresholds' alerts (``alerts_changed``,
  ``alert_raised`` once per episode);
- floor control (force 小休 / 就绪, messages) runs on one ``app.background``
  worker; the outcome comes back as a ``core.messages.Message``
  (``action_finished`` / ``action_failed``);
- ``monitor_requested(agent_id, mode)``: the 监听 / 耳语 / 强插 / 结束 buttons. The
  monitoring service (app/supervisor/monitor*) connects to it; ``mode`` is a
  ``core.supervisor.MonitorMode`` value or ``"end"``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.background import Worker, on_gui
from app.supervisor.common import ApiSource, BorrowedClient, StreamOwner, TokenBorrower, failure_message
from core import messages as msg
from core.floor_alerts import Alert, AlertTracker, Thresholds
from core.messages import Message
from core.supervisor import BoardEvent, BoardRow, BoardState, TeamMessage
from core.timeutil import utcnow
from sync.supervisor import EventStream, StreamEvent, SupervisorClient

log = logging.getLogger(__name__)

END_MONITOR = "end"
TICK_MS = 1000


class FloorService(QObject, StreamOwner):
    board_reset = Signal()  # a snapshot replaced every row
    rows_changed = Signal(object)  # frozenset[str]: agent ids whose rows changed
    live_changed = Signal(bool)  # the stream is up (True) / the board is stale (False)
    closed = Signal(str)  # the server refused the board for good (not a TL any more)
    tick = Signal()  # once a second: clocks move
    alerts_changed = Signal(object)  # dict[str, Alert]: the rows past a threshold now
    alert_raised = Signal(object)  # Alert: a row just crossed a threshold
    thresholds_changed = Signal(object)  # Thresholds
    message_logged = Signal(object)  # TeamMessage: a TL of the team sent it
    action_finished = Signal(object)  # Message
    action_failed = Signal(object)  # Message
    monitor_requested = Signal(str, str)  # agent_id, mode ("listen" | "whisper" | "barge" | "end")

    def __init__(self, api_source: ApiSource, *, team_id: str | None = None,
                 thresholds: Thresholds | None = None,
                 save_thresholds: Callable[[Thresholds], None] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, parent: QObject | None = None,
                 stream_options: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self._tokens = TokenBorrower(api_source)
        self._team_id = team_id
        self._clock = clock
        self._save_thresholds = save_thresholds
        self._stream_options = dict(stream_options or {})
        self.thresholds = thresholds or Thresholds()
        self.board = BoardState()
        self.live = False
        self.lost_at: dt.datetime | None = None  # local clock, naive UTC: when the stream dropped
        self._offset = dt.timedelta(0)  # server clock − local clock, from the last snapshot
        self._stream: EventStream | None = None
        self._worker = Worker("floor-control")
        self._client: BorrowedClient | None = None  # made and used on the worker only
        self._alerts = AlertTracker()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)
        self._stopped = False

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        if self._stream is not None or self._stopped:
            return
        api = self._tokens.api()
        params = {"team_id": self._team_id} if self._team_id else {}
        self._stream = EventStream(api.base_url, "/supervisor/board/stream", self._tokens, params,
                                   self._on_stream_event, **self._stream_options)
        self._stream.start()
        self._timer.start()
        log.info("team board: stream started")

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()
        self._shut_down()

    # -- the stream (its own thread) → the GUI thread -----------------------------------
    def _on_stream_event(self, ev: StreamEvent) -> None:
        on_gui(self._handle, ev)

    def _handle(self, ev: StreamEvent) -> None:
        if self._stopped:
            return
        now = self._clock()
        if ev.data is None:
            if ev.name in ("disconnected", "closed"):
                self._went_stale(now, ev.error)
                if ev.name == "closed":
                    self.closed.emit(ev.error or "")
            return
        changed = self.board.apply(ev.name, ev.data, now)
        if ev.name == BoardEvent.SNAPSHOT:
            if self.board.server_time is not None:
                self._offset = self.board.server_time - now
            self.lost_at = None
            self.board_reset.emit()
            self._evaluate(self.now())
            if not self.live:
                self.live = True
                self.live_changed.emit(True)
            return
        if ev.name == BoardEvent.MESSAGE and self.board.messages:
            self.message_logged.emit(self.board.messages[-1])
        if changed:
            self.rows_changed.emit(changed)

    def _went_stale(self, now: dt.datetime, why: str | None) -> None:
        self.board.disconnected()
        if self.live:
            log.info("team board: stream lost (%s); keeping the last snapshot", why)
            self.live = False
            self.lost_at = now
            self.live_changed.emit(False)
        elif self.lost_at is None and self.board.received_at is not None:
            self.lost_at = self.board.received_at

    # -- the clock ------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The server's clock as best known (naive UTC): every duration on the board uses it."""
        return self._clock() + self._offset

    def stale_age_s(self) -> float | None:
        """Seconds since the board last had a live stream (None while live or before any data)."""
        if self.live or self.lost_at is None:
            return None
        return max(0.0, (self._clock() - self.lost_at).total_seconds())

    def _on_tick(self) -> None:
        self._evaluate(self.now())
        self.tick.emit()

    def _evaluate(self, now: dt.datetime) -> None:
        raised, changed = self._alerts.update(self.board.rows.values(), now, self.thresholds)
        if changed:
            self.alerts_changed.emit(dict(self._alerts.active))
        for alert in raised:
            self.alert_raised.emit(alert)

    @property
    def alerts(self) -> dict[str, Alert]:
        return dict(self._alerts.active)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        if thresholds == self.thresholds:
            return
        self.thresholds = thresholds
        if self._save_thresholds is not None:
            self._save_thresholds(thresholds)
        self.thresholds_changed.emit(thresholds)
        self._evaluate(self.now())

    # -- rows --------------------------------------------------------------------------
    def row(self, agent_id: str) -> BoardRow | None:
        return self.board.rows.get(agent_id)

    def _name(self, agent_id: str | None) -> str:
        row = self.board.rows.get(agent_id or "")
        return (row.display_name or row.username) if row is not None else ""

    # -- floor control (a worker thread) -------------------------------------------------
    def _api(self) -> SupervisorClient:
        if self._client is None:
            self._client = BorrowedClient(self._tokens.api().base_url, self._tokens)
        return SupervisorClient(self._client)

    def _control(self, fn: Callable[[SupervisorClient], Any], done: Message) -> None:
        self._worker.submit(lambda: fn(self._api()),
                            on_success=lambda _result: self.action_finished.emit(done),
                            on_failure=self._control_failed)

    def _control_failed(self, exc: BaseException) -> None:
        log.info("floor control failed: %s", exc)
        self.action_failed.emit(failure_message(exc))

    def force_pause(self, agent_id: str, reason: str) -> None:
        """Order the agent to 小休 with a reason (carried out by the agent's app; the board
        shows the pending order until then)."""
        self._control(lambda c: c.force_pause(agent_id, reason),
                      Message.of(msg.FLOOR_PAUSE_SENT, name=self._name(agent_id), reason=reason))

    def force_ready(self, agent_id: str) -> None:
        self._control(lambda c: c.force_ready(agent_id),
                      Message.of(msg.FLOOR_READY_SENT, name=self._name(agent_id)))

    def send_message(self, text: str, agent_id: str | None = None) -> None:
        """To one agent, or the whole team (agent_id None)."""
        done = (Message.of(msg.FLOOR_MESSAGE_SENT, name=self._name(agent_id)) if agent_id
                else Message.of(msg.FLOOR_MESSAGE_TEAM_SENT))
        self._control(lambda c: c.send_message(text, agent_id), done)

    @property
    def messages(self) -> list[TeamMessage]:
        return list(self.board.messages)

    # -- monitoring (implemented by the monitoring service) -------------------------------
    def request_monitor(self, agent_id: str, mode: str) -> None:
        """监听 / 耳语 / 强插 (``core.supervisor.MonitorMode``) or ``"end"``, for the monitoring
        service to carry out."""
        log.info("team board: monitor %s requested", mode)
        self.monitor_requested.emit(agent_id, mode)
