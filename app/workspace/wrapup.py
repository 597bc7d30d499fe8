"""The mandatory wrap-up (话后处理) after every call.

Three parts, each with one job:

* :class:`CodeRule` and :func:`suggest_code` / :func:`validate` — the rules of
  the campaign's disposition codes (callback required, note required, adds to
  do-not-call, closes the lead, conversion) and the code the SIP result
  suggests.
* :class:`DraftStore` — the draft being edited, written atomically to a small
  JSON file in the data dir on every change, so a crash or restart during
  wrap-up brings it back. It never holds a full phone number.
* :class:`WrapupService` — the Qt-facing flow: begin after a call, edit, save.
  Saving calls the injected ``saver`` (the cache store), which commits the
  disposition row and its events in one transaction before ``saved`` is
  emitted; until then :attr:`WrapupService.blocking` is true and no next call
  may start.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from cache import crashpoint
from core import messages as msg
from core.messages import Message
from core.timeutil import aware_utc, now_utc
from core.wrapup import CallOutcome, CodeRule, SavedDisposition, WrapupDraft, fits, suggest_code, validate

log = logging.getLogger(__name__)


class DraftStore:
    """One JSON file; written via a temp file + fsync + rename so it is never half-written."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def save(self, draft: WrapupDraft, durable: bool = False) -> None:
        """Replace the file atomically. Without ``durable`` there is no fsync: the draft then
        survives a crash or kill of the app (the OS has it), not a power cut; the saved
        disposition itself always goes through the durable SQLite commit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(draft.to_json(), ensure_ascii=False).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=".wrapup-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                crashpoint.write_bytes(fh, payload, "draft")  # fh.write; the crash campaign's hook
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if durable:
            _fsync_dir(self.path.parent)

    def load(self) -> WrapupDraft | None:
        """The draft left on disk (called once, at start-up); also removes the temp files of
        writes a crash interrupted (they never replaced the draft; nothing else is writing now)."""
        for stray in self.path.parent.glob(".wrapup-*"):
            stray.unlink(missing_ok=True)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return WrapupDraft.from_json(data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError) as exc:
            # A damaged draft is kept aside for a human, never silently deleted.
            aside = self.path.with_suffix(".damaged")
            os.replace(self.path, aside)
            log.warning("wrap-up draft unreadable (%s); kept as %s", exc, aside.name)
            return None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# saver(draft, rule) commits everything in one transaction and returns the result.
Saver = Callable[[WrapupDraft, CodeRule], SavedDisposition]


class WrapupService(QObject):
    """Holds the one open wrap-up; the UI edits it only through these methods."""

    started = Signal(object)  # WrapupDraft
    changed = Signal(object)  # WrapupDraft
    saved = Signal(object)  # SavedDisposition
    save_failed = Signal(object)  # core.messages.Message: why the save did not happen

    def __init__(
        self,
        drafts: DraftStore,
        saver: Saver,
        codes: Callable[[str | None], Sequence[CodeRule]],
        clock: Callable[[], dt.datetime] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._drafts = drafts
        self._saver = saver
        self._codes = codes
        self._clock = clock or now_utc
        self._draft: WrapupDraft | None = None
        self._rules: tuple[CodeRule, ...] = ()
        #: Run right before a save commits (the controller writes the call record with it, so the
        #: server sees the call's outcome before the disposition it checks against it).
        self.before_save: Callable[[], None] | None = None

    # -- state -------------------------------------------------------------------
    @property
    def draft(self) -> WrapupDraft | None:
        return self._draft

    @property
    def blocking(self) -> bool:
        """True while a wrap-up is open: no next call may start."""
        return self._draft is not None

    @property
    def rules(self) -> tuple[CodeRule, ...]:
        return self._rules

    def rule(self, code: str | None) -> CodeRule | None:
        return next((r for r in self._rules if r.code == code), None)

    def acw_seconds(self) -> int:
        if self._draft is None:
            return 0
        return max(0, int((self._clock() - aware_utc(self._draft.started_at)).total_seconds()))

    # -- flow --------------------------------------------------------------------
    def restore(self) -> WrapupDraft | None:
        """After a restart: bring back an unsaved draft (call before anything dials)."""
        draft = self._drafts.load()
        if draft is not None:
            self._open(draft)
        return draft

    def begin(self, outcome: CallOutcome) -> WrapupDraft:
        if self._draft is not None and self._draft.call_id == outcome.call_id:
            return self._draft
        if self._draft is not None:
            # Should not happen (dialing is gated), but never lose the older draft.
            log.warning("new wrap-up while one is open; keeping the open one")
            return self._draft
        rules = tuple(self._codes(outcome.lead_id))
        suggestion = suggest_code(rules, outcome)
        draft = WrapupDraft(
            call_id=outcome.call_id,
            lead_id=outcome.lead_id,
            phone_id=outcome.phone_id,
            direction=outcome.direction,
            started_at=self._clock(),
            answered=outcome.answered,
            sip_status=outcome.sip_status,
            talk_seconds=outcome.talk_seconds,
            code=suggestion,
            suggested_code=suggestion,
        )
        self._open(draft, rules)
        self._persist()
        return draft

    def correct(self, lead_id: str, superseded_id: str, call_id: str | None = None) -> WrapupDraft:
        """Open a correction of an earlier disposition: a new event that supersedes it."""
        if self._draft is not None:
            return self._draft
        draft = WrapupDraft(
            call_id=call_id or "",
            lead_id=lead_id,
            started_at=self._clock(),
            answered=True,
            supersedes=superseded_id,
        )
        self._open(draft)
        self._persist()
        return draft

    def set_code(self, code: str | None) -> None:
        """Choose a code (None: none chosen)."""
        if code is not None and self.rule(code) is None:
            return
        self._update(code=code)

    def set_note(self, note: str) -> None:
        self._update(note=note)

    def set_callback(self, when: dt.datetime | None) -> None:
        self._update(callback_at=when)

    def set_override_reason(self, reason: str) -> None:
        """Why a code that does not fit the call's outcome is recorded anyway (the audited
        override, core.wrapup.outcome_problem); "" withdraws it."""
        self._update(override_reason=reason)

    def fits(self, code: str | None) -> bool:
        """Does this code fit the open call's outcome? (core.wrapup.fits; True for corrections.)"""
        rule, draft = self.rule(code), self._draft
        if rule is None or draft is None or draft.supersedes:
            return True
        return fits(rule, draft.answered)

    def problems(self) -> list[Message]:
        if self._draft is None:
            return []
        return validate(self._draft, self.rule(self._draft.code), self._clock())

    def save(self) -> SavedDisposition | None:
        """Commit durably, then clear the draft and emit ``saved``; None if not savable."""
        if self._draft is None:
            return None
        if self.before_save is not None:
            self.before_save()  # e.g. the call record first: its event goes out before the disposition
        draft = self._draft
        if draft is None:
            return None
        rule = self.rule(draft.code)
        problems = validate(draft, rule, self._clock())
        if problems or rule is None:
            self.save_failed.emit(problems[0] if problems else Message.of(msg.WRAPUP_CHOOSE_CODE))
            return None
        try:
            result = self._saver(draft, rule)
        except Exception as exc:  # environment (disk full, locked DB): tell the agent, keep the draft
            log.exception("saving the disposition failed")
            self.save_failed.emit(Message.of(msg.WRAPUP_SAVE_FAILED, error=type(exc).__name__))
            return None
        self._draft = None
        self._drafts.clear()
        self.saved.emit(result)
        return result

    # -- internals ---------------------------------------------------------------
    def _open(self, draft: WrapupDraft, rules: Iterable[CodeRule] | None = None) -> None:
        self._rules = tuple(rules) if rules is not None else tuple(self._codes(draft.lead_id))
        self._draft = draft
        self.started.emit(draft)

    def _update(self, **changes) -> None:
        if self._draft is None:
            return
        self._draft = replace(self._draft, **changes)
        self._persist()
        self.changed.emit(self._draft)

    def _persist(self) -> None:
        if self._draft is None:
            return
        try:
            self._drafts.save(self._draft)
        except OSError:
            log.exception("could not persist the wrap-up draft")
