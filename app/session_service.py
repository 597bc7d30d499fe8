"""The account session as the UI sees it: log in, log out, who is logged in, rejected events.

The login dialog, the 账号 menu and the rejected-events panel talk to this
service only (widgets never import ``sync/`` or httpx). It sits between them
and the sync client (``sync.service.SyncService``), which does the network
work on its own thread; this service turns the sync client's answers into
message codes (core.messages; ui/messages.py words them) and frozen dataclasses.

Logging out (DESIGN.md: "Logging out clears customer data from the
workstation, even offline, once nothing is left unsynced"):

1. refused while anything is unsynced (pending events, a wrap-up draft not yet
   saved, a recording not yet uploaded) unless the user chose to export it:
   the export is a JSON file written (and fsynced) before anything is removed;
2. the sync client revokes the session on the server (best effort) and
   forgets it locally (keyring + cached identity);
3. once it has (no sync round can run any more), the customer data goes in
   one write transaction: leads and phones, call records, dispositions,
   callbacks, notes, do-not-call entries, campaigns, scripts, codes, targets,
   server settings, the outbox history and the pull cursor; local recording
   files too. The installation's device id stays.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from core import messages as msg
from core.contract import EventType, OutboxState
from core.messages import Message
from core.timeutil import format_iso, now_utc

log = logging.getLogger(__name__)

#: settings.json block for what the login dialog remembers (never the password).
SETTINGS_KEY = "login"
#: The server's throttle window (docs/sync-api.md: 5 failures per user per 5 min):
#: the wait shown when the answer does not say how long.
DEFAULT_THROTTLE_S = 300
# sync_state keys kept across a logout (the installation, not the customer).
_KEEP_STATE = ("device_id",)
_RECORDING_DONE = "recording:"  # sync.recordings marks an uploaded recording with this prefix


@dataclass(frozen=True)
class SessionState:
    """What the window shows about the account."""

    server_mode: bool
    logged_in: bool
    username: str = ""
    display_name: str = ""
    server_url: str = ""


@dataclass(frozen=True)
class LoginOutcome:
    ok: bool
    #: Why not (None when ok): a message code the UI words.
    message: Message | None
    #: "ok" | "bad_credentials" | "throttled" | "unreachable" | "conflict" | "invalid" | "error"
    kind: str
    retry_after_s: int | None = None
    display_name: str = ""  # ok: who is logged in now


@dataclass(frozen=True)
class RejectedItem:
    """One event the server refused, ready to show."""

    event_id: str
    type: str
    type_label: str
    lead_id: str | None
    lead_name: str
    occurred_at: dt.datetime  # UTC, naive
    reason: str


@dataclass(frozen=True)
class LogoutOutcome:
    ok: bool
    message: Message  # what happened, for the UI to word
    export_path: str = ""


def _event_labels() -> dict[str, str]:
    return {
        EventType.CALL_ATTEMPTED: QCoreApplication.translate("SessionService", "Call attempted"),
        EventType.CALL_ENDED: QCoreApplication.translate("SessionService", "Call ended"),
        EventType.DISPOSITION_RECORDED: QCoreApplication.translate("SessionService", "Disposition"),
        EventType.CALLBACK_SCHEDULED: QCoreApplication.translate("SessionService", "Callback scheduled"),
        EventType.NOTE_ADDED: QCoreApplication.translate("SessionService", "Note"),
        EventType.DNC_REQUESTED: QCoreApplication.translate("SessionService", "Do-not-call request"),
        EventType.UNSCRIPTED_QUESTION: QCoreApplication.translate("SessionService", "New question"),
        EventType.COACHING_SCORE: QCoreApplication.translate("SessionService", "Coaching score"),
        EventType.AGENT_STATE_CHANGED: QCoreApplication.translate("SessionService", "Agent state"),
    }


_RETRY_AFTER = re.compile(r"retry[- _]after\D{0,3}(\d+)", re.I)
_CONFLICT = re.compile(r"(\d+) events recorded by (\S+)")
_PREVIOUS = re.compile(r"events of the previous user")


def describe_login_failure(detail: str) -> LoginOutcome:
    """The sync client's reason → one clear message (a code; the UI words it)."""
    text = detail or ""
    low = text.lower()
    if "429" in low or "throttled" in low or "too many" in low:
        match = _RETRY_AFTER.search(text)
        wait = int(match.group(1)) if match else DEFAULT_THROTTLE_S
        minutes = max(1, math.ceil(wait / 60))
        return LoginOutcome(False, Message.of(msg.LOGIN_THROTTLED, minutes=minutes), "throttled", wait)
    if "wrong username or password" in low or "bad_credentials" in low:
        return LoginOutcome(False, Message.of(msg.LOGIN_BAD_CREDENTIALS), "bad_credentials")
    conflict = _CONFLICT.search(text)
    if conflict:
        return LoginOutcome(False, Message.of(msg.LOGIN_CONFLICT, count=int(conflict.group(1)),
                                              user=conflict.group(2)), "conflict")
    if _PREVIOUS.search(text):
        return LoginOutcome(False, Message.of(msg.LOGIN_PREVIOUS_USER), "conflict")
    network = ("connecterror", "timed out", "timeout", "connection refused", "name or service", "network",
               "server answered 5", "remoteprotocolerror", "readerror", "connecttimeout", "unsupportedprotocol",
               "malformed")
    if any(word in low for word in network):
        return LoginOutcome(False, Message.of(msg.LOGIN_UNREACHABLE), "unreachable")
    if "inactive" in low or "disabled" in low:
        return LoginOutcome(False, Message.of(msg.LOGIN_DISABLED), "bad_credentials")
    return LoginOutcome(False, Message.of(msg.LOGIN_FAILED, detail=text[:200]), "error")


def normalise_url(text: str) -> str | None:
    """``host:port`` or ``http(s)://host[:port]`` → a base URL; None when it is no address."""
    url = (text or "").strip().rstrip("/")
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url
    if not re.match(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[\w\-./]*)?$", url):
        return None
    return url


class SessionService(QObject):
    """Owned by the Application; lives on the GUI thread."""

    state_changed = Signal(object)  # SessionState
    login_busy = Signal(bool)
    login_result = Signal(object)  # LoginOutcome
    #: The saved session is gone (revoked, expired): ask for the password; queued work is kept.
    login_needed = Signal(object)  # core.messages.Message
    rejected_changed = Signal(list)  # [RejectedItem]
    pending_changed = Signal(int)
    logout_finished = Signal(object)  # LogoutOutcome

    def __init__(self, cache: Any, settings: Any, settings_path: Path | None, data_dir: Path,
                 sync: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.settings = settings
        self.settings_path = settings_path
        self.data_dir = Path(data_dir)
        self.sync = sync
        self._busy = False
        self._pending_login: tuple[str, str, bool] | None = None
        self._logout_export = ""
        self._logging_out = False
        self.rejected: list[RejectedItem] = []
        self.pending = 0
        self._identity = self._cached_identity()
        if sync is not None:
            sync.login_finished.connect(self._on_login_finished)
            sync.identity_changed.connect(self._on_identity)
            sync.auth_required.connect(self._on_auth_required)
            sync.rejected_events_changed.connect(self._on_rejected)
            sync.pending_count_changed.connect(self._on_pending)

    # -- what the UI reads ------------------------------------------------------------
    @property
    def server_mode(self) -> bool:
        return self.sync is not None

    def default_url(self) -> str:
        return str(getattr(self.settings, "server_url", "") or self._state("server_url") or "")

    def remembered_user(self) -> str:
        block = (getattr(self.settings, "extra", {}) or {}).get(SETTINGS_KEY)
        if isinstance(block, dict) and block.get("username"):
            return str(block["username"])
        ident = self._identity or {}
        return str(ident.get("username") or self._state("last_username") or "")

    def remember_enabled(self) -> bool:
        block = (getattr(self.settings, "extra", {}) or {}).get(SETTINGS_KEY)
        return not isinstance(block, dict) or bool(block.get("remember", True))

    def state(self) -> SessionState:
        ident = self._identity or {}
        return SessionState(self.server_mode, bool(ident), str(ident.get("username") or ""),
                            str(ident.get("display_name") or ident.get("username") or ""), self.default_url())

    def has_cached_identity(self) -> bool:
        return self._identity is not None

    @property
    def busy(self) -> bool:
        return self._busy

    # -- login ------------------------------------------------------------------------
    def login(self, url_text: str, username: str, password: str, remember: bool = True) -> LoginOutcome | None:
        """Start a login on the sync thread; the answer comes as ``login_result``.

        Returns an outcome at once only when the input is refused here (nothing sent).
        """
        url = normalise_url(url_text)
        user = (username or "").strip()
        if url is None:
            return self._fail(LoginOutcome(False, Message.of(msg.LOGIN_ENTER_URL), "invalid"))
        if not user or not password:
            return self._fail(LoginOutcome(False, Message.of(msg.LOGIN_ENTER_CREDENTIALS), "invalid"))
        if self.sync is None:
            return self._fail(LoginOutcome(False, Message.of(msg.LOGIN_NO_SERVER), "invalid"))
        if self._busy:
            return None
        current = self.default_url()
        if self._identity and current and url != current.rstrip("/"):
            return self._fail(LoginOutcome(False, Message.of(msg.LOGIN_OTHER_SERVER), "conflict"))
        self._busy = True
        self._pending_login = (url, user, remember)
        self.login_busy.emit(True)
        log.info("logging in to %s as %s", url, user)
        self.sync.login(url, user, password)  # the password goes nowhere else
        return None

    def _fail(self, outcome: LoginOutcome) -> LoginOutcome:
        self.login_result.emit(outcome)
        return outcome

    def _on_login_finished(self, ok: bool, detail: str) -> None:
        pending, self._pending_login = self._pending_login, None
        self._busy = False
        self.login_busy.emit(False)
        if ok:
            if pending is not None:
                self._remember(*pending)
            outcome = LoginOutcome(True, None, "ok", display_name=detail)
        else:
            outcome = describe_login_failure(detail)
            log.info("login failed: %s (%s)", outcome.kind, detail[:200])
        self.login_result.emit(outcome)

    def _remember(self, url: str, user: str, remember: bool) -> None:
        """The server URL and user name go to settings.json when asked; never the password."""
        extra = getattr(self.settings, "extra", None)
        if extra is None:
            return
        if remember:
            self.settings.server_url = url
            extra[SETTINGS_KEY] = {"remember": True, "username": user}
        else:
            extra[SETTINGS_KEY] = {"remember": False}
        if self.settings_path is not None:
            try:
                self.settings.save(self.settings_path)
            except Exception:
                log.exception("saving the login settings failed")

    def _on_identity(self, identity: Any) -> None:
        self._identity = identity.to_json() if identity is not None and hasattr(identity, "to_json") else None
        self.state_changed.emit(self.state())
        if identity is None and self._logging_out:
            self._finish_logout()

    def _on_auth_required(self, reason: str) -> None:
        log.info("the server asks for the password again (%s); queued work is kept", reason[:200])
        self.login_needed.emit(Message.of(msg.SYNC_AUTH))

    # -- rejected events / pending -------------------------------------------------------
    def _on_pending(self, count: int) -> None:
        self.pending = int(count)
        self.pending_changed.emit(self.pending)

    def _on_rejected(self, events: list) -> None:
        self.rejected = self._rejected_items(events)
        self.rejected_changed.emit(list(self.rejected))

    def _rejected_items(self, events: list) -> list[RejectedItem]:
        from sqlalchemy import select

        from cache import models as m

        ids = sorted({e.lead_id for e in events if getattr(e, "lead_id", None)})
        names: dict[str, str] = {}
        if ids:
            with self.cache.session() as s:
                for i in range(0, len(ids), 500):
                    names.update(s.execute(select(m.Lead.id, m.Lead.name).where(m.Lead.id.in_(ids[i:i + 500]))).all())
        labels = _event_labels()
        return [RejectedItem(e.id, e.type, labels.get(e.type, e.type), e.lead_id, names.get(e.lead_id or "", ""),
                             e.occurred_at, e.reason) for e in events]

    # -- logout -------------------------------------------------------------------------
    def unsynced(self) -> dict[str, int]:
        """What a logout would lose: pending events, an unsaved wrap-up, recordings not uploaded."""
        from sqlalchemy import func, select

        from cache import models as m

        with self.cache.session() as s:
            pending = s.scalar(select(func.count()).select_from(m.OutboxEvent)
                               .where(m.OutboxEvent.status == OutboxState.PENDING)) or 0
            recorded = list(s.scalars(select(m.CallRecord.id).where(m.CallRecord.recording_path.is_not(None))))
            uploaded = set(s.scalars(select(m.SyncState.key).where(m.SyncState.key.startswith(_RECORDING_DONE))))
        recordings = sum(1 for cid in recorded if _RECORDING_DONE + cid not in uploaded)
        draft = 1 if (self.data_dir / "wrapup-draft.json").exists() else 0
        return {"events": int(pending), "recordings": recordings, "draft": draft}

    def logout(self, export: bool = False) -> LogoutOutcome | None:
        """Log out and clear customer data; refused (returned) while work is unsynced and not exported.

        The result of an accepted logout arrives as ``logout_finished``.
        """
        if self.sync is None or self._logging_out:
            return None
        left = self.unsynced()
        if left["draft"]:
            return self._logout_refused(Message.of(msg.LOGOUT_DRAFT_OPEN))
        export_path = ""
        if left["events"] or left["recordings"]:
            if not export:
                return self._logout_refused(Message.of(msg.LOGOUT_UNSYNCED,
                                                       count=left["events"] + left["recordings"]))
            try:
                export_path = str(self.export_unsynced())
            except OSError as exc:
                return self._logout_refused(Message.of(msg.LOGOUT_EXPORT_FAILED, error=str(exc)))
        self._logging_out = True
        self._logout_export = export_path
        log.info("logging out (%d unsynced exported)", left["events"])
        if self._identity is None:
            self._finish_logout()
        else:
            self.sync.logout()  # → identity_changed(None) once the sync thread is done
        return None

    def _logout_refused(self, message: Message) -> LogoutOutcome:
        outcome = LogoutOutcome(False, message)
        self.logout_finished.emit(outcome)
        return outcome

    def export_unsynced(self) -> Path:
        """Everything not on the server yet, as JSON (durable before anything is removed)."""
        from sqlalchemy import select

        from cache import models as m

        with self.cache.session() as s:
            rows = s.execute(select(m.OutboxEvent).where(m.OutboxEvent.status != OutboxState.ACCEPTED)
                             .order_by(m.OutboxEvent.seq)).scalars().all()
            events = [{"id": r.id, "type": r.type, "lead_id": r.lead_id, "status": r.status,
                       "occurred_at": format_iso(r.occurred_at, "auto"), "payload": r.payload or {},
                       "reject_reason": r.reject_reason} for r in rows]
            recordings = [r for (r,) in s.execute(select(m.CallRecord.recording_path)
                                                  .where(m.CallRecord.recording_path.is_not(None)))]
        folder = self.data_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"unsynced-{stamp}.json"
        body = {"exported_at": now_utc().isoformat(), "user": self.remembered_user(),
                "server_url": self.default_url(), "events": events, "recordings": recordings}
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        # Recordings are kept next to the export (they are removed from recordings/ below).
        for rec in recordings:
            src = Path(rec)
            if src.exists():
                target = folder / src.name
                os.replace(src, target)
        os.chmod(path, 0o600)
        return path

    def _finish_logout(self) -> None:
        self._logging_out = False
        if not self._logout_export and self.unsynced()["events"]:
            # Written between the check and now (e.g. an agent-state change): never drop it.
            try:
                self._logout_export = str(self.export_unsynced())
            except OSError as exc:
                self.logout_finished.emit(LogoutOutcome(False, Message.of(msg.LOGOUT_EXPORT_FAILED, error=str(exc))))
                return
        try:
            counts = clear_customer_data(self.cache)
        except Exception as exc:
            log.exception("clearing the customer data failed")
            self.logout_finished.emit(LogoutOutcome(False, Message.of(msg.LOGOUT_CLEAR_FAILED, error=str(exc))))
            return
        removed = 0
        rec_dir = self.data_dir / "recordings"
        if rec_dir.is_dir():
            for f in rec_dir.iterdir():
                if f.is_file():
                    f.unlink(missing_ok=True)
                    removed += 1
        log.info("logged out: cleared %s, %d recording files", counts, removed)
        self._identity = None
        self.rejected = []
        self.rejected_changed.emit([])
        self.state_changed.emit(self.state())
        message = (Message.of(msg.LOGOUT_DONE_EXPORTED, path=self._logout_export) if self._logout_export
                   else Message.of(msg.LOGOUT_DONE))
        self.logout_finished.emit(LogoutOutcome(True, message, self._logout_export))

    # -- helpers ----------------------------------------------------------------------------
    def _state(self, key: str) -> str | None:
        from sqlalchemy import select

        from cache import models as m

        if self.cache is None:
            return None
        with self.cache.session() as s:
            return s.scalar(select(m.SyncState.value).where(m.SyncState.key == key))

    def _cached_identity(self) -> dict | None:
        raw = self._state("identity")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None


def cached_server_url(cache: Any) -> str | None:
    """The server of the identity cached in this cache (server mode without settings), else None."""
    from sqlalchemy import select

    from cache import models as m

    with cache.session() as s:
        rows = dict(s.execute(select(m.SyncState.key, m.SyncState.value)
                              .where(m.SyncState.key.in_(("identity", "server_url")))).all())
    return rows.get("server_url") if rows.get("identity") else None


def clear_customer_data(cache: Any) -> dict[str, int]:
    """Remove every customer record (and the sync history) from the cache in one transaction."""
    from sqlalchemy import delete, func, select

    from cache import models as m

    counts: dict[str, int] = {}
    with cache.write() as s:
        counts["leads"] = s.scalar(select(func.count()).select_from(m.Lead)) or 0
        counts["events"] = s.scalar(select(func.count()).select_from(m.OutboxEvent)) or 0
        # Children first (foreign keys), then the leads; the lead_changes triggers journal the
        # deletions so the in-memory search index drops them too.
        for model in (m.LeadNote, m.Callback, m.Disposition, m.CallRecord, m.LeadPhone, m.Lead,
                      m.DoNotCall, m.Script, m.DispositionCode, m.Target, m.Campaign, m.OutboxEvent):
            s.execute(delete(model))
        s.execute(delete(m.SyncState).where(m.SyncState.key.not_in(_KEEP_STATE)))
    return counts
