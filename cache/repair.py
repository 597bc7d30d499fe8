"""Check the cache file at start; move a damaged one aside and salvage its outbox.

Nothing here deletes a file: a damaged cache (with its -wal and -shm) is
renamed to ``cache.sqlite3.corrupt-<UTC timestamp>`` so support can still look
at it, and the events the agent recorded but had not synced yet are read back
from a temporary copy, row by row, skipping only the rows that cannot be read.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.contract import OutboxState
from core.errors import EnvironmentFault
from core.timeutil import utcnow

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
# Columns carried over from a damaged outbox (the full OutboxEvent row, minus seq).
OUTBOX_COLUMNS = (
    "id", "type", "lead_id", "payload", "occurred_at", "status", "reject_reason",
    "attempts", "last_attempt_at", "acknowledged_at",
)
_MAX_PROBES = 200_000  # rowid probing when the table cannot be scanned (bounded)
_MAX_MISSES = 2_000


class CacheLockedError(EnvironmentFault, RuntimeError):
    """Another process holds the cache; this is not damage, so nothing is moved."""

    code = "cache.locked"


@dataclass
class RepairReport:
    moved_to: Path | None = None
    reason: str = ""
    strays_moved: list[Path] = field(default_factory=list)
    salvaged_events: list[dict] = field(default_factory=list)
    salvage_failed_rows: int = 0

    @property
    def repaired(self) -> bool:
        return self.moved_to is not None


def _timestamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ")


def _free_name(base: Path) -> Path:
    """``base`` or ``base.1``, ``base.2``… so an earlier moved-aside file is never overwritten."""
    if not base.exists():
        return base
    for i in range(1, 1000):
        cand = base.with_name(f"{base.name}.{i}")
        if not cand.exists():
            return cand
    raise RuntimeError(f"too many moved-aside files next to {base}")


def diagnose(path: Path, timeout_s: float = 5.0) -> str | None:
    """Return why ``path`` is unusable, or None if it is a healthy (or absent/empty) SQLite file."""
    if not path.exists():
        return None
    if not path.is_file():
        return "not a regular file"
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    if not head:
        return None  # an empty file is a new, empty database for SQLite
    if not head.startswith(SQLITE_MAGIC):
        return "not an SQLite database"
    try:
        # Read-only: closing the last connection must not checkpoint the WAL into a file
        # we may be about to move aside as evidence.
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout_s)
    except sqlite3.Error as exc:
        return f"cannot open ({exc})"
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise CacheLockedError(str(exc)) from exc
        return f"damaged ({exc})"
    except sqlite3.DatabaseError as exc:
        return f"damaged ({exc})"
    finally:
        conn.close()
    result = [r[0] for r in rows]
    if result != ["ok"]:
        return "quick_check: " + "; ".join(str(r) for r in result[:3])
    return None


def move_aside(path: Path) -> Path:
    """Rename the database and its side files to ``<name>.corrupt-<ts>[-wal|-shm]``."""
    target = _free_name(path.with_name(f"{path.name}.corrupt-{_timestamp()}"))
    if path.exists():
        path.rename(target)
    for suffix in SIDE_SUFFIXES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def move_strays(path: Path) -> list[Path]:
    """A -wal/-shm with no database next to it belongs to some other file: SQLite would replay it."""
    moved = []
    if path.exists() and path.stat().st_size > 0:
        return moved
    for suffix in SIDE_SUFFIXES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            target = _free_name(side.with_name(f"{side.name}.stray-{_timestamp()}"))
            side.rename(target)
            moved.append(target)
    return moved


def salvage_outbox(moved: Path) -> tuple[list[dict], int]:
    """Read unsynced (pending or rejected) outbox rows from a damaged cache, row by row.

    Works on a temporary copy (database + WAL) so the moved-aside evidence is
    not modified by SQLite's recovery. Returns (events in original order, rows lost).
    """
    with tempfile.TemporaryDirectory(prefix="seatmate-salvage-") as tmp:
        copy = Path(tmp) / "old.sqlite3"
        try:
            shutil.copyfile(moved, copy)
        except OSError as exc:
            log.warning("cannot copy the damaged cache for salvage: %s", exc)
            return [], 0
        wal = moved.with_name(moved.name + "-wal")
        if wal.exists():
            try:
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            except OSError:
                pass
        try:
            conn = sqlite3.connect(str(copy), timeout=1.0)
        except sqlite3.Error as exc:
            log.warning("cannot open the damaged cache for salvage: %s", exc)
            return [], 0
        try:
            return _salvage_rows(conn)
        finally:
            conn.close()


def _salvage_rows(conn: sqlite3.Connection) -> tuple[list[dict], int]:
    rowids: list[int] = []
    scan_complete = False
    try:
        for (rid,) in conn.execute("SELECT rowid FROM outbox_events"):
            rowids.append(rid)
        scan_complete = True
    except sqlite3.DatabaseError as exc:
        log.info("outbox scan stopped (%s); probing row ids", exc)
    if not scan_complete:
        rowids = _probe_rowids(conn, set(rowids))
    cols = ", ".join(OUTBOX_COLUMNS)
    events: list[tuple[int, dict]] = []
    failed = 0
    for rid in rowids:
        try:
            row = conn.execute(f"SELECT seq, {cols} FROM outbox_events WHERE rowid = ?", (rid,)).fetchone()
        except sqlite3.DatabaseError:
            failed += 1
            continue
        if row is None:
            continue
        seq, values = row[0], dict(zip(OUTBOX_COLUMNS, row[1:], strict=True))
        if values["status"] == OutboxState.ACCEPTED or not values["id"] or not values["type"]:
            continue
        events.append((seq if isinstance(seq, int) else rid, values))
    events.sort(key=lambda e: e[0])
    return [e for _, e in events], failed


def _probe_rowids(conn: sqlite3.Connection, known: set[int]) -> list[int]:
    """Find rows one rowid at a time when a scan fails part-way (bounded)."""
    found = set(known)
    misses = 0
    for rid in range(1, _MAX_PROBES):
        try:
            hit = conn.execute("SELECT 1 FROM outbox_events WHERE rowid = ?", (rid,)).fetchone()
        except sqlite3.DatabaseError:
            hit = None
        if hit:
            found.add(rid)
            misses = 0
        else:
            misses += 1
            if misses > _MAX_MISSES and rid > max(found, default=0):
                break
    return sorted(found)


def notice_for(report: RepairReport, language: str = "zh_CN") -> str | None:
    """One sentence for the user, or None when nothing was repaired."""
    if not report.repaired:
        return None
    n = len(report.salvaged_events)
    where = str(report.moved_to)
    if language.startswith("zh"):
        kept = f"，并找回了 {n} 条尚未同步的记录" if n else ""
        return f"本地缓存文件已损坏，已移至 {where}（未删除）；已新建缓存{kept}，其余数据将在下次同步时从服务器恢复。"
    kept = f" and {n} unsynced record{'s' if n != 1 else ''} were recovered" if n else ""
    return (
        f"The local cache was damaged and has been moved to {where} (nothing was deleted); "
        f"a fresh cache was created{kept}, and the rest will come back from the server at the next sync."
    )
