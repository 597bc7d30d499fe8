"""The lead index after a few leads change (a call, a disposition, a sync page): the
orders it keeps in place and the search caches it keeps must give exactly what a
fresh index over the same cache gives."""

from __future__ import annotations

import random

from app.demo.generated import generate_leads
from cache.db import open_cache
from cache.repository import Repository
from cache.search_index import LeadIndex

SORTS = ("priority", "expiry", "callback", "recent")


def test_orders_and_search_caches_follow_changed_leads(tmp_path) -> None:
    handle = open_cache(tmp_path / "cache.sqlite3")
    try:
        generate_leads(handle, 3000)
        repo = Repository(handle)
        index = repo._index
        for sort in SORTS:  # the orders and the per-character hits exist before the changes
            index.search("", "todo", sort=sort)
        index.search("w", "todo")
        index.search("wa", "todo")
        rng = random.Random(7)
        with handle.engine.begin() as conn:
            db = conn.connection.driver_connection
            ids = [r[0] for r in db.execute("SELECT id FROM leads")]
            for lead_id in rng.sample(ids, 40):  # sort keys move; search keys stay
                db.execute("UPDATE leads SET priority = ?, policy_expiry = ?, next_callback_at = ?, "
                           "last_attempt_at = ? WHERE id = ?",
                           (rng.randint(1, 5), f"2027-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                            rng.choice((None, "2026-12-01 08:00:00.000000")),
                            rng.choice((None, "2026-11-20 09:30:00.000000")), lead_id))
            renamed = rng.choice(ids)  # one search key changes too
            db.execute("UPDATE leads SET name = '万安', name_pinyin = 'wanan', name_initials = 'wa' "
                       "WHERE id = ?", (renamed,))
            for i in range(3):  # new leads land at the end (placed into the kept orders), one goes
                db.execute("INSERT INTO leads (id, campaign_id, external_id, name, name_pinyin, name_initials,"
                           " gender, city, plate, vehicle, source, priority, notes, status, next_callback_at,"
                           " created_at, updated_at) SELECT ?, campaign_id, ?, '王新', 'wangxin', 'wx', '', '',"
                           " '', '', '', ?, '', 'new', ?, created_at, updated_at FROM leads LIMIT 1",
                           (f"zz-new-{i}", f"NEW-{i}", i + 1, None if i else "2026-12-02 08:00:00.000000"))
            db.execute("DELETE FROM leads WHERE id = ?", (rng.choice([i for i in ids if i != renamed]),))
        fresh = LeadIndex(handle.engine)
        fresh.build()
        for sort in SORTS:
            for tab in ("todo", "callbacks", None):
                assert index.search("", tab, sort=sort) == fresh.search("", tab, sort=sort), (sort, tab)
        # Typing "w", "wa", "wan" again uses the kept caches only if they are still right.
        for q in ("w", "wa", "wan", "wanan", "wangx", "wx"):
            assert index.search(q, "todo") == fresh.search(q, "todo"), q
        assert renamed in index.search("wanan", None)
        c = index._cols  # priority order: priority, then expiry, then table position
        expected = sorted(range(index._n), key=lambda p: (c["prio"][p], c["expiry"][p], p))
        assert index._orders["priority"].tolist() == expected
    finally:
        handle.close()
