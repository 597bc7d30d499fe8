"""cache.sync_store on a real cache file (no server needed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from cache import models as m
from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core.wire import Change, PushResult


def _lead(lid: str, name: str = "张三", status: str = "new", phones=("+8613800001234",), **kw) -> Change:
    data = {"id": lid, "campaign_id": "c1", "external_id": f"x-{lid}", "name": name, "gender": "男",
            "city": "武汉", "plate": "鄂A12345", "vehicle": "", "policy_expiry": "2026-12-20",
            "last_premium": 3200, "source": "renewal", "priority": 2, "notes": "",
            "phones": [{"number": p, "label": "手机"} for p in phones], "status": status,
            "assigned_to": "u1", "next_callback_at": None, "last_attempt_at": None,
            "last_disposition": None, "updated_at": "2026-11-25T08:00:00Z"}
    data.update(kw)
    return Change("lead", lid, "upsert", data)


def _base_page() -> list[Change]:
    return [
        Change("campaign", "c1", "upsert", {"id": "c1", "name": "车险续保", "rules": {"compliance": {}}}),
        Change("script", "s1", "upsert", {"id": "s1", "campaign_id": "c1", "title": "话术", "body_markdown": "# 开场",
                                          "version": 2}),
        Change("disposition_code", "c1:SALE", "upsert", {"campaign_id": "c1", "code": "SALE", "label": "成交",
                                                         "group": "connected", "is_conversion": True, "sip": []}),
        Change("disposition_code", "c1:CALLBACK", "upsert", {"campaign_id": "c1", "code": "CALLBACK", "label": "预约回访",
                                                             "group": "connected", "requires_callback": True}),
        Change("dnc", "+8613900000000", "upsert", {"number": "+8613900000000", "reason": "客户要求",
                                                   "expires_at": "2027-05-25T00:00:00Z"}),
        Change("target", "default", "upsert", {"scope": "default", "calls_per_day": 40, "talk_minutes_per_day": 60,
                                               "conversions_per_month": 12}),
        Change("setting", "sync_interval_s", "upsert", {"key": "sync_interval_s", "value": 30}),
        _lead("L1"), _lead("L2", "曾国藩", phones=("+8613800005678", "+862788881234")),
    ]


def test_page_applied_with_cursor_and_tombstones(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    summary = store.apply_page(_base_page(), "cur-1", monitor_public_key="KEY")
    assert summary.upserted["lead"] == 2 and summary.lead_ids == {"L1", "L2"}
    assert store.cursor() == "cur-1"
    assert store.settings() == {"sync_interval_s": 30}
    with handle.session() as s:
        l2 = s.get(m.Lead, "L2")
        assert l2.name_initials.startswith("zgf") and [p.tail4 for p in l2.phones] == ["5678", "1234"]
        assert (l2.policy_expiry, l2.last_premium, l2.updated_at) == (
            dt.date(2026, 12, 20), 3200, dt.datetime(2026, 11, 25, 8, 0))
        assert s.scalar(select(m.DispositionCode.requires_callback).where(m.DispositionCode.code == "CALLBACK"))
        assert s.get(m.DoNotCall, "+8613900000000").source == "server"
        assert s.scalar(select(m.Target.calls_per_day)) == 40
    # Second page: L1 changes its phones, L2 is reassigned away (tombstone), a code is retired.
    store.apply_page([_lead("L1", phones=("+8613811112222",)), Change("lead", "L2", "delete"),
                      Change("disposition_code", "c1:SALE", "delete")], "cur-2")
    with handle.session() as s:
        assert s.get(m.Lead, "L2") is None
        assert [p.number_e164 for p in s.get(m.Lead, "L1").phones] == ["+8613811112222"]
        assert s.scalar(select(func.count()).select_from(m.LeadPhone)) == 1
        assert s.scalar(select(func.count()).select_from(m.DispositionCode)) == 1
    assert store.cursor() == "cur-2"


def test_failed_page_leaves_cache_and_cursor_untouched(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    store.apply_page(_base_page(), "cur-1")
    bad = [_lead("L3"), Change("lead", "L4", "upsert", {"campaign_id": "c1", "name": "x", "priority": "high"})]
    try:
        store.apply_page(bad, "cur-2")
    except ValueError:
        pass
    else:
        raise AssertionError("a malformed page must fail")
    assert store.cursor() == "cur-1"
    with handle.session() as s:
        assert s.get(m.Lead, "L3") is None  # nothing of the failed page was kept


def _disposition(handle, lead_id: str, code: str, callback_at: dt.datetime | None = None) -> str:
    with handle.write() as s:
        eid = Repository.append_event(s, "disposition_recorded", lead_id,
                                      {"code": code, "callback_at": callback_at and callback_at.isoformat() + "Z"})
        lead = s.get(m.Lead, lead_id)
        lead.status, lead.last_disposition = ("callback" if callback_at else "done"), code
        s.add(m.Disposition(id=eid, lead_id=lead_id, code=code, callback_at=callback_at))
    return eid


def test_outbox_settle_and_pending_overlay(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    store.apply_page(_base_page(), "cur-1")
    cb = dt.datetime(2026, 11, 26, 10, 0)
    e1 = _disposition(handle, "L1", "CALLBACK", cb)
    e2 = _disposition(handle, "L2", "SALE")
    e3 = _disposition(handle, "L2", "NOPE")
    batch = store.pending_batch(10)
    assert [e["id"] for e in batch] == [e1, e2, e3] and batch[0]["occurred_at"].endswith("Z")
    # The server sends L1 back unchanged (it has not seen e1 yet): the agent still sees the callback.
    store.apply_page([_lead("L1")], "cur-2")
    with handle.session() as s:
        l1 = s.get(m.Lead, "L1")
        assert (l1.status, l1.next_callback_at, l1.last_disposition) == ("callback", cb, "CALLBACK")
    out = store.settle([e1, e2, e3], [PushResult(e1, "accepted"), PushResult(e2, "duplicate"),
                                      PushResult(e3, "rejected", "unknown disposition code")])
    assert (out.acknowledged, out.rejected, out.unanswered) == (2, 1, 0)
    assert store.pending_count() == 0
    [rej] = store.rejected_events()
    assert (rej.id, rej.reason) == (e3, "unknown disposition code")
    with handle.session() as s:
        l2 = s.get(m.Lead, "L2")
        # The rejected NOPE no longer shows; the accepted SALE does.
        assert (l2.status, l2.last_disposition) == ("done", "SALE")
    # A rejected event never blocks: new events are still sent.
    e4 = _disposition(handle, "L2", "SALE")
    assert [e["id"] for e in store.pending_batch(10)] == [e4]
    # Unanswered events stay pending.
    out = store.settle([e4], [])
    assert out.unanswered == 1 and store.pending_count() == 1


def test_another_user_cannot_take_over_unsent_events_and_gets_a_clean_cache(tmp_path):
    import pytest

    from cache.identity import IdentityConflict

    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    store.save_identity({"id": "u1", "username": "lina"}, "http://srv")
    store.apply_page(_base_page(), "cur-1")
    eid = _disposition(handle, "L1", "SALE")
    store.check_switch("lina", "http://srv")  # the same user: fine
    with pytest.raises(IdentityConflict, match="lina"):
        store.check_switch("wangfang", "http://srv")
    store.settle([eid], [PushResult(eid, "accepted")])
    store.check_switch("wangfang", "http://srv")
    store.save_identity({"id": "u2", "username": "wangfang"}, "http://srv")
    assert store.cursor() is None
    with handle.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Lead)) == 0  # lina's customers are gone
        assert s.scalar(select(func.count()).select_from(m.Campaign)) == 0
