"""Puts the workspace into the main window and connects it to the workspace services.

The keyboard loop: F5 dials the next best lead (or Ctrl+D the selected one),
F8 hangs up, the wrap-up panel opens at once with the suggested code, digits
pick a code, Ctrl+Enter saves, and in power mode the next call follows after a
countdown (Esc cancels). Every shortcut is in the F1 overlay and can be
changed in settings (``shortcuts``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QDialog, QInputDialog, QLabel, QMenu, QSystemTrayIcon, QToolButton, QVBoxLayout

from app.workspace.call_status import CallStatus
from app.workspace.shortcuts import resolve
from core.agent_state import AgentState, AgentStatus
from core.dialing import DialMode
from core.kpi import KpiSnapshot, format_duration
from core.messages import Message
from ui import messages
from ui.workspace.agent_state_widget import state_text
from ui.workspace.dialpad import Dialpad
from ui.workspace.help_overlay import HelpOverlay
from ui.workspace.monitor_indicator import MonitorIndicator
from ui.workspace.workspace_strip import WorkspaceStrip
from ui.workspace.wrapup_panel import WrapupPanel

log = logging.getLogger(__name__)


def _current_lead(window: Any) -> str | None:
    getter = getattr(window, "current_lead_id", None)
    return getter() if callable(getter) else getattr(window, "_current_lead", None)


class WorkspaceUi(QObject):
    def __init__(self, window: Any, runtime: Any, shortcuts: dict[str, str] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.runtime = runtime
        self.ctl = runtime.controller
        self.agent = runtime.agent
        self._overdue = 0
        self._counts = (0, 0)
        self._preview: Any = None
        self._sip_text = ""

        # -- widgets in the window --------------------------------------------------
        self.strip = WorkspaceStrip(self.agent)
        layout = window.centralWidget().layout()
        layout.insertWidget(0, self.strip)
        # The wrap-up panel is a sheet over the lower part of the window, not a layout item:
        # showing it repaints only itself (no relayout of the list, card and script), which
        # keeps hang-up → panel on screen within one frame or two.
        self.wrapup = WrapupPanel(runtime.wrapup, window.centralWidget())
        self.wrapup.setAutoFillBackground(True)
        self.wrapup.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.wrapup.setStyleSheet("#wrapupPanel { background: palette(window); border-top: 3px solid #e67e22; }")
        window.centralWidget().installEventFilter(self)
        window.installEventFilter(self)  # LanguageChange: the status texts are set here
        self.wrapup.installEventFilter(self)
        self.ctl.wait_for_ui = True
        self.wrapup.painted.connect(self.ctl.ui_settled)
        self.script = window.script  # the window's one script panel; the agent's name goes into it
        self.script.set_agent(runtime.agent_info())
        self.script.question_recorded.connect(
            lambda text, section: self.ctl.record_question(text, section, _current_lead(window)))
        self.help = HelpOverlay(window)
        self.table = resolve(shortcuts)
        self.help.set_shortcuts(self.table)
        self.dialpad_dialog = QDialog(window)
        self.dialpad_dialog.setWindowTitle(self.tr("Dialpad"))
        self.dialpad = Dialpad()
        QVBoxLayout(self.dialpad_dialog).addWidget(self.dialpad)
        self.dialpad.dial_requested.connect(self._dial_number)
        self.dialpad.digit_pressed.connect(self._dtmf)
        self.sip_label = QLabel()
        self.sip_label.setObjectName("workspaceSip")
        self.state_label = QLabel()
        self.state_label.setObjectName("statusAgentState")
        self.callback_label = QLabel()
        self.callback_label.setObjectName("statusCallbacks")
        # New leads past the 48-hour first-contact window: the count, and a click shows only them.
        self.first_contact = QToolButton()
        self.first_contact.setObjectName("firstContactFilter")
        self.first_contact.setCheckable(True)
        self.first_contact.setAutoRaise(True)
        self.first_contact.setStyleSheet(
            "QToolButton { color: #c0392b; font-weight: bold; } QToolButton:checked { background: #fdecea; }")
        self.first_contact.hide()
        self._first_contact = (0, None)
        self._reminders: list[Any] = []
        self.recording = QLabel()
        self.recording.setObjectName("recordingIndicator")
        self.recording.setStyleSheet("color: #c0392b; font-weight: bold;")
        window.status.addPermanentWidget(self.state_label)
        window.status.addPermanentWidget(self.callback_label)
        window.status.addPermanentWidget(self.first_contact)
        # A team leader on the call (监听/耳语/强插), as the campaign's policy lets the agent see it.
        notice = getattr(runtime, "monitor_notice", None)
        self.monitor_indicator = MonitorIndicator(notice) if notice is not None else None
        if self.monitor_indicator is not None:
            window.status.addPermanentWidget(self.monitor_indicator)
        window.call_bar.layout().insertWidget(2, self.recording)
        window.call_bar.agent_state.hide()  # the strip's state control replaces the placeholder

        # -- call bar -----------------------------------------------------------------
        bar = window.call_bar
        for button in (bar.dial, bar.hangup, bar.hold, bar.mute, bar.transfer):
            button.setToolTip("")
        bar.dial.clicked.connect(self.dial_selected)
        # Click-to-dial: a double click on a lead dials it (through the gate, like every dial).
        window.table.doubleClicked.connect(lambda index: self._dial_row(index.row()))
        bar.hangup.clicked.connect(self.ctl.hangup)
        bar.hold.setCheckable(True)
        bar.mute.setCheckable(True)
        bar.hold.toggled.connect(self._hold)
        bar.mute.toggled.connect(self._mute)
        bar.transfer.clicked.connect(self._transfer)
        self._call_timer = QTimer(self)
        self._call_timer.setInterval(500)
        self._call_timer.timeout.connect(self._tick_call)
        # What the bar shows comes from the engine's own events (ringing, talking, held by the
        # customer, no audio, idle at the end): app.workspace.call_status.
        self._warned: Any = None  # the call bar's warning already announced
        self.call_status = CallStatus(runtime.phone, self)
        self.call_status.changed.connect(self._on_call_view)

        # -- actions and shortcuts -------------------------------------------------------
        self.actions: dict[str, QAction] = {}
        handlers = {
            "dial_next": self.ctl.dial_next,
            "dial_selected": self.dial_selected,
            "hangup": self.ctl.hangup,
            "answer": self.ctl.answer,
            "mute": lambda: bar.mute.toggle() if bar.mute.isEnabled() else None,
            "hold": lambda: bar.hold.toggle() if bar.hold.isEnabled() else None,
            "dialpad": self.show_dialpad,
            "save_wrapup": self.wrapup.save,
            "cancel_countdown": self._escape,
            "toggle_power": lambda: self.strip.power_button.toggle(),
            "ready": self._ready,
            "pause": self._pause_default,
            "search": lambda: (window.search.setFocus(), window.search.selectAll()),
            "script_search": lambda: (self.script.search_edit.setFocus(), self.script.search_edit.selectAll()),
            "next_section": lambda: self.script.step_section(1),
            "prev_section": lambda: self.script.step_section(-1),
            "new_question": self.script.ask_question,
            "help": self.help.toggle,
        }
        for action_name, definition in self.table.items():
            action = QAction(window)
            action.setObjectName(f"ws_{action_name}")
            action.setShortcut(QKeySequence(definition.keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, fn=handlers[action_name]: fn())
            window.addAction(action)
            self.actions[action_name] = action
        # Ctrl+Enter saves inside the panel too (the note field would take it otherwise).
        self.wrapup.set_save_keys([self.table["save_wrapup"].keys, "Ctrl+Enter"])

        # -- strip -----------------------------------------------------------------------
        self.strip.dial_next_clicked.connect(self.ctl.dial_next)
        self.strip.power_toggled.connect(
            lambda on: self.ctl.set_mode(DialMode.POWER if on else DialMode.PREVIEW))
        self.strip.power_button.setChecked(runtime.power.mode is DialMode.POWER)
        self.strip.cancel_countdown_clicked.connect(runtime.power.cancel)
        runtime.power.tick.connect(self.strip.show_countdown)
        runtime.power.cancelled.connect(self._countdown_cancelled)
        runtime.power.dial_requested.connect(self.strip.hide_countdown)

        # -- controller ------------------------------------------------------------------
        self.ctl.dial_blocked.connect(lambda reason: self._notice(reason, error=True))
        self.ctl.message.connect(lambda text: self._notice(text))
        self.ctl.kpi_changed.connect(self._on_kpis)
        self.ctl.preview_changed.connect(self._on_preview)
        self.ctl.lead_focused.connect(self.focus_lead)
        self.ctl.call_placed.connect(self._on_call_started)
        self.ctl.call_answered.connect(self._on_answered)
        self.ctl.call_finished.connect(self._on_call_finished)
        self.ctl.incoming.connect(self._on_incoming)
        self.wrapup.saved.connect(self._on_saved)
        self.agent.changed.connect(self._on_agent)
        runtime.callbacks.reminder.connect(self._on_reminder)
        runtime.callbacks.counts_changed.connect(self._on_callback_counts)
        # The 48-hour rule: a marker per lead in the list (Status), the count in the status bar.
        window.model.set_first_contact_rule(self.ctl.first_contact_cutoff)
        self.ctl.first_contact_changed.connect(self._on_first_contact)
        runtime.callbacks.checked.connect(self.ctl.refresh_first_contact)  # time passes
        self.first_contact.toggled.connect(self._filter_first_contact)
        # An attempt ends a lead's wait: the marker and the count follow at once.
        self.ctl.call_placed.connect(self._after_attempt)
        self.ctl.call_finished.connect(self._after_attempt)
        runtime.registration.connect(self._on_registration)
        runtime.phone_ready.connect(self._on_phone_ready)

        # -- tray --------------------------------------------------------------------------
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            icon = window.windowIcon() if not window.windowIcon().isNull() else QIcon.fromTheme("call-start")
            self.tray = QSystemTrayIcon(icon, window)
            menu = QMenu(window)
            menu.addAction(self.tr("Show Seatmate"), window.show_and_raise)
            menu.addAction(self.actions["dial_next"])
            self.tray.setContextMenu(menu)
            self.tray.activated.connect(lambda _reason: window.show_and_raise())
            self.tray.show()

        self._set_buttons(in_call=False)
        self._on_agent(self.agent.status)
        self._on_kpis(self.ctl.kpis)
        self._on_callback_counts(*[max(0, c) for c in runtime.callbacks.counts])
        self._on_registration(None)
        if runtime.wrapup.draft is not None:
            self.wrapup.show_draft(runtime.wrapup.draft)
        QTimer.singleShot(0, self.ctl.refresh_preview)

    # -- helpers ---------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
            return False
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show) and watched in (
                self.window.centralWidget(), self.wrapup):
            self._place_wrapup()
        return False

    def _place_wrapup(self) -> None:
        """Bottom of the central area, just above the call bar, full width."""
        central = self.window.centralWidget()
        bar = self.window.call_bar.geometry()
        height = min(max(self.wrapup.sizeHint().height(), 260), int(central.height() * 0.6))
        self.wrapup.setGeometry(0, max(0, bar.top() - height), central.width(), height)
        self.wrapup.raise_()

    def _notice(self, message: Message | str, error: bool = False) -> None:
        """A service's message (worded by ui.messages) or a text already in the UI language."""
        self.strip.show_notice(message, error=error)
        self.window.status.showMessage(messages.text(message), 8000)

    def focus_lead(self, lead_id: str) -> None:
        row = self.window.model.row_of(lead_id)
        if row >= 0:
            self.window.table.selectRow(row)
        else:
            self.window._show_lead(lead_id)

    def dial_selected(self) -> None:
        lead_id = _current_lead(self.window)
        if lead_id is None:
            self._notice(self.tr("Select a lead first (or press F5 for the next one)"), error=True)
            return
        self.ctl.dial_lead(lead_id)

    def _dial_row(self, row: int) -> None:
        lead_id = self.window.model.lead_id(row)
        if lead_id:
            self.ctl.dial_lead(lead_id)

    def show_dialpad(self) -> None:
        self.dialpad.set_in_call(self.ctl.active is not None)
        self.dialpad_dialog.show()
        self.dialpad_dialog.raise_()
        self.dialpad.number_edit.setFocus()

    def _dial_number(self, text: str) -> None:
        if self.ctl.dial_number(text):
            self.dialpad.number_edit.clear()
            self.dialpad_dialog.hide()

    def _dtmf(self, digit: str) -> None:
        phone = self.ctl.phone
        if phone is not None and self.ctl.active is not None and hasattr(phone, "send_dtmf"):
            phone.send_dtmf(digit, call_id=self.ctl.active.engine_id)

    def _hold(self, on: bool) -> None:
        phone = self.ctl.phone
        if phone is not None and self.ctl.active is not None:
            phone.hold(on, call_id=self.ctl.active.engine_id)

    def _mute(self, on: bool) -> None:
        phone = self.ctl.phone
        if phone is not None and self.ctl.active is not None:
            phone.mute(on, call_id=self.ctl.active.engine_id)

    def _transfer(self) -> None:
        phone = self.ctl.phone
        if phone is None or self.ctl.active is None:
            return
        target, ok = QInputDialog.getText(self.window, self.tr("Transfer"), self.tr("Transfer the call to (extension or number):"))
        if ok and target.strip():
            phone.transfer_blind(target.strip(), call_id=self.ctl.active.engine_id)

    def _escape(self) -> None:
        if self.help.isVisible():
            self.help.hide()
        elif self.runtime.power.counting:
            self.runtime.power.cancel()
        elif self.dialpad_dialog.isVisible():
            self.dialpad_dialog.hide()

    def _ready(self) -> None:
        if self.agent.state is AgentState.PAUSED or self.agent.status.pending_pause:
            self.agent.resume()
        elif self.agent.state is AgentState.OFFLINE:
            self.agent.go_ready()

    def _pause_default(self) -> None:
        reasons = self.agent.pause_reasons
        if reasons:
            self.strip.state.menu.popup(self.strip.state.button.mapToGlobal(self.strip.state.button.rect().bottomLeft()))

    def _set_buttons(self, in_call: bool) -> None:
        bar = self.window.call_bar
        bar.dial.setEnabled(not in_call and self.ctl.phone is not None and self.agent.state is AgentState.READY)
        for button in (bar.hangup, bar.hold, bar.mute, bar.transfer):
            button.setEnabled(in_call)
        if not in_call:
            for button in (bar.hold, bar.mute):
                button.blockSignals(True)
                button.setChecked(False)
                button.blockSignals(False)

    # -- controller events ----------------------------------------------------------------------
    def _on_call_started(self, call: Any) -> None:
        self._set_buttons(in_call=True)
        self.window.call_bar.show_number(call.masked)
        self.window.call_bar.timer.setText("00:00")
        self.dialpad.set_in_call(True)
        self._call_timer.start()

    def _on_answered(self, call: Any) -> None:
        if self.runtime.recording_enabled():
            self.recording.setText(self.tr("● Recording"))
        self._tick_call()

    def _tick_call(self) -> None:
        view = self.call_status.view
        if view.idle:
            call = self.ctl.active
            if call is None:
                return
            # Placed, the engine has not reported yet: count from the dial.
            seconds = (dt.datetime.now(dt.timezone.utc) - call.dialed_at).total_seconds()
            self.window.call_bar.timer.setText(self.tr("Ringing") + " " + format_duration(max(0.0, seconds)))
            return
        self.window.call_bar.show_call(view)

    def _on_call_view(self, view: Any) -> None:
        self.window.call_bar.show_call(view)
        warned, self._warned = self._warned, view.warning
        if view.idle:
            self._call_timer.stop()
            return
        if not self._call_timer.isActive():
            self._call_timer.start()
        if view.warning is not None and view.warning != warned:
            self._notice(view.warning, error=True)

    def _on_call_finished(self, outcome: Any) -> None:
        self._call_timer.stop()
        # Idle at once: no timer, no "ringing" left on the bar (the engine's end event may come
        # a moment later; the bar does not wait for it).
        self.call_status.reset()
        self.window.call_bar.show_call(None)
        self._set_buttons(in_call=False)
        self.recording.clear()
        self.dialpad.set_in_call(False)
        self.wrapup.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_saved(self, saved: Any) -> None:
        # The lead moved tab (done, callback…). Within 250 ms, not at once: the agent may be
        # typing a search already, and the save's own background work (next lead, KPIs,
        # presence) is running; a search typed meanwhile shows the new state anyway.
        self.window.refresh_soon()
        self.window.setFocus()

    def _on_incoming(self, info: Any) -> None:
        _engine_id, masked, lead_id = info
        self.window.show_and_raise()
        self._notice(self.tr("Incoming call %1 — F6 to answer").replace("%1", masked))
        if self.tray is not None:
            self.tray.showMessage(self.tr("Incoming call"), masked, QSystemTrayIcon.MessageIcon.Information, 10000)
        crm = self.runtime.options.get("crm_url")
        if crm and lead_id:
            QDesktopServices.openUrl(QUrl(crm.replace("{lead_id}", lead_id)))

    def _on_kpis(self, snap: KpiSnapshot) -> None:
        self.strip.kpi.set_snapshot(snap)
        t = snap.targets
        self.window.status.set_kpis(snap.calls_made, t.calls_per_day, snap.talk_seconds, t.talk_minutes_per_day)

    def _on_preview(self, brief: Any) -> None:
        self._preview = brief
        if brief is None:
            self.strip.show_next(self.tr("No lead to call right now"))
            return
        text = self.tr("Next: %1").replace("%1", brief.name)
        if brief.next_callback_at is not None:
            text += " · " + self.tr("callback due")
        self.strip.show_next(text)

    def _on_agent(self, status: AgentStatus) -> None:
        self.state_label.setText(self.tr("Agent: %1").replace("%1", state_text(status)))
        if status.state is not AgentState.ON_CALL:
            self._set_buttons(in_call=False)

    def _retranslate(self) -> None:
        self.dialpad_dialog.setWindowTitle(self.tr("Dialpad"))
        self._on_agent(self.agent.status)
        self._on_callback_counts(*self._counts)
        self._show_first_contact()
        self._on_preview(self._preview)
        if self.recording.text():
            self.recording.setText(self.tr("● Recording"))

    def _on_callback_counts(self, due: int, overdue: int) -> None:
        self._counts = (due, overdue)
        self._overdue = overdue
        text = self.tr("Callbacks due %1 · overdue %2").replace("%1", str(due)).replace("%2", str(overdue))
        self.callback_label.setText(text)
        self.callback_label.setStyleSheet("color: #c0392b; font-weight: bold;" if overdue else "")

    def _on_first_contact(self, count: int, cutoff: Any) -> None:
        """The overdue count (worked out on the workspace's worker) and the rule's cutoff now."""
        previous = self._first_contact[0]
        self._first_contact = (count, cutoff)
        self._show_first_contact()
        if count != previous:
            self.window.model.refresh_flags()  # a lead crossed the 48 h line, or was called
        if self.first_contact.isChecked():
            self.window.set_waiting_filter(cutoff)

    def _show_first_contact(self) -> None:
        count = self._first_contact[0]
        self.first_contact.setText(self.tr("%1 new leads not contacted within 48 h").replace("%1", str(count)))
        self.first_contact.setToolTip(
            self.tr("Click to list only these leads; click again to list all")
            if not self.first_contact.isChecked() else self.tr("Click to list all leads again"))
        self.first_contact.setVisible(count > 0 or self.first_contact.isChecked())

    def _filter_first_contact(self, on: bool) -> None:
        if on and self.window.tabs.currentIndex() != 0:
            self.window.tabs.setCurrentIndex(0)  # they are all in 待拨打 (new, no callback)
        self.window.set_waiting_filter(self.ctl.first_contact_cutoff() if on else None)
        self._show_first_contact()

    def _after_attempt(self, _call: Any) -> None:
        self.window.refresh_soon()
        self.ctl.refresh_first_contact()

    def _on_reminder(self, cb: Any) -> None:
        # Coalesced: at start-up (or after a day off) hundreds can fall due in one check;
        # one notice says so instead of hundreds replacing each other.
        self._reminders.append(cb)
        if len(self._reminders) == 1:
            QTimer.singleShot(0, self._show_reminders)

    def _show_reminders(self) -> None:
        due, self._reminders = self._reminders, []
        if not due:
            return
        cb = due[0]
        local = cb.due_at.replace(tzinfo=dt.timezone.utc).astimezone()
        text = self.tr("Callback due: %1 (%2)").replace("%1", cb.lead_name).replace("%2", f"{local:%H:%M}")
        if len(due) > 1:
            text = self.tr("%1 callbacks due, the first: %2").replace("%1", str(len(due))).replace("%2", text)
        self._notice(text)
        if self.tray is not None:
            self.tray.showMessage(self.tr("Callback reminder"), text, QSystemTrayIcon.MessageIcon.Information, 10000)

    def _on_registration(self, reg: Any) -> None:
        if reg is None:
            self.window.status.set_sip_state("offline")
            return
        self.window.status.set_sip_state("registered" if getattr(reg, "registered", False) else "offline")

    def _on_phone_ready(self, ok: bool, detail: str) -> None:
        if ok:
            self.call_status.attach(self.runtime.phone)
        self._set_buttons(in_call=False)
        if not ok:
            self._notice(self.tr("The softphone did not start: %1").replace("%1", detail), error=True)

    def _countdown_cancelled(self) -> None:
        self.strip.hide_countdown()
        self._notice(self.tr("Automatic dialing cancelled; F5 dials the next lead"))
