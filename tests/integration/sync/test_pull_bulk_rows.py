"""A pulled page's leads written in multi-row statements (cache.pull_apply._insert_many) and
looked up with one JSON-array statement (_ids_in): the cache ends the same as row by row —
later versions win, phones are replaced not doubled, a re-created lead replaces the old row,
every lead is journalled — and the writer hands the GIL over per 50 rows, not per row. ~2 s."""

from __future__ import annotations

from sqlalchemy import select

from cache import models as m
from cache.db import open_cache
from cache.pull_apply import _ROWS_PER_STATEMENT
from cache.sync_store import SyncStore
from core.pinyin import name_keys
from tests.integration.sync.test_sync_store import _base_page, _lead

N = 1234  # not a multiple of 50, above the bulk-journal threshold (1,000)


def _count_statements(handle, prefix: str):
    """Count executions of statements starting with ``prefix`` on every pooled connection."""
    seen: list[str] = []
    from sqlalchemy import event

    def on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith(prefix) else None)

    event.listen(handle.engine, "connect", on_connect)
    handle.engine.dispose()  # new connections get the trace callback
    return seen


def test_a_page_in_multi_row_statements_stores_what_row_by_row_would(tmp_path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = SyncStore(handle)
    inserts = _count_statements(handle, "INSERT INTO leads ")
    first = [_lead(f"L{i:05d}", name="张伟" if i % 2 else "曾国华", phones=(f"+86138{i:08d}",)) for i in range(N)]
    store.apply_page(_base_page() + first, "1", defer_indexes=True)
    # 1,234 leads (+2 in the base page, applied together): 25 statements of 50 rows and one of the rest,
    # not one per row.
    assert 0 < len(inserts) <= (N + 2) // _ROWS_PER_STATEMENT + 1

    # The next page sends 120 leads again (new name, two new phones), one lead twice (the later
    # version wins), and one lead re-created on the server under a new id (same external id).
    again = [_lead(f"L{i:05d}", name="李娜", phones=(f"+86139{i:08d}", f"+86137{i:08d}")) for i in range(0, 1200, 10)]
    twice = [_lead("L00005", name="王芳", phones=("+8613600000001",)),
             _lead("L00005", name="赵敏", phones=("+8613600000002",))]
    recreated = [_lead("NEW-7", name="孙强", external_id="x-L00007", phones=("+8613500000007",))]
    store.apply_page(again + twice + recreated, "2")
    with handle.write() as s:  # the first pull's sparser WAL checkpoints ended with its last page
        assert s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000

    with handle.session() as s:
        leads = {r.id: r for r in s.execute(select(m.Lead.id, m.Lead.name, m.Lead.name_pinyin, m.Lead.name_initials,
                                                    m.Lead.external_id, m.Lead.policy_expiry, m.Lead.last_premium))}
        phones: dict[str, list[str]] = {}
        for lead_id, number in s.execute(select(m.LeadPhone.lead_id, m.LeadPhone.number_e164)
                                         .order_by(m.LeadPhone.lead_id, m.LeadPhone.position)):
            phones.setdefault(lead_id, []).append(number)
        journalled = set(s.scalars(select(m.LeadChange.lead_id)))
    assert len(leads) == N + 2  # L1, L2 + N leads; L00007 replaced by NEW-7
    assert "L00007" not in leads and leads["NEW-7"].external_id == "x-L00007" and phones["NEW-7"] == ["+8613500000007"]
    assert "L00007" not in phones
    assert leads["L00010"].name == "李娜" and phones["L00010"] == ["+8613900000010", "+8613700000010"]
    assert (leads["L00010"].name_pinyin, leads["L00010"].name_initials) == name_keys("李娜")
    # The lead row: the later version. Its phones: both versions' (row by row did the same; the
    # server sends a lead once per page).
    assert leads["L00005"].name == "赵敏" and phones["L00005"][-1] == "+8613600000002"
    assert leads["L00011"].name == "张伟" and phones["L00011"] == ["+8613800000011"]
    assert (leads["L00012"].name_pinyin, leads["L00012"].name_initials) == name_keys("曾国华")
    assert leads["L00012"].policy_expiry.isoformat() == "2026-12-20" and leads["L00012"].last_premium == 3200
    # N + L1's one + L2's two; 120 leads now have two; L00005 two; L00007's went with it, NEW-7 has one.
    assert sum(len(v) for v in phones.values()) == N + 3 + 120 + 1
    assert {f"L{i:05d}" for i in range(N)} - {"L00007"} <= journalled and "NEW-7" in journalled
    assert store.cursor() == "2"
