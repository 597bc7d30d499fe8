"""Start the cache's integrity check (``PRAGMA quick_check``) early, in the background.

The check is SQLite C code (it releases the GIL) and takes 0.1–0.2 s on a
cache of 100,000 leads. Started as soon as the data directory is known, it
runs on the second core beside the start-up's Python imports instead of
after them; :func:`cache.db.open_cache` then takes its verdict — only if
the files were not touched in between (otherwise it checks again itself).

This module imports nothing heavy (no SQLAlchemy), so it is cheap to call first.
It starts no thread of its own: the caller passes its way of running work in the
background (the app's ``app.background.run_in_background``), which returns a Future.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cache import repair

log = logging.getLogger(__name__)

_lock = threading.Lock()
_checks: dict[str, _Check] = {}

#: Runs a function in the background and returns its Future.
Runner = Callable[[Callable[[], None]], "cf.Future[None]"]


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
    def __init__(self, path: Path, run_in_background: Runner) -> None:
        self.path = path
        self.fingerprint = _fingerprint(path)
        self.reason: str | None = None
        self.failed = False
        self.done = run_in_background(self._run)

    def wait(self, timeout_s: float) -> bool:
        """True once the check has finished (within ``timeout_s``)."""
        return not cf.wait([self.done], timeout_s).not_done

    def _run(self) -> None:
        try:
            self.reason = repair.diagnose(self.path)
        except Exception:  # e.g. locked by another process: open_cache checks again and decides
            self.failed = True


def start_check(path: Path, run_in_background: Runner) -> None:
    """Begin checking ``path`` now (through ``run_in_background``); a second call for the
    same file is a no-op."""
    path = Path(path)
    key = str(path.resolve())
    with _lock:
        if key not in _checks:
            _checks[key] = _Check(path, run_in_background)


def take_verdict(path: Path, timeout_s: float = 60.0) -> tuple[bool, str | None]:
    """(known, reason) from an early check of ``path``; known is False when it must be checked again."""
    path = Path(path)
    with _lock:
        check = _checks.pop(str(path.resolve()), None)
    if check is None:
        return False, None
    if not check.wait(timeout_s) or check.failed or _fingerprint(path) != check.fingerprint:
        return False, None
    return True, check.reason
