"""Importing a lead file from the window (导入名单…): the file is read on a thread of its own,
the window hears one message — what was imported, or why nothing was.

The rules are :mod:`app.lead_import` (the CLI's ``seatmate import-leads`` uses the same
function). A file that cannot be used changes nothing in the cache (it is read and checked
completely before the first write) and the reason is a message code the UI words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.background import run_in_background
from core import messages as msg
from core.errors import KnownError
from core.messages import Message

if TYPE_CHECKING:  # the file parser (core.lead_file, csv) loads when a file is first imported
    from core.lead_file import ImportResult

log = logging.getLogger(__name__)
#: The local campaign the window imports into (it gets the demo's codes and rules).
LOCAL_IMPORT_CAMPAIGN = "导入名单"


def result_message(path: Path, result: ImportResult) -> Message:
    return Message.of(msg.IMPORT_DONE, file=path.name, imported=result.imported, inserted=result.inserted,
                      updated=result.updated, skipped=len(result.skipped))


def failure_message(path: Path, exc: BaseException) -> Message:
    if isinstance(exc, KnownError):
        return Message(exc.code, exc.params)
    # Not the file's fault (e.g. the disk): the import's one transaction did not commit.
    return Message.of(msg.IMPORT_FAILED, file=path.name, error=type(exc).__name__)


class LeadImportService(QObject):
    """``import_path(path)`` → ``finished(Message)`` (and ``imported(ImportResult)`` on success)."""

    finished = Signal(object)  # core.messages.Message: the outcome in words the UI translates
    imported = Signal(object)  # ImportResult: the lead list should reload

    def __init__(self, repository: Callable[[], Any], campaign: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._repository = repository  # the open cache's Repository (None before it is open)
        self.campaign = campaign
        self.busy = False

    def import_path(self, path: str | Path) -> None:
        from app.lead_import import import_file

        path = Path(path)
        repo = self._repository()
        if repo is None or self.busy:
            return
        self.busy = True

        def done(result: ImportResult) -> None:
            self.busy = False
            self.imported.emit(result)
            self.finished.emit(result_message(path, result))

        def failed(exc: BaseException) -> None:
            self.busy = False
            if isinstance(exc, KnownError):
                log.info("lead import refused: %s", exc.code)  # the file's problem, told to the user
            else:
                log.error("lead import failed", exc_info=exc)
            self.finished.emit(failure_message(path, exc))

        run_in_background(lambda: import_file(repo, path, self.campaign), done, failed, name="lead-import")
