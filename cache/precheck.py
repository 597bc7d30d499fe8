"""Start the cache's integrity check (``PRAGMA quick_check``) early, on its own thread.

The check is SQLite C code (it releases the GIL) and takes 0.1–0.2 s on a
cache of 100,000 leads. Started as soon as the data directory is known, it
runs on the second core beside the start-up's Python imports instead of
after them; :func:`cache.db.open_cache` then takes its verdict — only if
the files were not touched in between (otherwise it checks again itself).

This module imports nothing heavy (no SQLAlchemy), so it is cheap to call first.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cache import repair

log = logging.getLogger(__name__)

_lock = threading.Lock()
_checks: dict[str, _Check] = {}


def _fingerprint(path: Path) -> tuple:
    """What must not change between the check and the open: the database and its WAL."""
    out = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
        except OSError:
            out.append(None)
            continue
        # An empty WAL is the same as none (the check's own read-only connection may create one).
        out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) if st.st_size else None)
    return tuple(out)


class _Check:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fingerprint = _fingerprint(path)
        self.reason: str | None = None
        self.failed = False
        self.thread = threading.Thread(target=self._run, name="cache-check", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.reason = repair.diagnose(self.path)
        except Exception:  # e.g. locked by another process: open_cache checks again and decides
            self.failed = True


def start_check(path: Path) -> None:
    """Begin checking ``path`` now; a second call for the same file is a no-op."""
    path = Path(path)
    key = str(path.resolve())
    with _lock:
        if key not in _checks:
            _checks[key] = _Check(path)


def take_verdict(path: Path, timeout_s: float = 60.0) -> tuple[bool, str | None]:
    """(known, reason) from an early check of ``path``; known is False when it must be checked again."""
    path = Path(path)
    with _lock:
        check = _checks.pop(str(path.resolve()), None)
    if check is None:
        return False, None
    check.thread.join(timeout_s)
    if check.thread.is_alive() or check.failed or _fingerprint(path) != check.fingerprint:
        return False, None
    return True, check.reason
