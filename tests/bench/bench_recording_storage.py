"""Where recordings live with several instances: ``.venv/bin/python -m tests.bench.bench_recording_storage``.

The server stores a recording as chunks at offsets (resumable upload: PATCH + Upload-Offset,
server/api/recordings.py). With several instances the bytes must be reachable from all of
them: a directory on shared storage (what we ship: ``--recordings-dir``) or PostgreSQL
(large objects, or bytea rows). Measured here on this machine, PostgreSQL 15 with fsync,
full_page_writes and synchronous_commit ON (the test clusters run with them off), one
32 MiB recording (≈ 35 min of 8 kHz 16-bit mono) in the client's 256 KiB chunks, one
transaction per chunk as an upload does:

- ``file``: write at the offset + fsync per chunk (the server's code path), local disk;
- ``lo``: ``lo_open``/``lo_lseek``/``lowrite`` per chunk;
- ``bytea``: one row per chunk (call id, offset, data);

each: write MB/s, read-back MB/s, and for PostgreSQL the WAL written per byte stored
(what every standby and every WAL archive receives too) and the database growth.
The local file is the reference ("peer") row; a network file system adds its own
latency, PostgreSQL's numbers already include its.

Merges its rows into bench-results/scaleout.json.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from tests.bench.results import RESULTS_DIR, merge_results
from tests.server import live

SIZE = 32 * 1024 * 1024
CHUNK = 256 * 1024  # sync/recordings.py's chunk
ROUNDS = 3


def _file(dirpath: Path, data: bytes) -> tuple[float, float]:
    path = dirpath / "rec.bin"
    t0 = time.perf_counter()
    for off in range(0, len(data), CHUNK):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.lseek(fd, off, os.SEEK_SET)
            os.write(fd, data[off:off + CHUNK])
            os.fsync(fd)
        finally:
            os.close(fd)
    w = time.perf_counter() - t0
    fd = os.open(path, os.O_RDONLY)
    try:  # read from the disk, not the page cache (PostgreSQL's read-back is not cold either: fair to it)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    t0 = time.perf_counter()
    assert path.read_bytes() == data
    r = time.perf_counter() - t0
    path.unlink()
    return w, r


def _wal(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()[0])


def _lo(conn: psycopg.Connection, data: bytes) -> tuple[float, float, int]:
    wal0 = _wal(conn)
    t0 = time.perf_counter()
    with conn.transaction():
        (oid,) = conn.execute("SELECT lo_create(0)").fetchone()
    for off in range(0, len(data), CHUNK):
        with conn.transaction():
            (fd,) = conn.execute("SELECT lo_open(%s, %s)", (oid, 0x20000 | 0x40000)).fetchone()
            conn.execute("SELECT lo_lseek64(%s, %s, 0)", (fd, off))
            conn.execute("SELECT lowrite(%s, %s)", (fd, data[off:off + CHUNK]))
    w = time.perf_counter() - t0
    wal = _wal(conn) - wal0
    t0 = time.perf_counter()
    with conn.transaction():
        (back,) = conn.execute("SELECT lo_get(%s)", (oid,)).fetchone()
    r = time.perf_counter() - t0
    assert bytes(back) == data
    with conn.transaction():
        conn.execute("SELECT lo_unlink(%s)", (oid,))
    return w, r, wal


def _bytea(conn: psycopg.Connection, data: bytes) -> tuple[float, float, int]:
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS rec_chunks (call_id text, off bigint, data bytea, "
                     "PRIMARY KEY (call_id, off))")
        conn.execute("ALTER TABLE rec_chunks ALTER COLUMN data SET STORAGE EXTERNAL")  # audio: no TOAST compression
    wal0 = _wal(conn)
    t0 = time.perf_counter()
    for off in range(0, len(data), CHUNK):
        with conn.transaction():
            conn.execute("INSERT INTO rec_chunks VALUES ('c', %s, %s)", (off, data[off:off + CHUNK]))
    w = time.perf_counter() - t0
    wal = _wal(conn) - wal0
    t0 = time.perf_counter()
    with conn.transaction():
        back = b"".join(bytes(r[0]) for r in conn.execute("SELECT data FROM rec_chunks WHERE call_id = 'c' "
                                                          "ORDER BY off"))
    r = time.perf_counter() - t0
    assert back == data
    with conn.transaction():
        conn.execute("DELETE FROM rec_chunks")
    return w, r, wal


class DurablePg(live.PgCluster):
    """The test cluster with its durability settings back on (they are command-line options
    there, which ALTER SYSTEM cannot override)."""

    def command(self) -> list[str]:
        return [a.replace("=off", "=on") if a.split("=")[0] in ("fsync", "synchronous_commit", "full_page_writes")
                else a for a in super().command()]


def start_durable_postgres() -> live.PgCluster:
    plain = live.PgCluster
    live.PgCluster = DurablePg  # start_postgres builds its cluster from this name
    try:
        return live.start_postgres(max_connections=20)
    finally:
        live.PgCluster = plain


def main() -> int:
    data = os.urandom(SIZE)  # recordings are compressed/noisy audio: random bytes do not compress either
    mb = SIZE / 1e6
    cluster = start_durable_postgres()
    rows: list[dict] = []
    try:
        dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for setting in ("fsync", "full_page_writes", "synchronous_commit"):
                assert conn.execute(f"SHOW {setting}").fetchone()[0] == "on", setting
        with psycopg.connect(dsn, autocommit=True) as conn, tempfile.TemporaryDirectory() as tmp:
            res: dict[str, list[tuple]] = {"file": [], "lo": [], "bytea": []}
            for _ in range(ROUNDS):
                res["file"].append((*_file(Path(tmp), data), 0))
                res["lo"].append(_lo(conn, data))
                res["bytea"].append(_bytea(conn, data))
        print(f"one {mb:.0f} MB recording in {CHUNK // 1024} KiB chunks, a transaction (or fsync) per chunk, "
              f"median of {ROUNDS}; load {os.getloadavg()[0]:.2f}")
        for kind, runs in res.items():
            w = statistics.median(x[0] for x in runs)
            r = statistics.median(x[1] for x in runs)
            wal = statistics.median(x[2] for x in runs)
            print(f"  {kind:6} write {mb / w:7.1f} MB/s   read {mb / r:7.1f} MB/s"
                  + (f"   WAL {wal / SIZE:.2f} bytes per byte stored" if kind != "file" else ""))
            peer = {"peer": "local file (reference)"} if kind == "file" else {}
            rows += [{"metric": f"recording_store_{kind}_write_mb_s", "value": round(mb / w, 1), "unit": "MB/s", **peer},
                     {"metric": f"recording_store_{kind}_read_mb_s", "value": round(mb / r, 1), "unit": "MB/s", **peer}]
            if kind != "file":
                rows.append({"metric": f"recording_store_{kind}_wal_per_byte", "value": round(wal / SIZE, 2),
                             "unit": "bytes"})
    finally:
        cluster.stop()
    rows.append({"metric": "recording_store_loadavg_1m", "value": round(os.getloadavg()[0], 2), "unit": "load"})
    merge_results(rows, RESULTS_DIR / "scaleout.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
