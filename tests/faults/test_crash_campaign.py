"""The crash campaign, short: 100 SIGKILLs inside write transactions (≈ 1 min), and its checks can fail."""

from __future__ import annotations

import json
import sqlite3

from cache import crashpoint
from cache.db import open_cache
from tests.faults.crash_campaign import CrashResult, check_cache, check_server, run_campaign


def test_hundred_kills_inside_transactions_lose_nothing_and_double_nothing(tmp_path):
    result = run_campaign(100, tmp_path, seed=5)
    print(result.table())
    assert result.kills_confirmed == 100, result.table()
    assert len([s for s, n in result.by_site.items() if n]) >= 6, result.table()  # the sites are all tried
    assert result.confirmed > 0 and result.server_checks > 0, result.table()
    assert result.ok, result.table()
    assert result.events_on_server == result.events_in_cache, result.table()


def test_the_cache_checks_see_a_lost_a_doubled_and_a_half_written_disposition(tmp_path):
    open_cache(tmp_path / "cache.sqlite3").close()
    conn = sqlite3.connect(tmp_path / "cache.sqlite3")
    with conn:
        conn.execute("INSERT INTO dispositions (id, lead_id, code, note, recorded_at) "
                     "VALUES ('d1', 'l1', 'SALE', 'x cc-00000000000000aa', '2026-01-01')")
        conn.execute("INSERT INTO dispositions (id, lead_id, code, note, recorded_at) "
                     "VALUES ('d2', 'l1', 'SALE', 'x cc-00000000000000aa', '2026-01-01')")
        conn.execute("INSERT INTO outbox_events (id, seq, type, lead_id, payload, status, attempts, occurred_at) "
                     "VALUES ('d1', 1, 'disposition_recorded', 'l1', ?, 'pending', 0, '2026-01-01')",
                     (json.dumps({"note": "x cc-00000000000000aa"}),))
    conn.close()
    res = CrashResult()
    check_cache(tmp_path / "cache.sqlite3", tmp_path / "draft.json",
                {"d1": "cc-00000000000000aa", "d9": "cc-00000000000000bb"}, res, "t")
    assert res.confirmed_missing == 1  # d9
    assert res.confirmed_twice == 1  # d1's marker is on two rows
    assert res.half_written == 1  # d2 has no event
    assert res.integrity_failures == 0


def test_the_crash_hook_is_inert_unless_armed(monkeypatch, tmp_path):
    monkeypatch.delenv(crashpoint.ENV_AT, raising=False)
    monkeypatch.setattr(crashpoint, "_plan_pid", -1)
    assert crashpoint.armed_site() is None
    conn = sqlite3.connect(":memory:")
    crashpoint.attach(conn)  # no trace callback: nothing to count, nothing to kill
    conn.execute("CREATE TABLE t (x)")
    with open(tmp_path / "f", "wb") as fh:
        crashpoint.write_bytes(fh, b"abc")
    assert (tmp_path / "f").read_bytes() == b"abc"


def test_the_server_comparison_sees_a_lost_a_doubled_and_an_unknown_event(tmp_path):
    open_cache(tmp_path / "cache.sqlite3").close()
    conn = sqlite3.connect(tmp_path / "cache.sqlite3")
    with conn:
        for seq, (eid, typ, status, payload) in enumerate([
                ("e1", "note_added", "accepted", {"text": "cc-note aaa"}),
                ("e2", "note_added", "accepted", {"text": "cc-note bbb"}),
                ("e3", "call_attempted", "accepted", {}),
                ("e4", "call_attempted", "pending", {})], start=1):
            conn.execute("INSERT INTO outbox_events (id, seq, type, lead_id, payload, status, attempts, occurred_at) "
                         "VALUES (?, ?, ?, 'l1', ?, ?, 0, '2026-01-01')", (eid, seq, typ, json.dumps(payload), status))
    conn.close()
    srv = sqlite3.connect(tmp_path / "server.sqlite3")
    with srv:
        srv.execute("CREATE TABLE users (id TEXT, username TEXT)")
        srv.execute("CREATE TABLE events (id TEXT, user_id TEXT, type TEXT, payload TEXT)")
        srv.execute("CREATE TABLE leads (id TEXT, notes TEXT)")
        srv.execute("INSERT INTO users VALUES ('u1', 'lina')")
        for eid in ("e1", "e2", "e9"):  # e3 lost, e9 unknown to the cache
            srv.execute("INSERT INTO events VALUES (?, 'u1', 'x', '{}')", (eid,))
        srv.execute("INSERT INTO leads VALUES ('l1', '[1] cc-note aaa\n[2] cc-note bbb\n[3] cc-note bbb')")
    srv.close()
    res = CrashResult()
    check_server(tmp_path / "cache.sqlite3", tmp_path / "server.sqlite3", res, "t", final=True)
    assert (res.lost, res.applied_twice, res.phantom, res.pending_left) == (1, 1, 1, 1)
