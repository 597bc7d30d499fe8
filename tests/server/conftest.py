"""Fixtures for the server tests: every test runs against the REAL server over
HTTP on loopback, once on embedded SQLite and once on a private PostgreSQL
cluster (started here; the test fails if PostgreSQL cannot start)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Cheap argon2 for the users tests create (the server verifies with each hash's own
# parameters); production keeps argon2-cffi's defaults. Set before server.security loads.
os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")

from tests.server.live import LiveServer, PgCluster, ServiceError, start_postgres, start_server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = start_postgres()
    except ServiceError as exc:
        pytest.fail(f"PostgreSQL is required for the server tests: {exc}")
    yield cluster
    cluster.stop()


def _db_url(backend: str, request, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'server.sqlite3'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def live_server(backend, request) -> LiveServer:
    """One demo-loaded server per backend for the whole session. Tests that
    change shared state create their own team/users/leads (see helpers.py)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"seatmate-srv-{backend}-"))
    try:
        srv = start_server(_db_url(backend, request, tmp), tmp / "data")
    except ServiceError as exc:
        pytest.fail(str(exc))
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def srv(live_server: LiveServer) -> LiveServer:
    if live_server.proc.poll() is not None:
        pytest.fail(f"server died: {live_server.log_tail()}")
    return live_server
