"""The agent's call loop: dial (through the gate) → talk → hang up → wrap-up → next.

The one place that ties the softphone, the cache, the compliance gate, the
agent state, the wrap-up and the dial modes together. Widgets call its
methods and listen to its signals; it never touches a widget.

The phone is an :class:`app.workspace.seams.Phone`: ``dial(number, lead_id=None)
-> call id`` (or a Future of it), ``hangup(call_id=None)``, ``answer(call_id=None)``
and a ``call_state_changed`` signal carrying :class:`softphone.types.CallInfo`-like
frozen objects (``call_id``, ``state``, ``direction``, ``sip_code``,
``dialed_at``/``ringing_at``/``answered_at``/``ended_at`` as ``time.time()``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.background import Worker, gui_thread
from app.workspace.agent_state import AgentStateMachine
from app.workspace.callbacks import CallbackMonitor
from app.workspace.dialing import PowerDialer
from app.workspace.seams import Phone
from app.workspace.store import CallStart, WorkspaceStore
from app.workspace.wrapup import WrapupService
from core import kpi
from core import messages as msg
from core.agent_state import AgentState, AgentStatus
from core.callbacks import first_contact_cutoff
from core.compliance import ComplianceGate, GateResult
from core.contract import FINISHED_STATUSES, CallDirection, EventType
from core.dialing import DialMode, rank_leads
from core.messages import Message
from core.phone import PhoneError, mask, normalise
from core.timeutil import now_utc
from core.wrapup import CallOutcome, SavedDisposition

log = logging.getLogger(__name__)
UTC = dt.timezone.utc


@dataclass(frozen=True)
class ActiveCall:
    call_id: str  # our call record id (= the engine's id when it gives one)
    engine_id: str | None
    lead_id: str | None
    phone_id: int | None
    direction: str
    masked: str
    dialed_at: dt.datetime
    ringing_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None


def _ts(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, UTC)


def _state_name(info: Any) -> str:
    state = getattr(info, "state", "")
    return str(getattr(state, "value", state))


class WorkspaceController(QObject):
    dial_blocked = Signal(object)  # core.messages.Message: why no call was placed
    call_placed = Signal(object)  # ActiveCall
    engine_bound = Signal(object)  # ActiveCall, now with the softphone's own call id
    call_answered = Signal(object)  # ActiveCall
    call_finished = Signal(object)  # CallOutcome
    lead_focused = Signal(str)  # the customer card should show this lead (dial, preview, inbound)
    kpi_changed = Signal(object)  # kpi.KpiSnapshot
    preview_changed = Signal(object)  # LeadBrief of the next best lead, or None
    message = Signal(object)  # core.messages.Message: an informational line for the status bar
    incoming = Signal(object)  # (engine id, masked, lead id or None)
    #: New leads past the 48-hour first-contact window: (count, cutoff — naive UTC: leads
    #: waiting since then or earlier are overdue). See app.workspace.callbacks.
    first_contact_changed = Signal(int, object)

    def __init__(
        self,
        store: WorkspaceStore,
        phone: Phone | None,
        agent: AgentStateMachine,
        wrapup: WrapupService,
        power: PowerDialer,
        gate: ComplianceGate | None = None,
        callbacks: CallbackMonitor | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        timezone: str = "Asia/Shanghai",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.phone = phone
        self.agent = agent
        self.wrapup = wrapup
        self.power = power
        self.gate = gate or ComplianceGate()
        self.callbacks = callbacks
        self._clock = clock or now_utc
        self.timezone = timezone
        self.active: ActiveCall | None = None
        self._by_engine: dict[str, ActiveCall] = {}
        self._inbound_leads: dict[str, tuple[str, int | None]] = {}  # ringing engine id -> caller's lead
        self.kpis = kpi.KpiSnapshot()
        self.last_gate: GateResult | None = None
        if phone is not None and hasattr(phone, "call_state_changed"):
            phone.call_state_changed.connect(self.on_call_state)
        if phone is not None and hasattr(phone, "incoming_call"):
            phone.incoming_call.connect(self.on_incoming)
        # The workspace's multi-row reads (next lead, KPIs): while another thread is busy in
        # Python (a sync page being applied), every SQLite call on the GUI thread gives up the
        # GIL and may wait up to the 5 ms switch interval to get it back; a KPI refresh is a
        # dozen such calls. Done on this worker, the GUI thread only receives the result.
        self._reads = Worker("workspace-reads")
        self._next_cached: str | None = None
        self._pending_after: Callable[[], None] | None = None
        self.wait_for_ui = False  # set by the window: run after-call work once the panel is painted
        self.after_call_wait_ms = 150
        # engine call id → the recording file, if one was made (set by the runtime)
        self.recording_file: Callable[[str | None], Any] = lambda _engine_id: None
        wrapup.saved.connect(self._on_saved)
        # The call record (call_ended) is written before the disposition: the server checks the
        # code against the call's outcome (core.wrapup.fits) and must know the call first.
        wrapup.before_save = self.ui_settled
        power.dial_requested.connect(self.dial_next)
        agent.changed.connect(self._on_agent_changed)
        if callbacks is not None:
            callbacks.counts_changed.connect(lambda _d, _o: self.refresh_kpis())

    # -- queries -------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self._clock()

    def check_lead(self, lead_id: str, phone_id: int | None = None) -> tuple[GateResult, int | None, str | None]:
        """The gate's answer for a lead (first callable number), without dialing."""
        brief = self.store.lead_brief(lead_id)
        if brief is None:
            return GateResult(False, Message.of(msg.DIAL_LEAD_MISSING), "missing"), None, None
        if brief.status in FINISHED_STATUSES and phone_id is None:
            return GateResult(False, Message.of(msg.DIAL_LEAD_DONE), "done"), None, None
        phone_ids = (phone_id,) if phone_id is not None else brief.phone_ids
        if not phone_ids:
            return GateResult(False, Message.of(msg.DIAL_NO_NUMBER), "no_number"), None, None
        rules = self.store.compliance_rules(brief.campaign_id, self.timezone)
        first: GateResult | None = None
        for pid in phone_ids:
            number = self.store.number_for_dial(pid)
            if not number:
                continue
            result = self.gate.check(rules, self.store.dial_facts(lead_id, number, self.gate.now()))
            if result.allowed:
                return result, pid, number
            first = first or result
        return first or GateResult(False, Message.of(msg.DIAL_NO_NUMBER), "no_number"), None, None

    def next_lead(self) -> tuple[str | None, GateResult | None]:
        """Preview: the next best lead the gate allows now, or why there is none."""
        first_block: GateResult | None = None
        busy = self._leads_in_hand()
        for cand in rank_leads(self.store.candidates(self.now()), self.now()):
            if cand.lead_id in busy:
                continue  # "next" is never the customer on the line or in the open wrap-up
            result, _, _ = self.check_lead(cand.lead_id)
            if result.allowed:
                return cand.lead_id, None
            first_block = first_block or result
        return None, first_block

    def _leads_in_hand(self) -> set[str]:
        """The lead in the call and the lead of the open wrap-up (any thread may ask)."""
        active, draft = self.active, self.wrapup.draft
        return {lead for lead in (active.lead_id if active else None, draft.lead_id if draft else None) if lead}

    def refresh_preview(self) -> None:
        """Find the next best lead on a worker thread; ``preview_changed`` brings it back
        (the latest request's answer only)."""
        def work() -> Any:
            try:
                lead_id, _ = self.next_lead()
                return self.store.lead_brief(lead_id) if lead_id else None
            except Exception:
                log.exception("finding the next lead failed")
                return None

        self._reads.submit(work, self._on_prefetched, latest="preview")

    def _on_prefetched(self, brief: Any) -> None:
        if brief is not None and brief.lead_id in self._leads_in_hand():
            # Looked up before this lead's call started: stale, look again (it is skipped now).
            self.refresh_preview()
            return
        self._next_cached = brief.lead_id if brief is not None else None
        self.preview_changed.emit(brief)

    def compute_kpis(self) -> kpi.KpiSnapshot:
        """Today's KPIs from the cache (any thread)."""
        rules = self.store.compliance_rules(None, self.timezone)
        day_start = self.gate.local_day_start_utc(rules)
        due, overdue = self.callbacks.counts if self.callbacks is not None else (0, 0)
        return kpi.compute(self.store.call_facts(day_start), self.store.targets(), max(0, due), max(0, overdue))

    def refresh_kpis(self) -> None:
        """Recompute on the worker thread; ``kpi_changed`` follows within milliseconds."""
        self._reads.submit(self.compute_kpis, self._on_kpis_ready)

    def first_contact_cutoff(self) -> dt.datetime:
        """Now's cutoff of the 48-hour rule (naive UTC), on the workspace clock."""
        return first_contact_cutoff(self.now())

    def refresh_first_contact(self) -> None:
        """Count the overdue new leads on the worker thread; ``first_contact_changed`` follows."""
        def work() -> tuple[int, dt.datetime]:
            now = self.now()
            return self.store.stale_new_lead_count(now), first_contact_cutoff(now)

        self._reads.submit(work, lambda counted: self.first_contact_changed.emit(*counted))

    def _on_kpis_ready(self, snapshot: kpi.KpiSnapshot) -> None:
        self.kpis = snapshot
        self.kpi_changed.emit(snapshot)

    def shutdown(self) -> None:
        self._reads.stop()

    # -- actions -------------------------------------------------------------------
    def _blocked(self, reason: Message | None, rule: str = "") -> bool:
        self.last_gate = GateResult(False, reason, rule)
        self.dial_blocked.emit(reason)
        return False

    def _can_start(self) -> bool:
        self.ui_settled()
        if self.wrapup.blocking:
            return self._blocked(Message.of(msg.DIAL_WRAPUP_OPEN), "wrapup")
        if self.active is not None:
            return self._blocked(Message.of(msg.DIAL_BUSY), "busy")
        if self.phone is None:
            return self._blocked(Message.of(msg.DIAL_PHONE_NOT_READY), "phone")
        state = self.agent.state
        if state is AgentState.PAUSED:
            return self._blocked(Message.of(msg.DIAL_PAUSED, reason=self.agent.status.reason or ""), "state")
        if state is AgentState.OFFLINE:
            return self._blocked(Message.of(msg.DIAL_OFFLINE), "state")
        return True

    def dial_next(self) -> bool:
        if self.power.counting:
            self.power.cancel()
        if not self._can_start():
            return False
        cached, self._next_cached = self._next_cached, None
        if cached is not None:
            # Found in the background during wrap-up; the gate is asked again now.
            result, _, _ = self.check_lead(cached)
            if result.allowed:
                return self.dial_lead(cached)
        lead_id, block = self.next_lead()
        if lead_id is None:
            if block is not None and block.message is not None:
                return self._blocked(Message.of(msg.DIAL_NO_LEAD_BECAUSE, reason=block.message), block.rule)
            return self._blocked(Message.of(msg.DIAL_NO_LEAD), block.rule if block else "empty")
        return self.dial_lead(lead_id)

    def dial_lead(self, lead_id: str, phone_id: int | None = None) -> bool:
        if not self._can_start():
            return False
        result, pid, number = self.check_lead(lead_id, phone_id)
        self.last_gate = result
        if not result.allowed or number is None:
            return self._blocked(result.message, result.rule)
        self.lead_focused.emit(lead_id)
        return self._place(number, lead_id, pid)

    def dial_number(self, text: str) -> bool:
        """A manual dial from the dialpad: the same gate, matched to a lead when the number is known."""
        if not self._can_start():
            return False
        try:
            number = normalise(text)
        except PhoneError as exc:
            return self._blocked(Message.of(msg.DIAL_INVALID_NUMBER, reason=msg.from_error(exc)), "invalid")
        known = self.store.lead_for_number(number)
        lead_id, phone_id = known if known else (None, None)
        if lead_id is not None:
            return self.dial_lead(lead_id, phone_id)
        rules = self.store.compliance_rules(None, self.timezone)
        result = self.gate.check(rules, self.store.dial_facts(None, number, self.gate.now()))
        self.last_gate = result
        if not result.allowed:
            return self._blocked(result.message, result.rule)
        return self._place(number, None, None)

    def _place(self, number: str, lead_id: str | None, phone_id: int | None) -> bool:
        now = self.now()
        call_id = uuid.uuid4().hex
        self.active = ActiveCall(call_id, None, lead_id, phone_id, CallDirection.OUT, mask(number), now)
        self._next_cached = None
        try:
            result = self.phone.dial(number, lead_id=lead_id)
        except Exception as exc:  # e.g. not registered: the attempt is recorded and wrapped up as failed
            self.store.record_call_started(CallStart(call_id, lead_id, phone_id, CallDirection.OUT, now), number)
            self.agent.call_started()
            self._on_dial_done(call_id, exc)
            return False
        # The engine sends the INVITE on its own thread meanwhile; the attempt is on disk
        # before this returns, so the gate counts it even if the app dies mid-call.
        self.store.record_call_started(CallStart(call_id, lead_id, phone_id, CallDirection.OUT, now), number)
        self.agent.call_started()
        if hasattr(result, "add_done_callback"):
            # The engine answers on its SIP thread; _on_dial_done runs on ours.
            result.add_done_callback(lambda fut: self._on_dial_done(call_id, fut))
        else:
            self._bind_engine(call_id, str(result) if result else call_id)
        self.call_placed.emit(self.active)
        if lead_id is not None:
            self.refresh_preview()  # "next" named this lead until now
        return True

    def _bind_engine(self, call_id: str, engine_id: str) -> None:
        if self.active is not None and self.active.call_id == call_id and self.active.engine_id is None:
            self.active = replace(self.active, engine_id=engine_id)
            self._by_engine[engine_id] = self.active
            self.engine_bound.emit(self.active)

    @gui_thread
    def _on_dial_done(self, call_id: str, fut_or_exc: Any) -> None:
        exc = fut_or_exc if isinstance(fut_or_exc, BaseException) else fut_or_exc.exception()
        if exc is None:
            self._bind_engine(call_id, str(fut_or_exc.result()))
            return
        call = self.active
        if call is None or call.call_id != call_id:
            return  # the engine already reported the end of this call
        log.warning("dial failed: %s", type(exc).__name__)
        self.message.emit(Message.of(msg.CALL_FAILED, detail=str(exc)))
        self._finish(call, sip_status=500, ended=self.now(), answered_at=None)

    def hangup(self) -> None:
        if self.active is not None and self.phone is not None:
            self.phone.hangup(self.active.engine_id)

    def answer(self) -> None:
        if self.phone is not None:
            self.phone.answer()

    def set_mode(self, mode: DialMode) -> None:
        self.power.set_mode(mode)
        self.message.emit(Message.of(msg.DIAL_MODE_POWER if mode is DialMode.POWER else msg.DIAL_MODE_PREVIEW))

    def record_question(self, text: str, section: str, lead_id: str | None) -> None:
        payload = {"text": text}
        if section:
            payload["script_section"] = section
        self.store.record_event(EventType.UNSCRIPTED_QUESTION, lead_id, payload)
        self.message.emit(Message.of(msg.QUESTION_RECORDED))

    # -- phone events ----------------------------------------------------------------
    def on_incoming(self, call: Any) -> None:
        engine_id = str(getattr(call, "call_id", ""))
        lead_id = getattr(call, "lead_id", None)
        phone_id: int | None = None
        if lead_id is None:
            found = self._lead_of_caller(call)
            if found is not None:
                lead_id, phone_id = found
        masked = getattr(call, "remote_masked", "")
        if lead_id:
            # Remembered so the answered call is recorded against the lead (its call history).
            self._inbound_leads[engine_id] = (lead_id, phone_id)
            self.lead_focused.emit(lead_id)
        self.incoming.emit((engine_id, masked, lead_id))

    def _lead_of_caller(self, call: Any) -> tuple[str, int | None] | None:
        """The lead whose number is calling. The number is used for this lookup only: it is
        never logged or shown (the UI gets the masked form)."""
        raw = getattr(call, "number_e164", None) or getattr(call, "caller_number", "")
        if not raw:
            return None
        try:
            number = normalise(raw)
        except PhoneError:
            return None  # an extension or a malformed caller id: no card to pop
        try:
            found = self.store.lead_for_number(number)
        except Exception:
            log.warning("looking up the caller failed", exc_info=False)
            return None
        return (found[0], found[1]) if found else None

    def on_call_state(self, info: Any) -> None:
        if getattr(info, "monitor_role", ""):
            return  # a TL's monitoring leg is not a call of the agent's loop
        engine_id = str(getattr(info, "call_id", ""))
        state = _state_name(info)
        call = self._by_engine.get(engine_id)
        direction = str(getattr(getattr(info, "direction", ""), "value", getattr(info, "direction", "")))
        if call is None and direction == CallDirection.OUT and self.active is not None and self.active.engine_id is None:
            # The engine's first report can arrive before its dial() Future resolves.
            self._bind_engine(self.active.call_id, engine_id)
            call = self._by_engine.get(engine_id)
        if call is None:
            if direction == CallDirection.IN and state in ("answered", "connecting"):
                call = self._adopt_inbound(info)
            else:
                if state == "ended":
                    self._inbound_leads.pop(engine_id, None)  # rang, never answered
                return
        if state == "ringing" and call.ringing_at is None:
            call = self._update(call, ringing_at=_ts(getattr(info, "ringing_at", None)) or self.now())
        elif state == "answered" and call.answered_at is None:
            call = self._update(call, answered_at=_ts(getattr(info, "answered_at", None)) or self.now())
            self.call_answered.emit(call)
        elif state == "ended":
            self._by_engine.pop(engine_id, None)
            ended = _ts(getattr(info, "ended_at", None)) or self.now()
            answered_at = call.answered_at or _ts(getattr(info, "answered_at", None))
            self._finish(call, int(getattr(info, "sip_code", 0) or 0) or None, ended, answered_at)

    def _adopt_inbound(self, info: Any) -> ActiveCall:
        engine_id = str(info.call_id)
        lead_id = getattr(info, "lead_id", None)
        phone_id: int | None = None
        known = self._inbound_leads.pop(engine_id, None)
        if lead_id is None and known is not None:
            lead_id, phone_id = known
        now = self.now()
        call = ActiveCall(engine_id, engine_id, lead_id, phone_id, CallDirection.IN, getattr(info, "remote_masked", ""),
                          now)
        self.store.record_call_started(CallStart(engine_id, lead_id, phone_id, CallDirection.IN, now), None)
        self._by_engine[engine_id] = call
        self.active = call
        if self.agent.state in (AgentState.READY, AgentState.PAUSED):
            self.agent.call_started()
        return call

    def _update(self, call: ActiveCall, **changes) -> ActiveCall:
        new = replace(call, **changes)
        if new.engine_id:
            self._by_engine[new.engine_id] = new
        if self.active is not None and self.active.call_id == call.call_id:
            self.active = new
        return new

    def _finish(self, call: ActiveCall, sip_status: int | None, ended: dt.datetime,
                answered_at: dt.datetime | None) -> None:
        talk = int((ended - answered_at).total_seconds()) if answered_at else 0
        outcome = CallOutcome(call.call_id, call.lead_id, call.phone_id, call.direction,
                              answered=answered_at is not None, sip_status=sip_status, talk_seconds=max(0, talk),
                              ended_at=ended)
        self.active = None
        # The wrap-up panel first (the agent's next action): everything else waits one
        # turn of the event loop. The draft (written in begin()) already holds the outcome,
        # and restore() writes the call record from it if the app dies in between.
        if self.agent.state is AgentState.ON_CALL:
            self.agent.call_ended()
        self.wrapup.begin(outcome)
        self.call_finished.emit(outcome)
        self._pending_after = lambda: self._after_call(call, sip_status, ended, answered_at, talk)
        # With a window, the bookkeeping waits for the panel's first frame (``ui_settled``);
        # the fallback timer bounds the wait. Without one it runs on the next loop turn.
        QTimer.singleShot(self.after_call_wait_ms if self.wait_for_ui else 0, self.ui_settled)

    def ui_settled(self) -> None:
        """The wrap-up panel is on screen: write the call record and refresh the KPIs now."""
        pending, self._pending_after = self._pending_after, None
        if pending is not None:
            pending()

    def _after_call(self, call: ActiveCall, sip_status: int | None, ended: dt.datetime,
                    answered_at: dt.datetime | None, talk: int) -> None:
        recording = self.recording_file(call.engine_id)
        self.store.record_call_ended(call.call_id, ringing_at=call.ringing_at, answered_at=answered_at,
                                     ended_at=ended, sip_status=sip_status, talk_seconds=talk,
                                     recording_path=str(recording) if recording else None)
        self.refresh_kpis()
        self.refresh_preview()  # found while the agent writes the wrap-up

    # -- wrap-up and state -----------------------------------------------------------
    def _on_saved(self, saved: SavedDisposition) -> None:
        self.ui_settled()  # never leave the call record behind the disposition
        if self.agent.state is AgentState.WRAP_UP:
            self.agent.wrapup_saved()
        if saved.dnc_added:
            self.message.emit(Message.of(msg.WRAPUP_SAVED_DNC))
        elif saved.callback_at:
            self.message.emit(Message.of(msg.WRAPUP_SAVED_CALLBACK, when=saved.callback_at))  # UTC; shown local
        else:
            self.message.emit(Message.of(msg.WRAPUP_SAVED))
        if self.agent.state is AgentState.READY:
            if not self.power.after_wrapup():
                self.refresh_preview()
        QTimer.singleShot(0, self.refresh_kpis)

    def _on_agent_changed(self, status: AgentStatus) -> None:
        if status.state is not AgentState.READY and self.power.counting:
            self.power.cancel()
        # Presence is informational: queued after the current action (dial, panel) is done.
        payload = status.presence_payload()
        QTimer.singleShot(0, lambda: self._record_presence(payload))

    def _record_presence(self, payload: dict) -> None:
        try:
            self.store.record_event(EventType.AGENT_STATE_CHANGED, None, payload)
        except Exception:
            log.exception("could not queue the agent state event")

    def restore(self) -> None:
        """At start-up: an unsaved wrap-up comes back before anything can dial."""
        draft = self.wrapup.restore()
        if draft is not None and draft.call_id and not self.store.call_is_ended(draft.call_id):
            # The app died between hang-up and writing the call record: the draft has the facts.
            answered = draft.started_at - dt.timedelta(seconds=draft.talk_seconds) if draft.answered else None
            self.store.record_call_ended(draft.call_id, ringing_at=None, answered_at=answered,
                                         ended_at=draft.started_at, sip_status=draft.sip_status,
                                         talk_seconds=draft.talk_seconds)
        if draft is not None:
            self.agent.resume_wrapup()
            if draft.lead_id:
                self.lead_focused.emit(draft.lead_id)
            self.message.emit(Message.of(msg.WRAPUP_RESTORED))
