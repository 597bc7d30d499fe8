"""A cache made by the first release survives the upgrade to head with every row intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from cache.db import CacheError, _make_engine, current_revision, migrate, open_cache
from cache.repository import Repository

# One row in every table of revision 0001.
ROWS_0001 = [
    "INSERT INTO campaigns VALUES ('c1', '车险续保', '{\"targets\": {\"calls_per_day\": 40}}', '2026-01-01 08:00:00')",
    "INSERT INTO leads (id, campaign_id, external_id, name, name_pinyin, name_initials, gender, city, plate, vehicle,"
    " policy_expiry, last_premium, source, priority, notes, status, assigned_to, next_callback_at, last_attempt_at,"
    " last_disposition, created_at, updated_at) VALUES ('l1', 'c1', 'E1', '张三', 'zhangsan', 'zs', '男', '宜昌',"
    " '鄂E12345', '大众 朗逸', '2026-12-01', 3120, '历史脱保', 1, '老客户', 'callback', 'u1', '2026-11-26 10:00:00',"
    " '2026-11-25 09:00:00', 'CALLBACK', '2026-01-01 08:00:00', '2026-01-01 08:00:00')",
    "INSERT INTO lead_phones VALUES (1, 'l1', '+8613812345678', '5678', '手机', 0)",
    "INSERT INTO scripts VALUES ('s1', 'c1', '话术', '# 开场白', 2, '2026-01-01 08:00:00')",
    "INSERT INTO disposition_codes VALUES (1, 'c1', 'CALLBACK', '预约回访', 'connected', 1, 0, 0, 0, 0, '[]', 0)",
    "INSERT INTO call_records VALUES ('call1', 'l1', 1, 'out', '2026-11-25 09:00:00', NULL, '2026-11-25 09:00:05',"
    " '2026-11-25 09:03:05', 200, 180, NULL)",
    "INSERT INTO dispositions VALUES ('d1', 'call1', 'l1', 'CALLBACK', '明天再打', '2026-11-26 10:00:00', NULL,"
    " '2026-11-25 09:03:30')",
    "INSERT INTO callbacks VALUES ('cb1', 'l1', '2026-11-26 10:00:00', '明天再打', NULL)",
    "INSERT INTO dnc_entries VALUES ('+8613900000000', '客户要求', '2026-11-25 09:00:00', NULL, 'server')",
    "INSERT INTO targets VALUES (1, 'default', 30, 50, 10)",
    "INSERT INTO outbox_events VALUES ('e1', 1, 'disposition_recorded', 'l1', '{\"code\": \"CALLBACK\"}',"
    " '2026-11-25 09:03:30', 'pending', NULL, 0, NULL, NULL)",
    "INSERT INTO outbox_events VALUES ('e2', 2, 'call_ended', 'l1', '{}', '2026-11-25 09:03:05', 'accepted', NULL,"
    " 1, '2026-11-25 09:04:00', '2026-11-25 09:04:00')",
    "INSERT INTO sync_state VALUES ('pull_cursor', 'abc')",
]
TABLES = ["campaigns", "leads", "lead_phones", "scripts", "disposition_codes", "call_records", "dispositions",
          "callbacks", "dnc_entries", "targets", "outbox_events", "sync_state"]


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}
    finally:
        conn.close()


def test_upgrade_from_first_migration_keeps_every_row(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    engine = _make_engine(path)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.connect() as conn, conn.begin():
        for sql in ROWS_0001:
            conn.exec_driver_sql(sql)
    engine.dispose()
    before = _dump(path)
    assert all(before[t] for t in TABLES)

    handle = open_cache(path)  # upgrades to head on open
    try:
        assert current_revision(handle.engine) == "0002"
        assert _dump(path) == before
        repo = Repository(handle)
        detail = repo.lead_detail("l1")
        assert detail.name == "张三" and detail.phones[0].masked == "138****5678"
        assert detail.history[0].disposition_label == "预约回访" and detail.history[0].note == "明天再打"
        assert repo.pending_event_count() == 1
        assert repo.search_lead_ids("zs") == ["l1"]
        # What 0002 added works on the upgraded file.
        repo.add_note("l1", "客户要求下午联系")
        assert repo.lead_detail("l1").agent_notes[0].text == "客户要求下午联系"
        with handle.session() as s:
            assert s.execute(text("SELECT count(*) FROM sqlite_master WHERE type='trigger'")).scalar() == 6
    finally:
        handle.close()


def test_a_cache_from_a_newer_app_is_refused_not_damaged(data_dir: Path) -> None:
    path = data_dir / "cache.sqlite3"
    open_cache(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="newer version"):
        open_cache(path)
    assert path.exists()
    assert not list(data_dir.glob("*.corrupt-*"))
