"""Fixtures for the scale-out tests: one private PostgreSQL cluster for the directory,
two server instances + nginx on it (tests/scaleout/topology.py), started once."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Cheap argon2 for the users tests create (as tests/server/conftest.py); before server.security loads.
os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")

from tests.scaleout.topology import Topology, floor_topology
from tests.server.live import PgCluster, ServiceError, start_postgres


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    try:
        cluster = start_postgres()
    except ServiceError as exc:
        pytest.fail(f"PostgreSQL is required for the scale-out tests: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def topo(pg_cluster: PgCluster) -> Topology:
    """Two instances + nginx on a fresh demo database, shared by the directory's tests (each
    makes its own team with tests.server.helpers.make_team; the failover test uses demo TSRs)."""
    tmp = Path(tempfile.mkdtemp(prefix="seatmate-scaleout-"))
    try:
        with floor_topology(tmp, instances=2, db_url=pg_cluster.create_database()) as t:
            yield t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def floor(topo: Topology) -> Topology:
    """The module's topology with every instance up (a test before may have killed one)."""
    for i, alive in enumerate(topo.alive()):
        if not alive:
            topo.restart(i)
    return topo
