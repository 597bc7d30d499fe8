"""What the workspace needs from its neighbours, written as Protocols (the typed seams).

- :class:`Phone`: what the call loop (``WorkspaceController``) and the workspace's
  widgets use of the softphone. ``softphone.engine.SipEngine`` is one; tests hand
  in fakes or the real engine.
- :class:`PhoneEngine`: what ``WorkspaceRuntime`` uses on top: registration, stop.
- :class:`WorkspaceWindow` (and its :class:`SyncStatusLine`): what attaching the
  workspace (``app.workspace.attach``) uses of the main window.
- :class:`WorkspaceHost`: what attaching uses of the composition root
  (``app.application.Application``), which owns the resulting state.

Protocols only: nothing here imports the softphone, the window or the application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import SignalInstance

if TYPE_CHECKING:
    from concurrent.futures import Future
    from pathlib import Path

    from PySide6.QtWidgets import QTableView


class Phone(Protocol):
    """The softphone as the call loop sees it. Methods return at once (the SIP work runs
    on the engine's own thread); ``dial`` gives the engine's call id, or a Future of it."""

    call_state_changed: SignalInstance  # CallInfo-like frozen snapshots
    incoming_call: SignalInstance  # IncomingCall-like: call_id, remote_masked, lead_id, number

    def dial(self, target: str, lead_id: str | None = None) -> Future[str] | str: ...

    def hangup(self, call_id: str | None = None) -> object: ...

    def answer(self, call_id: str | None = None) -> object: ...

    def hold(self, on: bool, call_id: str | None = None) -> object: ...

    def mute(self, on: bool, call_id: str | None = None) -> object: ...

    def send_dtmf(self, digits: str, method: str = "rfc4733", call_id: str | None = None) -> object: ...

    def transfer_blind(self, target: str, call_id: str | None = None) -> object: ...


class PhoneEngine(Phone, Protocol):
    """The softphone as the runtime that started it sees it."""

    registration_changed: SignalInstance  # RegInfo
    last_reg: Any  # the latest RegInfo, or None

    def stop(self, timeout: float = 15.0) -> None: ...


class SyncStatusLine(Protocol):
    def set_sync_state(self, state: str, pending: int) -> None: ...

    def set_sync_problem(self, problem: Any) -> None: ...  # a core.messages.Message, or None


class WorkspaceWindow(Protocol):
    """The main window as attaching the workspace sees it."""

    dialRequested: SignalInstance  # str: tel:/sip: links, a second `seatmate dial …`
    leadsShown: SignalInstance  # int: a search result is on screen
    status: SyncStatusLine
    table: QTableView

    def isVisible(self) -> bool: ...

    def showMinimized(self) -> None: ...

    def refresh_soon(self) -> None: ...


class HostPaths(Protocol):
    data_dir: Path

    @property
    def settings_file(self) -> Path: ...


class WorkspaceHost(Protocol):
    """The composition root as attaching the workspace sees it (``Application``)."""

    shuttingDown: SignalInstance
    workspaceReady: SignalInstance
    settings: Any  # app.settings.Settings
    paths: HostPaths | None
    cache: Any  # cache.db.CacheHandle, once open
    repository: Any  # cache.repository.Repository, once open
    leads: Any  # app.lead_service.LeadService
    window: WorkspaceWindow | None
    workspace: Any  # the attached ui.workspace.wiring.WorkspaceUi, or None
    workspace_attaching: bool  # the attach is under way (the application started it)
    sync: Any  # sync.service.SyncService in server mode, once attached

    @property
    def closing(self) -> bool: ...

    def on_shutdown(self, name: str, fn: Callable[[], Any]) -> None: ...

    def set_workspace(self, workspace: Any) -> None: ...

    def set_sync(self, sync: Any) -> None: ...

    def set_account(self, session: Any, account: Any) -> None: ...
