"""The search index's per-character bits stay exact while leads change (no stale hits)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from app.demo.generated import generate_leads
from cache.db import CacheHandle
from cache.repository import Repository


def _brute(index, q: str) -> set[int]:
    return {i for i, k in enumerate(index._keys) if q in k}


def test_char_bits_follow_changed_added_and_deleted_leads(handle: CacheHandle) -> None:
    generate_leads(handle, 300)
    repo = Repository(handle)
    repo.warm_up()
    index = repo._index
    assert set("az09") <= set(index._bits)  # letters and digits come with the build
    queries = ["z", "zh", "zhang", "w", "1", "12", "张", "鄂", "鄂e", "x"]
    for q in queries:
        index._last_query = None
        assert set(np.flatnonzero(index._text_hits(q)).tolist()) == _brute(index, q), q
    some = index._ids[:3]
    generate_leads(handle, 320)  # 20 more leads: appended positions
    with handle.engine.begin() as conn:  # any writer: the change journal tells the index
        conn.execute(text("UPDATE leads SET name = '赵小明', name_pinyin = 'zhaoxiaoming', "
                          "name_initials = 'zxm', plate = 'qqq', external_id = 'qqq' WHERE id = :i"),
                     {"i": some[0]})
        conn.execute(text("DELETE FROM lead_phones WHERE lead_id = :i"), {"i": some[1]})
        conn.execute(text("DELETE FROM leads WHERE id = :i"), {"i": some[1]})
    found = repo.search_lead_ids("zhaoxiaoming")
    assert found == [some[0]]
    assert some[1] not in repo.search_lead_ids("")
    for q in [*queries, "zxm", "q", "qqq"]:
        index._last_query = None
        assert set(np.flatnonzero(index._text_hits(q)).tolist()) == _brute(index, q), q
    # Typing on (each text narrowing the previous one) gives the same as a fresh search.
    index._last_query = None
    for q in ("z", "zh", "zha", "zhao"):
        assert set(np.flatnonzero(index._text_hits(q)).tolist()) == _brute(index, q), q
