"""The fault campaign, short, on both server backends: 40 faults (each run kills the server and
a client at least once), then the audit must find nothing — and must find every double apply
and loss planted in the server's database afterwards."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from server.db import make_engine
from server.models import Call, Disposition, Event, Lead
from tests.faults.audit import Audit
from tests.faults.campaign import Check, run_campaign


def _plant(db_url: str, user_id: str) -> bool:
    """What a broken idempotency path would leave: derived rows that are not keyed on the
    event id written again, an event stored again under a fresh UUID, and one row gone.
    True when the disposition written twice set a callback (then 预约回访 is off by one too)."""
    engine = make_engine(db_url)
    try:
        with sessionmaker(engine)() as s:
            mine = Disposition.user_id == user_id
            # One with a callback if there is one (nearly always: CALLBACK is 1 of the worker's 6 codes).
            twice = s.execute(select(Disposition).where(mine).order_by(Disposition.callback_at.is_(None),
                                                                      Disposition.id).limit(1)).scalar_one()
            s.add(Disposition(id=str(uuid.uuid4()), user_id=user_id, lead_id=twice.lead_id, call_id=twice.call_id,
                              code=twice.code, is_conversion=twice.is_conversion, callback_at=twice.callback_at,
                              occurred_at=twice.occurred_at))
            gone = s.execute(select(Disposition).where(mine, Disposition.callback_at.is_(None),
                                                       Disposition.id != twice.id)
                             .order_by(Disposition.id).limit(1)).scalar_one()
            used = {twice.call_id, gone.call_id}
            call = s.execute(select(Call).where(Call.user_id == user_id, Call.id.not_in(used))
                             .order_by(Call.id).limit(1)).scalar_one()
            used.add(call.id)
            s.add(Call(id=str(uuid.uuid4()), user_id=user_id, lead_id=call.lead_id, dialed_at=call.dialed_at,
                       answered_at=call.answered_at, ended_at=call.ended_at, sip_status=call.sip_status,
                       talk_seconds=call.talk_seconds))
            s.delete(gone)
            lead = s.execute(select(Lead).where(Lead.assigned_to == user_id, Lead.notes.contains("fc-note"))
                             .order_by(Lead.id).limit(1)).scalar_one()
            lead.notes += "\n" + lead.notes.split("\n")[-1]
            attempt = next(e for e in s.execute(select(Event).where(
                Event.user_id == user_id, Event.type == "call_attempted").order_by(Event.id)).scalars()
                if e.payload.get("call_id") not in used)
            s.add(Event(id=str(uuid.uuid4()), user_id=user_id, lead_id=attempt.lead_id, type=attempt.type,
                        occurred_at=attempt.occurred_at, status=attempt.status, payload=dict(attempt.payload)))
            s.commit()
            return twice.callback_at is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_short_fault_campaign_loses_nothing_and_applies_nothing_twice(tmp_path, backend):
    planted: list[tuple[bool, Audit]] = []

    def plant_and_audit_again(check: Check) -> None:
        with_callback = _plant(check.db_url, check.baseline.users["lina"])
        planted.append((with_callback, check.audit()))

    result = run_campaign(30, tmp_path, backend=backend, seed=5, rate=0.6, timeout=1.0, deadline_s=120,
                          must=("kill_server", "kill_client"), after=plant_and_audit_again)
    print(result.table())
    a = result.audit
    assert result.total_faults >= 30, result.table()
    assert result.server_kills >= 1 and result.client_kills >= 1, result.table()
    assert a.events_created > 0 and a.leads_replayed > 0, result.table()
    assert (a.lost, a.applied_twice, a.pending_left, a.rejected, a.phantom) == (0, 0, 0, 0, 0), result.table()
    assert (a.state_mismatches, a.kpi_mismatches) == (0, 0), result.table()
    assert result.crashes == 0 and result.ok, result.table()
    assert a.events_on_server == a.events_created, result.table()

    # The same audit on the planted database reports each planted fault, by its effect.
    ((with_callback, bad),) = planted
    report = "\n".join(bad.details)
    assert bad.applied_twice == 4, report
    assert dict(bad.twice_by_effect) == {"disposition row": 1, "call row": 1, "note line": 1,
                                         "event content": 1}, report
    assert bad.lost == 1 and dict(bad.lost_by_effect) == {"disposition row": 1}, report
    assert bad.phantom == 1, report  # the event stored again under a UUID no client made
    assert bad.state_mismatches >= 1, report
    for seen in ("notes:", "calls (attempts)", "call_attempted events", "KPI calls_made"):
        assert seen in report, report
    assert ("KPI callbacks_set" in report) == with_callback, report
    assert not bad.ok
