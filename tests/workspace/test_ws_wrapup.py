"""Wrap-up flow on a real SQLite cache: suggestions, rules, durability, DNC, corrections, drafts."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

from sqlalchemy import select

from app.workspace.agent_state import AgentStateMachine
from app.workspace.store import CallStart
from app.workspace.wrapup import DraftStore, WrapupService
from cache import models as m
from core.agent_state import AgentState
from core.compliance import ComplianceGate
from core.wrapup import CallOutcome

UTC = dt.timezone.utc


def first_lead(store) -> tuple[str, int]:
    with store.handle.session() as s:
        lead = s.scalars(select(m.Lead).order_by(m.Lead.external_id)).first()
        return lead.id, lead.phones[0].id


def make_service(store, tmp_path, clock=None):
    return WrapupService(DraftStore(tmp_path / "wrapup-draft.json"), store.save_disposition,
                         store.codes_for_lead, clock=clock)


def place_call(store, lead_id, phone_id, answered: bool, sip: int, talk: int) -> CallOutcome:
    call_id = str(uuid.uuid4())
    now = dt.datetime.now(UTC)
    store.record_call_started(CallStart(call_id, lead_id, phone_id, "out", now - dt.timedelta(seconds=talk + 5)),
                              store.number_for_dial(phone_id))
    store.record_call_ended(call_id, ringing_at=now - dt.timedelta(seconds=talk + 4),
                            answered_at=(now - dt.timedelta(seconds=talk)) if answered else None,
                            ended_at=now, sip_status=sip, talk_seconds=talk if answered else 0)
    return CallOutcome(call_id, lead_id, phone_id, "out", answered, sip, talk if answered else 0)


def test_busy_result_suggests_busy_and_saves_with_events(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    draft = svc.begin(place_call(store, lead_id, phone_id, answered=False, sip=486, talk=0))
    assert draft.code == "BUSY" and svc.blocking
    saved = svc.save()
    assert saved is not None and saved.code == "BUSY" and not svc.blocking
    # Durable: read the SQLite file with a separate plain connection.
    con = sqlite3.connect(store.handle.path)
    assert con.execute("select code from dispositions where lead_id=?", (lead_id,)).fetchall() == [("BUSY",)]
    types = [t for t, in con.execute("select type from outbox_events where lead_id=? order by seq", (lead_id,))]
    assert types == ["call_attempted", "call_ended", "disposition_recorded"]
    con.close()


def test_callback_code_requires_a_future_time_then_schedules(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=95))
    assert svc.draft.code is None  # connected: the agent decides
    failures: list = []  # core.messages.Message
    svc.save_failed.connect(failures.append)
    assert svc.save() is None and failures[-1].code == "wrapup.choose_code"
    svc.set_code("CALLBACK")
    assert svc.save() is None and failures[-1].code == "wrapup.callback_required"
    assert failures[-1].params["label"] == "预约回访"  # the campaign's label, as it is
    svc.set_callback(dt.datetime.now(UTC) - dt.timedelta(minutes=5))
    assert svc.save() is None and failures[-1].code == "wrapup.callback_past"
    when = (dt.datetime.now(UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    svc.set_callback(when)
    saved = svc.save()
    assert saved is not None and saved.callback_at == when.replace(tzinfo=None)
    with store.handle.session() as s:
        lead = s.get(m.Lead, lead_id)
        assert lead.status == "callback" and lead.next_callback_at == when.replace(tzinfo=None)
        assert s.scalar(select(m.Callback.due_at).where(m.Callback.lead_id == lead_id)) == when.replace(tzinfo=None)
    types = [e["type"] for e in store.events_of(lead_id)]
    assert types[-2:] == ["disposition_recorded", "callback_scheduled"]


def test_note_required(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=40))
    svc.set_code("INSURED_ELSEWHERE")
    assert svc.problems()[0].code == "wrapup.note_required"
    svc.set_note("人保，明年3月到期")
    assert svc.save() is not None
    assert store.events_of(lead_id, ["disposition_recorded"])[0]["payload"]["note"] == "人保，明年3月到期"


def test_do_not_call_blocks_the_number_at_once_locally(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    number = store.number_for_dial(phone_id)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=8))
    svc.set_code("DNC")
    saved = svc.save()
    assert saved.dnc_added and saved.lead_closed
    with store.handle.session() as s:
        row = s.get(m.DoNotCall, number)
        assert row.source == "local" and row.expires_at - row.added_at >= dt.timedelta(days=180)
        assert s.get(m.Lead, lead_id).status == "closed"
    assert store.events_of(lead_id, ["dnc_requested"])[0]["payload"]["number_e164"] == number
    # The very next dial to that number (any lead, manual too) is refused, offline, before any sync.
    gate = ComplianceGate(clock=lambda: dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    rules = store.compliance_rules(store.campaign_of(lead_id))
    result = gate.check(rules, store.dial_facts(None, number, dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC)))
    assert not result.allowed and result.message.code == "gate.dnc_local"
    # KPI: a connected call refused within 30 s.
    from core import kpi
    snap = kpi.compute(store.call_facts(dt.datetime.now(UTC) - dt.timedelta(hours=1)))
    assert snap.calls_made == 1 and snap.connected == 1 and snap.quick_refusals == 1


def test_corrections_are_new_rows_that_supersede(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=60))
    svc.set_code("REFUSED")
    first = svc.save()
    svc.correct(lead_id, first.disposition_id)
    svc.set_code("SALE")
    second = svc.save()
    rows = store.dispositions_of(lead_id)
    assert rows == [(first.disposition_id, "REFUSED", None), (second.disposition_id, "SALE", first.disposition_id)]
    assert store.events_of(lead_id, ["disposition_recorded"])[-1]["payload"]["supersedes"] == first.disposition_id


def test_draft_survives_a_restart(store, tmp_path, qapp) -> None:
    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=60))
    svc.set_code("INSURED_ELSEWHERE")
    svc.set_note("太平洋")
    again = make_service(store, tmp_path)
    draft = again.restore()
    assert draft is not None and draft.code == "INSURED_ELSEWHERE" and draft.note == "太平洋" and again.blocking
    assert again.save() is not None
    assert make_service(store, tmp_path).restore() is None
    # Saving the same draft twice (crash after commit, before the draft was cleared) adds nothing.
    assert len(store.dispositions_of(lead_id)) == 1


def test_damaged_draft_is_kept_aside(tmp_path, qapp) -> None:
    path = tmp_path / "wrapup-draft.json"
    path.write_text("{not json", encoding="utf-8")
    assert DraftStore(path).load() is None
    assert (tmp_path / "wrapup-draft.damaged").exists()


def test_agent_state_machine_and_pending_pause(qapp) -> None:
    sm = AgentStateMachine()
    seen = []
    sm.changed.connect(lambda st: seen.append(st.state))
    sm.go_ready()
    sm.call_started()
    sm.pause("用餐")  # remembered until the wrap-up is saved
    assert sm.state is AgentState.ON_CALL and sm.status.pending_pause == "用餐"
    sm.call_ended()
    sm.wrapup_saved()
    assert sm.state is AgentState.PAUSED and sm.status.label == "小休（用餐）"
    assert sm.status.presence_payload() == {"state": "paused", "reason": "用餐"}
    sm.resume()
    assert seen[-1] is AgentState.READY and sm.can_dial()


def test_callback_reminder_fires_once_when_due_and_counts_overdue(store, tmp_path, qapp) -> None:
    from app.workspace.callbacks import CallbackMonitor

    lead_id, phone_id = first_lead(store)
    svc = make_service(store, tmp_path)
    svc.begin(place_call(store, lead_id, phone_id, answered=True, sip=200, talk=30))
    svc.set_code("CALLBACK")
    due = dt.datetime.now(UTC) + dt.timedelta(minutes=30)
    svc.set_callback(due)
    assert svc.save() is not None
    now = [dt.datetime.now(UTC)]
    monitor = CallbackMonitor(store.due_callbacks, clock=lambda: now[0])
    reminders, counts = [], []
    monitor.reminder.connect(reminders.append)
    monitor.counts_changed.connect(lambda d, o: counts.append((d, o)))
    monitor.check()
    assert reminders == [] and counts[-1] == (0, 0)
    now[0] = due + dt.timedelta(minutes=1)
    monitor.check()
    monitor.check()
    assert [r.lead_id for r in reminders] == [lead_id] and counts[-1] == (1, 0)
    now[0] = due + dt.timedelta(hours=1)
    monitor.check()
    assert len(reminders) == 1 and counts[-1] == (0, 1)
