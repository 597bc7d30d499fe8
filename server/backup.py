"""``seatmate-server backup DIR`` / ``restore DIR``: the database plus the recordings, with a manifest.

PostgreSQL: ``pg_dump -Fc`` (a consistent snapshot taken while the server runs) and, on
restore, ``pg_restore`` into one ``psql --single-transaction`` that first empties the
schema and last stamps a new *database generation*: either all of it happens or none.
SQLite: the database file through SQLite's online backup API (also consistent while the
server runs). The recordings directory is copied file by file.

Why a generation: after a restore the server has forgotten every event pushed after the
backup, while the agents' caches hold them as acknowledged, and its change sequence
starts again below the cursors the clients keep. The pull answer carries the generation
and the backup's time (``generation``, ``restored_from``); a client that sees a new
generation pulls from the start and pushes again the events acknowledged since the
backup (push stores each event once by its id, so the ones the server kept answer
``duplicate``). See docs/sync-api.md ("Database generation").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.checksum import file_sha256
from server.models import Counter

#: counters rows (absent = a database never restored: generation 0, no backup time)
GENERATION = "db_generation"
RESTORED_FROM = "db_restored_from_ms"  # epoch ms: when the restored backup was taken
MANIFEST = "manifest.json"
FORMAT = 1
PG_BIN_ENV = "SEATMATE_PG_BIN"  # a directory with pg_dump/pg_restore/psql of the server's version


class BackupError(Exception):
    """Shown to the operator as it is (no traceback)."""


@dataclass(frozen=True)
class Generation:
    value: int
    restored_from: dt.datetime | None  # naive UTC


def read_generation(session: Session) -> Generation:
    rows = dict(session.execute(select(Counter.name, Counter.value)
                                .where(Counter.name.in_((GENERATION, RESTORED_FROM)))).all())
    since = rows.get(RESTORED_FROM)
    return Generation(int(rows.get(GENERATION) or 0),
                      None if since is None else dt.datetime.fromtimestamp(since / 1000, dt.timezone.utc)
                      .replace(tzinfo=None))


def _tool(name: str) -> str:
    folder = os.environ.get(PG_BIN_ENV)
    path = str(Path(folder) / name) if folder else shutil.which(name)
    if not path or not Path(path).exists():
        raise BackupError(f"{name} not found (install postgresql-client, or set {PG_BIN_ENV})")
    return path


def _libpq(db_url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore/psql, the password in the environment
    (never on a command line other users can read)."""
    u = make_url(db_url)
    args = ["--dbname", u.database or "", "--username", u.username or "postgres", "--host", u.host or "127.0.0.1"]
    if u.port:
        args += ["--port", str(u.port)]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _copy_tree(src: Path, dst: Path) -> tuple[int, int]:
    """Copy every file (a file being written is copied as it is now); returns (files, bytes)."""
    files = size = 0
    if not src.is_dir():
        return 0, 0
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        files += 1
        size += target.stat().st_size
    return files, size


def backup(db_url: str, recordings_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Write the database and the recordings into ``out_dir`` (new or empty); returns the manifest."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Taken *before* the snapshot: every event acknowledged before this instant is in the dump.
    taken = time.time()
    backend = make_url(db_url).get_backend_name()
    if backend == "postgresql":
        db_file = "database.dump"
        args, env = _libpq(db_url)
        r = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                            "--file", str(out_dir / db_file), *args],
                           capture_output=True, text=True, env=env, timeout=6 * 3600, check=False)
        if r.returncode != 0:
            raise BackupError(f"pg_dump failed: {r.stderr.strip()[-2000:]}")
    elif backend == "sqlite":
        db_file = "database.sqlite3"
        src = sqlite3.connect(make_url(db_url).database or "")
        dst = sqlite3.connect(out_dir / db_file)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        raise BackupError(f"unsupported database {backend!r}")
    files, size = _copy_tree(recordings_dir, out_dir / "recordings")
    manifest = {
        "format": FORMAT, "database": backend, "db_file": db_file, "db_sha256": file_sha256(out_dir / db_file),
        "taken_at": dt.datetime.fromtimestamp(taken, dt.timezone.utc).isoformat(timespec="milliseconds"),
        "taken_at_ms": int(taken * 1000), "recordings": {"dir": "recordings", "files": files, "bytes": size},
    }
    # The manifest last: a folder without one is an unfinished backup and restore refuses it.
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _read_manifest(in_dir: Path) -> dict[str, Any]:
    path = in_dir / MANIFEST
    if not path.exists():
        raise BackupError(f"{path} missing: not a (finished) backup")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    db = in_dir / manifest["db_file"]
    if not db.exists() or file_sha256(db) != manifest["db_sha256"]:
        raise BackupError(f"{db} is missing or damaged (checksum differs from the manifest)")
    return manifest


def _stamp_sql(generation: int, taken_ms: int, table: str) -> str:
    return "".join(
        f"INSERT INTO {table} (name, value) VALUES ('{name}', {value}) "
        f"ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;\n"
        for name, value in ((GENERATION, generation), (RESTORED_FROM, taken_ms)))


def restore(db_url: str, recordings_dir: Path, in_dir: Path) -> dict[str, Any]:
    """Replace the database with the backup's and put its recordings back; returns the
    manifest plus the new generation. Stop every server instance first."""
    manifest = _read_manifest(in_dir)
    backend = make_url(db_url).get_backend_name()
    if backend != manifest["database"]:
        raise BackupError(f"the backup is of a {manifest['database']} database, the target is {backend}")
    # Milliseconds since the epoch: different from every earlier generation of this database.
    generation = int(time.time() * 1000)
    taken_ms = int(manifest["taken_at_ms"])
    if backend == "postgresql":
        args, env = _libpq(db_url)
        env["PGOPTIONS"] = "-c client_min_messages=warning"  # not a NOTICE per dropped table
        with tempfile.TemporaryDirectory(prefix="seatmate-restore-") as tmp:
            prelude = Path(tmp) / "0-empty.sql"
            # Empty the schema inside the same transaction as the restore: a failed restore
            # leaves the database as it was, not half-dropped.
            prelude.write_text("DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n", encoding="utf-8")
            script = Path(tmp) / "1-restore.sql"
            r = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file", str(script),
                                str(in_dir / manifest["db_file"])],
                               capture_output=True, text=True, env=env, timeout=6 * 3600, check=False)
            if r.returncode != 0:
                raise BackupError(f"pg_restore failed: {r.stderr.strip()[-2000:]}")
            # Schema-qualified: pg_restore's script empties search_path.
            (Path(tmp) / "2-stamp.sql").write_text(_stamp_sql(generation, taken_ms, "public.counters"),
                                                   encoding="utf-8")
            r = subprocess.run([_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
                                "-v", "ON_ERROR_STOP=1", *args,
                                "-f", str(prelude), "-f", str(script), "-f", str(Path(tmp) / "2-stamp.sql")],
                               capture_output=True, text=True, env=env, timeout=6 * 3600, check=False)
            if r.returncode != 0:
                raise BackupError(f"restore failed, the database is unchanged: {r.stderr.strip()[-2000:]}")
    else:
        target = Path(make_url(db_url).database or "")
        tmp_copy = target.with_name(target.name + ".restoring")
        src = sqlite3.connect(in_dir / manifest["db_file"])
        dst = sqlite3.connect(tmp_copy)
        try:
            src.backup(dst)
            dst.executescript("BEGIN;\n" + _stamp_sql(generation, taken_ms, "counters") + "COMMIT;\n")
        finally:
            dst.close()
            src.close()
        for suffix in ("-wal", "-shm"):  # the old database's journal must not be replayed onto the new one
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp_copy, target)
    # Recordings: the backup's files come back; files uploaded after the backup stay (the
    # restored database does not list them; the app uploads them again, see docs/server.md).
    files, _size = _copy_tree(in_dir / manifest["recordings"]["dir"], recordings_dir)
    return manifest | {"generation": generation, "recordings_restored": files}


__all__ = ["BackupError", "Generation", "backup", "read_generation", "restore"]
