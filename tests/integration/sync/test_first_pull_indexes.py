"""A first pull into an empty cache builds the lead indexes once, after its last page
(cache.pull_apply, defer_indexes): they are all back when it ends, when it is interrupted
(the next round), and when the app was killed half-way (open_cache). ~2 s."""

from __future__ import annotations

from sqlalchemy import select

from cache import models as m
from cache.db import open_cache
from cache.pull_apply import DEFERRED_INDEXES
from cache.sync_store import SyncStore
from core.wire import Change
from tests.integration.sync.test_sync_store import _base_page, _lead

PAGE = 1200  # above the threshold that makes dropping the indexes worth it


def _indexes(handle) -> dict[str, str]:
    with handle.session() as s:
        rows = s.connection().exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('leads', 'lead_phones')").all()
    return dict(rows)


def _page(start: int) -> list[Change]:
    return [_lead(f"L{i:05d}", phones=(f"+86138{i:08d}",)) for i in range(start, start + PAGE)]


def _plan(handle):
    with handle.session() as s:
        return " ".join(r[-1] for r in s.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT lead_id FROM lead_phones WHERE number_e164 = '+8613800000007'").all())


def test_first_pull_defers_indexes_to_its_last_page(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    before = _indexes(handle)
    assert len([n for n, sql in before.items() if sql]) >= 9  # the secondary ones (not pk/unique)
    store.apply_page(_base_page() + _page(0), "1", defer_indexes=True)
    dropped = _indexes(handle)
    assert all(sql is None for sql in dropped.values())  # only the automatic (pk, unique) ones stay
    assert store.get_state(DEFERRED_INDEXES) is not None and store.cursor() == "1"
    store.apply_page(_page(PAGE), "2", defer_indexes=True)
    store.apply_page(_page(2 * PAGE), "3")  # the last page
    assert _indexes(handle) == before and store.get_state(DEFERRED_INDEXES) is None
    assert "ix_lead_phones_number_e164" in _plan(handle)  # the search by number uses its index again
    with handle.session() as s:
        assert s.scalar(select(m.LeadPhone.lead_id).where(m.LeadPhone.number_e164 == "+8613800002500")) == "L02500"
        assert len(s.scalars(select(m.Lead.id)).all()) == 2 + 3 * PAGE


def test_a_cache_that_has_leads_keeps_its_indexes(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    before = _indexes(handle)
    store.apply_page(_base_page(), "1")
    store.apply_page(_page(0), "2", defer_indexes=True)  # not empty any more: nothing dropped
    assert _indexes(handle) == before and store.get_state(DEFERRED_INDEXES) is None


def test_killed_half_way_the_indexes_come_back_on_open(tmp_path):
    path = tmp_path / "cache.sqlite3"
    handle = open_cache(path)
    before = _indexes(handle)
    SyncStore(handle).apply_page(_base_page() + _page(0), "1", defer_indexes=True)
    handle.close()  # as if the app was killed before the next page: the commit is on disk
    handle = open_cache(path)
    assert _indexes(handle) == before and SyncStore(handle).get_state(DEFERRED_INDEXES) is None
    assert SyncStore(handle).cursor() == "1"  # the page is kept; the pull goes on from there


def test_an_interrupted_pull_is_finished_by_the_next_round(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    before = _indexes(handle)
    store.apply_page(_base_page() + _page(0), "1", defer_indexes=True)
    assert store.restore_indexes() is True  # what SyncEngine.pull_all does before a later pull
    assert _indexes(handle) == before and store.restore_indexes() is False


def test_only_pulled_pages_commit_without_fsync(tmp_path):
    """synchronous=NORMAL for a pulled page's transaction only: the outbox's stay FULL (2)."""
    handle = open_cache(tmp_path / "cache.sqlite3")

    def level(s) -> int:
        return s.connection().exec_driver_sql("PRAGMA synchronous").scalar()

    for _ in range(3):  # the pool hands the same connection back: the level must not leak
        with handle.write(durable=False) as s:
            assert level(s) == 1
        with handle.write() as s:
            assert level(s) == 2
