"""cache/db.py: SQLite's page caches stay small, also after a writer raised its own for a big transaction.

cache.pull_apply raises ``cache_size`` to 64 MB on its connection while it applies a pulled page;
that connection then goes back to the pool. Measured with a 100,000-lead first pull: 58.6 MB of
page cache stayed held by the pooled connection after the pull, 1.3 MB once the pool set it back.
"""

from __future__ import annotations

import ctypes
import sys

import pytest
from sqlalchemy import text

from cache.db import CACHE_KIB, CacheHandle

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads libsqlite3's counters")


def _sqlite_memory_mb() -> float:
    import _sqlite3

    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used() / 1e6


def test_a_big_write_gives_its_page_cache_back(handle: CacheHandle) -> None:
    with handle.write(durable=False) as s:  # as cache.pull_apply applies a page
        s.connection().exec_driver_sql("PRAGMA cache_size = -65536")
        s.execute(text("CREATE TABLE bulk (id INTEGER PRIMARY KEY, body TEXT)"))
        s.execute(text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
                       "INSERT INTO bulk SELECT i, printf('%0500d', i) FROM n"))
        s.execute(text("CREATE INDEX bulk_body ON bulk (body)"))
        held = _sqlite_memory_mb()
    after = _sqlite_memory_mb()
    assert held > 12  # the 30,000 rows' pages were in that connection's cache
    assert after < 4, (held, after)  # given back when the connection went back to the pool
    with handle.session() as s:  # and every connection the app gets starts small
        assert s.execute(text("PRAGMA cache_size")).scalar() == -CACHE_KIB
    with handle.session() as s:  # the data is all there
        assert s.execute(text("SELECT count(*) FROM bulk")).scalar() == 30000
