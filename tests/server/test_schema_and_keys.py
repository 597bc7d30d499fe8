"""Alembic migrations build exactly the models' schema; keys are generated once and kept private."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from server import keys, migrate
from server.db import make_engine, make_sessionmakers
from server.models import Base, ServerSecret


def _fresh_db(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'm.sqlite3'}"
    return request.getfixturevalue("pg_cluster").create_database()


def test_migrations_match_models(backend, request, tmp_path):
    url = _fresh_db(backend, request, tmp_path)
    migrate.upgrade(url)
    migrate.upgrade(url)  # idempotent
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff
    finally:
        engine.dispose()
    if backend == "sqlite":
        assert ((tmp_path / "m.sqlite3").stat().st_mode & 0o777) == 0o600


def test_signing_key_generated_once_and_stable(backend, request, tmp_path):
    url = _fresh_db(backend, request, tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    writer, _ = make_sessionmakers(engine)
    try:
        with writer() as s:
            k1 = keys.load_or_create(s)
        with writer() as s:
            k2 = keys.load_or_create(s)
            names = set(s.execute(select(ServerSecret.name)).scalars())
    finally:
        engine.dispose()
    assert k1.grant_public_b64 == k2.grant_public_b64 and k1.token_key == k2.token_key
    assert names == {keys.GRANT_KEY, keys.TOKEN_KEY}


def test_server_keeps_its_key_across_restarts(srv):
    with srv.client() as c:
        before = c.get("/api/v1/sync/pull", headers=srv.headers("lina"), params={"limit": 1}).json()
    from tests.server.live import start_server

    again = start_server(srv.db_url, srv.data_dir / "second", demo=False)
    try:
        with again.client() as c:
            r = c.post("/api/v1/auth/login", json={"username": "lina", "password": "demo-2026"})
            after = c.get("/api/v1/sync/pull", params={"limit": 1},
                          headers={"Authorization": "Bearer " + r.json()["access_token"]}).json()
            # An access token from the first instance is valid on the second (same DB, same key).
            assert c.get("/api/v1/auth/me", headers=srv.headers("lina")).status_code == 200
    finally:
        again.stop()
    assert before["monitor_public_key"] == after["monitor_public_key"]
