"""Privacy redaction of log text: the one copy, for the app's logs and the server's.

``redact(text)`` removes secrets and full phone numbers: numbers keep their
last four digits (like the masked display, ``***5678``), secrets (passwords,
tokens, bearer/basic credentials, JWT-like strings, DSN passwords) become
``***``. ``RedactingFilter`` applies it to every record a logging handler
emits (message with its arguments, exception text and stack). Pure text
work: no I/O.
"""

from __future__ import annotations

import logging
import re

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
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?$|^\d{4}\d{2}\d{2}$")  # a date (and its hour)


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

    #: Loggers whose formatter reads ``record.args`` itself (uvicorn's access log unpacks
    #: client, method, path, version, status): their string arguments are redacted in place.
    KEEP_ARGS = frozenset({"uvicorn.access"})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in self.KEEP_ARGS and isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            record.msg = redact(str(record.msg))
        else:
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


__all__ = ["RedactingFilter", "redact"]
