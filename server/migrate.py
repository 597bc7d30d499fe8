"""Bring a server database to the current schema (Alembic ``upgrade head``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from server.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# pg_advisory_xact_lock key ("seatmate" in ASCII): every `serve`/`migrate` of every instance
# takes it around the upgrade, so instances started together migrate one after the other;
# the later ones find the schema current. Released with the transaction (also if we die).
MIGRATION_LOCK = int.from_bytes(b"seatmate", "big")  # fits a bigint


def upgrade(url: str) -> None:
    engine = make_engine(url)  # also creates the SQLite file with 0600 perms
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # PostgreSQL's DDL is transactional: the whole upgrade commits (or not) with the lock.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
