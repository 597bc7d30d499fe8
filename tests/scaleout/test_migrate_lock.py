"""Migrations are serialised: several `serve` processes started at once on a fresh
PostgreSQL database all come up, and the schema is the current one (server/migrate.py
takes a PostgreSQL advisory lock around the Alembic upgrade)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import psycopg
from alembic.script import ScriptDirectory

from server.migrate import alembic_config
from tests.processes import wait_until
from tests.scaleout.topology import Instance
from tests.server.live import ROOT, PgCluster, free_port

SIP_KEY = "0" * 43 + "="  # a valid Fernet key (32 zero bytes): the instances need one to start


def test_serves_and_migrates_started_together_on_a_fresh_database_all_succeed(pg_cluster: PgCluster, tmp_path):
    """The race is made certain: this test holds an uncommitted ``CREATE TABLE alembic_version``
    while the three processes (two `serve`, one `migrate`, as the systemd unit's ExecStartPre)
    start, so each stops at its first step of the upgrade (on the migration lock, or on that
    table) until all three wait; then it rolls back.
    Without the lock all of them create the schema at once and all but one die on
    "relation alembic_version already exists"; a `serve` that lost would exit before it listened."""
    db_url = pg_cluster.create_database()  # empty: no tables, no alembic_version
    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    dbname = dsn.rsplit("/", 1)[1]
    servers = [Instance(db_url, tmp_path / f"i{i}", port=free_port(), recordings_dir=tmp_path / "rec",
                        sip_key=SIP_KEY) for i in range(2)]
    migrates: list[subprocess.Popen[str]] = []
    gate = psycopg.connect(dsn)  # a transaction, held open
    try:
        gate.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL)")
        t0 = time.monotonic()
        migrates = [subprocess.Popen([sys.executable, "-m", "server.cli", "migrate", "--db", db_url,
                                      "--data-dir", str(tmp_path / f"m{i}")], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True) for i in range(1)]
        for srv in servers:
            srv._launch()
        with psycopg.connect(dsn, autocommit=True) as watch:
            def all_waiting() -> bool:
                (n,) = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                     "AND wait_event_type = 'Lock'", (dbname,)).fetchone()
                return n >= 3

            wait_until(all_waiting, 90, interval=0.1, description="3 upgrades waiting at their first step")
        gate.rollback()  # go: all three at once
        outputs = [(p.wait(120), p.stdout.read()) for p in migrates]  # type: ignore[union-attr]
        assert [code for code, _ in outputs] == [0], "\n".join(out[-1500:] for _, out in outputs)
        for srv in servers:
            srv.ready(60)
        print(f"\n1 migrate + 2 serve at once on an empty database: all done/healthy after "
              f"{time.monotonic() - t0:.1f} s")
        head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
        with psycopg.connect(dsn) as conn:
            versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
            columns = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'")}
        assert versions == [head], versions
        assert "authz_changed_at" in columns  # the newest migration ran
        for srv in servers:  # and each instance works on that schema (a login reads users)
            r = httpx.post(srv.url + "/api/v1/auth/login",
                           json={"username": "nobody", "password": "wrong-password", "device_id": "t"})
            assert r.status_code == 401, r.text
    finally:
        gate.close()
        for p in migrates:
            if p.poll() is None:
                p.kill()
        for srv in servers:
            srv.stop()
