"""Alembic environment for the local cache.

Run by ``cache.db`` with an open connection in ``config.attributes``;
the ``alembic`` command line also works (``-x db=path/to/cache.sqlite3``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cache.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    db = context.get_x_argument(as_dictionary=True).get("db")
    if not db:
        raise SystemExit("pass -x db=path/to/cache.sqlite3")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported for the cache")
run_migrations_online()
