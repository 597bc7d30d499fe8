"""The pull cursor's guarantee on real PostgreSQL: a pull never skips a change.

A cursor is a sequence number: the client asks for "everything after N". If a change could
become visible with a number below one a client has already passed — because its transaction
committed later than a change numbered after it — that client would never see it. The server
prevents that (server/changes.py); this test tries to break it with two concurrent pushes:

- agent A pushes a note; a test-only trigger holds A's transaction for 1.5 s *after* A's change
  rows got their sequence numbers, before A commits (``pg_sleep`` inside the statement that
  writes them, so it holds whatever the server holds at that point);
- agent B pushes a note while A is held: B's change is numbered after A's;
- an admin pulls from its cursor every 50 ms the whole time (an admin sees every lead change).

Whatever the order the two commits land in, the admin's cursor walk must end up with both
notes. If the numbers could commit out of order (B's visible while A's lower one is still
pending), a pull in between would move the cursor past A's number and A's note would never
arrive — this test fails then (checked by hand against a commit that numbers the changes in a
separate transaction).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.server.helpers import event, hdr, make_team, pull_all
from tests.server.live import ServiceError, start_server

HOLD_S = 1.5
ADMIN = ("admin", "admin-demo-2026")


def _dsn(db_url: str) -> str:
    return db_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def pg_server(pg_cluster):
    tmp = Path(tempfile.mkdtemp(prefix="seatmate-order-"))
    db_url = pg_cluster.create_database()
    try:
        srv = start_server(db_url, tmp / "data")
    except ServiceError as exc:
        pytest.fail(str(exc))
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def _hold_changes_of(dsn: str, lead_id: str) -> None:
    """Test-only: the statement that writes the admin's change row of ``lead_id`` sleeps."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"""CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
                         BEGIN PERFORM pg_sleep({HOLD_S}); RETURN NEW; END $$""")
        conn.execute("CREATE TRIGGER test_hold AFTER INSERT OR UPDATE ON sync_changes FOR EACH ROW "
                     f"WHEN (NEW.scope = '*' AND NEW.entity_id = '{lead_id}') EXECUTE FUNCTION test_hold()")


def _wait_until_held(dsn: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                               "AND datname = current_database()").fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
    raise AssertionError("push A never reached the held statement")


def test_a_pull_never_skips_a_change_that_commits_behind_a_later_number(pg_server):
    srv = pg_server
    dsn = _dsn(srv.db_url)
    team = make_team(srv, n_tsr=2, leads_each=1)
    (a, lead_a), (b, lead_b) = [(u, team.leads[u][0]) for u in team.tsrs]
    admin_h = srv.headers(*ADMIN)
    heads = {a: hdr(srv, a), b: hdr(srv, b)}
    with srv.client() as c:
        _, cursor = pull_all(c, admin_h)
    _hold_changes_of(dsn, lead_a)

    answers: dict[str, tuple[int, list, float]] = {}

    def push(user: str, lead_id: str) -> None:
        with srv.client() as c:
            r = c.post("/api/v1/sync/push", headers=heads[user],
                       json={"events": [event("note_added", lead_id, {"text": f"note of {user}"})]})
            answers[user] = (r.status_code, r.json().get("results", []), time.monotonic())

    t_a = threading.Thread(target=push, args=(a, lead_a))
    t_a.start()
    _wait_until_held(dsn)  # A's changes have their numbers; A has not committed
    t_b = threading.Thread(target=push, args=(b, lead_b))
    t_b.start()

    seen: dict[tuple[str, str], dict] = {}
    cursors = [int(cursor)]
    with srv.client() as c:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = not t_a.is_alive() and not t_b.is_alive()
            page, cursor = pull_all(c, admin_h, cursor)  # the same cursor walk as the app's
            seen.update(page)
            cursors.append(int(cursor))
            if done:  # one more pull after both pushes answered
                break
            time.sleep(0.05)
    t_a.join(5)
    t_b.join(5)

    for user in (a, b):
        status, results, _at = answers[user]
        assert status == 200 and [x["status"] for x in results] == ["accepted"], (user, answers[user])
    assert cursors == sorted(cursors), "the cursor went backwards"
    # Both notes reached the admin through the cursor walk alone.
    for user, lead_id in ((a, lead_a), (b, lead_b)):
        change = seen.get(("lead", lead_id))
        assert change is not None, f"the pull skipped {user}'s change (cursor walk {cursors})"
        assert f"note of {user}" in (change["data"]["notes"] or ""), change
    # And a fresh pull from the start agrees on both (nothing was lost server-side).
    with srv.client() as c:
        everything, _ = pull_all(c, admin_h)
    for lead_id in (lead_a, lead_b):
        assert everything[("lead", lead_id)]["data"]["notes"] == seen[("lead", lead_id)]["data"]["notes"]


def test_a_pull_reads_all_its_scopes_from_one_snapshot(pg_server):
    """An agent's pull reads "everyone's" changes and then its own, one statement each. A push
    that commits between the two statements — a DNC number for everyone (seq n) and the
    agent's lead (seq n+1) — must not show n+1 without n: the cursor would pass n for good.
    The route's read (server/api/sync.py read_page) on the live database; the push is committed
    from the database's statement hook, between the two statements."""
    from sqlalchemy import event as sa_event

    from core.contract import Entity
    from server import changes
    from server.api.sync import read_page
    from server.db import make_engine, make_sessionmakers
    from server.security import Principal

    srv = pg_server
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    uid, lead_id = team.user_ids[agent], team.leads[agent][0]
    me = Principal(user_id=uid, role="tsr", team_id=team.id, family_id="test", exp=2**31)
    number = "+8613900009999"

    read_engine, write_engine = make_engine(srv.db_url), make_engine(srv.db_url)
    _, reader = make_sessionmakers(read_engine)
    writer, _ = make_sessionmakers(write_engine)
    try:
        cursor, more = 0, True
        for _ in range(100):  # catch up first
            with reader() as s:
                _, cursor, more = read_page(s, me, cursor, 5000)
            if not more:
                break
        statements: list[str] = []

        @sa_event.listens_for(read_engine, "after_cursor_execute")
        def _between(_conn, _cur, statement, params, _ctx, _many) -> None:
            if "FROM sync_changes" in statement:
                statements.append(params["scope"])
                if len(statements) == 1:  # after "everyone's" scope, before the agent's own
                    with writer() as w:
                        changes.note(w, changes.ALL, Entity.DNC, number)
                        changes.note(w, changes.user_scope(uid), Entity.LEAD, lead_id)
                        changes.commit(w)

        seen: set[tuple[str, str]] = set()
        with reader() as s:  # what GET /sync/pull does
            out, cursor2, _ = read_page(s, me, cursor, 1000)
        seen |= {(c["entity"], c["id"]) for c in out}
        sa_event.remove(read_engine, "after_cursor_execute", _between)
        assert statements == [changes.ALL, changes.user_scope(uid)]  # the interleaving happened
        with reader() as s:  # the next pull from where the first one left off
            out, _, _ = read_page(s, me, cursor2, 1000)
        seen |= {(c["entity"], c["id"]) for c in out}
        assert ("lead", lead_id) in seen
        assert ("dnc", number) in seen, f"the DNC change (seq below the lead's) was skipped: {cursor} -> {cursor2}"
    finally:
        read_engine.dispose()
        write_engine.dispose()


def test_a_commit_refused_by_postgresql_is_retried_and_applied_once(pg_server):
    """The numbering statement and the COMMIT go as one pipelined round trip; a serialization
    failure there (sqlstate 40001, raised once by a test-only trigger) must reach the write
    path's retry like any other: the push is answered "accepted", its note is stored once."""
    srv = pg_server
    dsn = _dsn(srv.db_url)
    team = make_team(srv, n_tsr=1, leads_each=1)
    agent = team.tsrs[0]
    lead_id = team.leads[agent][0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE test_fail_once")  # not rolled back with the failed transaction
        conn.execute("""CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN IF nextval('test_fail_once') = 1 THEN
                          RAISE EXCEPTION 'test: refused once' USING ERRCODE = '40001'; END IF;
                        RETURN NEW; END $$""")
        conn.execute("CREATE TRIGGER test_fail AFTER INSERT OR UPDATE ON sync_changes FOR EACH ROW "
                     f"WHEN (NEW.scope = '*' AND NEW.entity_id = '{lead_id}') EXECUTE FUNCTION test_fail()")
    ev = event("note_added", lead_id, {"text": "retried once"})
    with srv.client() as c:
        r = c.post("/api/v1/sync/push", headers=hdr(srv, agent), json={"events": [ev]})
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == ["accepted"]
        page, _ = pull_all(c, hdr(srv, agent))
    with psycopg.connect(dsn, autocommit=True) as conn:
        tries = conn.execute("SELECT last_value FROM test_fail_once").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM events WHERE id = %s", (ev["id"],)).fetchone()[0]
        notes = conn.execute("SELECT notes FROM leads WHERE id = %s", (lead_id,)).fetchone()[0]
    assert tries == 2, "the failure was not hit, or not retried"
    assert stored == 1 and notes.count("retried once") == 1, notes
    assert "retried once" in page[("lead", lead_id)]["data"]["notes"]
