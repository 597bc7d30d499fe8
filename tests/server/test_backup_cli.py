"""``seatmate-server backup`` / ``restore`` as an operator runs them (embedded SQLite here;
PostgreSQL with real clients: tests/integration/sync/test_backup_restore.py)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess

from sqlalchemy import select

from server import cli
from server.backup import GENERATION, RESTORED_FROM
from server.db import make_engine
from server.models import Counter, Team


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``seatmate-server ARGS`` in this process (the parser and commands an operator runs;
    a subprocess per command would spend seconds importing)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    r = subprocess.CompletedProcess(["seatmate-server", *args], code, out.getvalue(), err.getvalue())
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _teams_and_counters(db_url: str) -> tuple[set[str], dict[str, int]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            return set(c.scalars(select(Team.name))), dict(c.execute(select(Counter.name, Counter.value)).all())
    finally:
        engine.dispose()


def test_sqlite_backup_restore_round_trip_and_refusals(tmp_path):
    data = tmp_path / "data"
    db_url = f"sqlite:///{data / 'server.sqlite3'}"
    common = ["--db", db_url, "--data-dir", str(data)]
    _cli("demo", *common)
    (data / "recordings" / "ab").mkdir(parents=True)
    (data / "recordings" / "ab" / "call.wav").write_bytes(b"RIFF-before")
    _cli("backup", str(tmp_path / "b1"), *common)
    manifest = json.loads((tmp_path / "b1" / "manifest.json").read_text())
    assert manifest["database"] == "sqlite" and manifest["recordings"]["files"] == 1
    # A second backup into a folder that is not empty is refused (nothing overwritten).
    assert "not empty" in _cli("backup", str(tmp_path / "b1"), *common, check=False).stderr

    _cli("create-team", "after-the-backup", *common)
    (data / "recordings" / "ab" / "call.wav").write_bytes(b"damaged")
    teams, counters = _teams_and_counters(db_url)
    assert "after-the-backup" in teams and GENERATION not in counters

    refused = _cli("restore", str(tmp_path / "b1"), *common, check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    out = _cli("restore", str(tmp_path / "b1"), "--yes", *common).stdout
    assert "database generation" in out
    teams, counters = _teams_and_counters(db_url)
    assert "after-the-backup" not in teams and teams  # the backup's teams, not the later one
    assert counters[GENERATION] > 0 and counters[RESTORED_FROM] == manifest["taken_at_ms"]
    assert (data / "recordings" / "ab" / "call.wav").read_bytes() == b"RIFF-before"

    # A damaged dump is refused before anything is touched.
    dump = tmp_path / "b1" / manifest["db_file"]
    dump.write_bytes(dump.read_bytes()[:-10])
    bad = _cli("restore", str(tmp_path / "b1"), "--yes", *common, check=False)
    assert bad.returncode == 2 and "damaged" in bad.stderr
    assert _teams_and_counters(db_url)[1][GENERATION] == counters[GENERATION]
