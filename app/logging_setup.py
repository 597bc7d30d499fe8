"""Logging to rotating files in the log dir, with privacy redaction on every record.

A filter on each of our handlers rewrites the final message (arguments,
exception text and stack included) so that no full phone number and no
secret reaches a file or the console, whichever module logged it: numbers
keep their last four digits (like the masked display), secrets become ``***``.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path
from typing import Any

LOG_FILE = "seatmate.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_MARK = "_seatmate_handler"

# Secrets first (they may contain digits): key=value / key: value / "key": "value", bearer tokens, JWTs.
_SECRET_KV = re.compile(
    r"""(?ix)
    (?P<key>["']?[\w-]*(?:pass(?:word|wd|phrase)?|pwd|token|secret|api[_-]?key|authorization|
        credential|x-seatmate-monitor|private[_-]?key)[\w-]*["']?)
    (?P<sep>\s*[=:]\s*|\s+(?:is\s+|was\s+)?)
    (?P<q>["']?)(?P<val>(?:bearer\s+|basic\s+)?[^\s"',;&)}\]]+)
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_JWT_LIKE = re.compile(r"\beyJ[\w-]{6,}\.[\w-]{6,}(?:\.[\w-]+)?")
_DSN_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)")  # scheme://user:pass@host
# Phone numbers: 7+ digits, optionally with +, spaces or dashes between them.
# It may not stop right before another digit group ("+86 138-1234-5678" is one number).
_NUMBER = re.compile(r"(?<![\w.])\+?\d(?:[\s-]?\d){6,}(?!\w|\.\d|[\s-]\d)")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{4}\d{2}\d{2}$")


def _mask_number(m: re.Match[str]) -> str:
    text = m.group(0)
    if _DATE_LIKE.match(text):
        return text
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7:
        return text
    return "***" + digits[-4:]


def _mask_secret(m: re.Match[str]) -> str:
    return f"{m.group('key')}{m.group('sep')}{m.group('q')}***"


def redact(text: str) -> str:
    """Remove secrets and full phone numbers from ``text``."""
    if not text:
        return text
    text = _DSN_PASSWORD.sub(r"\1***\3", text)
    text = _BEARER.sub(r"\1 ***", text)
    text = _JWT_LIKE.sub("***", text)
    text = _SECRET_KV.sub(_mask_secret, text)
    return _NUMBER.sub(_mask_number, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message with args merged, exception and stack text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None  # formatters would re-render it unredacted
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


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
