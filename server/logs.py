"""The server's logs go through the same privacy redaction as the app's (core.redact).

uvicorn (re)configures logging in each process it starts — in ``uvicorn.Config``
and again in every worker — so :func:`install` puts one
:class:`core.redact.RedactingFilter` on every handler that exists at that
moment (the root logger's, uvicorn's, ours) and is called after each such
configuration: by the CLI, after ``uvicorn.Config`` in ``serve``, and by the
app factory in each worker. Phone numbers keep their last four digits;
passwords, tokens, bearer credentials and DSN passwords become ``***`` —
in messages, access-log paths, exception tracebacks (SQL parameters
included) and stack text.
"""

from __future__ import annotations

import logging

from core.redact import RedactingFilter

_FILTER = RedactingFilter()
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "fastapi", "seatmate",
           "seatmate.server", "sqlalchemy", "sqlalchemy.engine")


def install() -> int:
    """Add the redacting filter to every handler not yet filtered; returns how many were added."""
    names = set(LOGGERS) | set(logging.Logger.manager.loggerDict)
    added = 0
    seen: set[int] = set()
    for name in names:
        logger = logging.getLogger(name) if name else logging.getLogger()
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if id(handler) in seen:
                continue
            seen.add(id(handler))
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_FILTER)
                added += 1
    last = logging.lastResort  # used when a record finds no handler at all
    if last is not None and not any(isinstance(f, RedactingFilter) for f in last.filters):
        last.addFilter(_FILTER)
        added += 1
    return added


__all__ = ["install"]
