"""Errors sorted by who is at fault (in the spirit of qutebrowser's ``misc/sql.py``).

- :class:`KnownError`: nobody's bug. The user gave something we cannot use
  (:class:`UserError`: a lead file, a phone number) or the world is in the way
  (:class:`EnvironmentFault`: the network, the server, the disk, the keyring,
  another process). Expected; shown to the user; logged without a traceback.
  It carries a message ``code`` and its ``params`` so ui/ can say it in the
  user's language; ``str()`` stays one readable English sentence for logs and
  for callers that still show it.
- Everything else is a bug (:class:`BugError` when our code detects it
  itself): logged with its traceback, shown as "something went wrong".

Subclasses keep their historic base too (``PhoneError`` is still a
``ValueError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class KnownError(Exception):
    """An error the user or the environment is at fault for, not our code."""

    #: The message code of this kind of error; an instance may carry a more precise one.
    code: str = "error"

    def __init__(self, message: str = "", *args: Any, code: str | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, *args)
        if code is not None:
            self.code = code
        #: Values the message text needs (never a full phone number, never a secret).
        self.params: dict[str, Any] = dict(params or {})


class UserError(KnownError):
    """What the user gave cannot be used (a file, a number, a form); they can fix it."""

    code = "user_error"


class EnvironmentFault(KnownError):
    """The world is in the way: network, server, disk, keyring, another process."""

    code = "environment_error"


class BugError(Exception):
    """Our own code reached a state it must never reach. Not for the user to fix."""


def is_known(exc: BaseException) -> bool:
    """True for errors to show as they are; False for bugs (show a generic message, log the traceback)."""
    return isinstance(exc, KnownError)


__all__ = ["BugError", "EnvironmentFault", "KnownError", "UserError", "is_known"]
