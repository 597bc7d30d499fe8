"""Logging to rotating files in the log dir, with privacy redaction on every record.

A filter on each of our handlers rewrites the final message (arguments,
exception text and stack included) so that no full phone number and no
secret reaches a file or the console, whichever module logged it: numbers
keep their last four digits (like the masked display), secrets become ``***``.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any

from core.redact import RedactingFilter, redact

LOG_FILE = "seatmate.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_MARK = "_seatmate_handler"
__all__ = ["LOG_FILE", "RedactingFilter", "configure", "redact", "setup_logging"]


def configure(paths: Any = None, *, log_dir: Path | None = None, level: int = logging.INFO,
              console: bool = True) -> Path:
    """Install the rotating file handler (and a console handler) on the root logger.

    ``paths`` is an :class:`app.paths.AppPaths` (or pass ``log_dir``). Calling
    again replaces our handlers (tests, a second Application in one process).
    Returns the log file path.
    """
    directory = Path(log_dir if log_dir is not None else paths.log_dir)
    directory.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False):
            root.removeHandler(h)
            h.close()
    redactor = RedactingFilter()
    file_handler = logging.handlers.RotatingFileHandler(
        directory / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler.addFilter(redactor)
    setattr(file_handler, _MARK, True)
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.WARNING)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.addFilter(redactor)
        setattr(stream, _MARK, True)
        root.addHandler(stream)
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin: noise
    logging.captureWarnings(True)
    return directory / LOG_FILE


def setup_logging(log_dir: Path, level: int = logging.INFO, console: bool = True) -> Path:
    """Same as :func:`configure` for callers holding just the folder."""
    return configure(log_dir=log_dir, level=level, console=console)
