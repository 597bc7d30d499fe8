"""The TL's monitoring banner: whom they are monitoring, in which mode, since when, their mic.

Shown above the team board while a session is starting or running (hidden otherwise).
Talks only to :class:`app.supervisor.monitor_service.MonitorService` (its signals and
``change`` / ``end``). Keyboard (while the banner is shown): Ctrl+Alt+1 / 2 / 3 switch to
listen / whisper / barge, Ctrl+Alt+0 ends — they act on the session whichever row of the
board is selected (the board's own Alt+1/2/3/0 act on the selected agent).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from core.messages import Message
from ui import messages

# (mode, shortcut)
BUTTONS = (("listen", "Ctrl+Alt+1"), ("whisper", "Ctrl+Alt+2"), ("barge", "Ctrl+Alt+3"), ("end", "Ctrl+Alt+0"))
NOTICE_MS = 5000


def mode_label(mode: str) -> str:
    return {
        "listen": QCoreApplication.translate("MonitorBanner", "Listening"),
        "whisper": QCoreApplication.translate("MonitorBanner", "Whispering to the agent"),
        "barge": QCoreApplication.translate("MonitorBanner", "Barged in: all three talk"),
    }.get(mode, mode)


def button_label(name: str) -> str:
    return {
        "listen": QCoreApplication.translate("MonitorBanner", "Listen"),
        "whisper": QCoreApplication.translate("MonitorBanner", "Whisper"),
        "barge": QCoreApplication.translate("MonitorBanner", "Barge in"),
        "end": QCoreApplication.translate("MonitorBanner", "End"),
    }[name]


def elapsed_text(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class MonitorBanner(QFrame):
    def __init__(self, service: Any, parent: QWidget | None = None, clock: Any = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("monitorBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#monitorBanner { background: #fff4e5; border: 1px solid #e67e22; }")
        self.service = service
        self._clock = clock
        self._view: Any = None
        self.who = QLabel()
        self.who.setObjectName("monitorWho")
        self.who.setStyleSheet("font-weight: bold;")
        self.mode = QLabel()
        self.mode.setObjectName("monitorMode")
        self.since = QLabel()
        self.since.setObjectName("monitorSince")
        self.mic = QLabel()
        self.mic.setObjectName("monitorMic")
        self.notice = QLabel()
        self.notice.setObjectName("monitorNotice")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        for w in (self.who, self.mode, self.since, self.mic):
            layout.addWidget(w)
        layout.addWidget(self.notice, 1)
        self.buttons: dict[str, QToolButton] = {}
        self.actions: dict[str, QAction] = {}
        for name, keys in BUTTONS:
            action = QAction(self)
            action.setObjectName(f"monitorBanner_{name}")
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(name != "end")
            action.triggered.connect(lambda _checked=False, n=name: self._clicked(n))
            self.addAction(action)
            button = QToolButton()
            button.setDefaultAction(action)
            button.setObjectName(f"monitorButton_{name}")
            layout.addWidget(button)
            self.buttons[name] = button
            self.actions[name] = action
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._tick)
        self._hide_timer = QTimer(self, singleShot=True, interval=NOTICE_MS)
        self._hide_timer.timeout.connect(self._hide_if_idle)
        service.starting.connect(self._on_view)
        service.started.connect(self._on_view)
        service.changed.connect(self._on_view)
        service.ended.connect(self._on_ended)
        service.failed.connect(self._on_failed)
        self.retranslate()
        self.hide()

    # -- service events --------------------------------------------------------------------
    def _on_view(self, view: Any) -> None:
        self._view = view
        self._hide_timer.stop()
        self.notice.clear()
        self._refresh()
        if view.phase == "active":
            self._timer.start()
        self.show()

    def _on_ended(self, view: Any, message: Message) -> None:
        self._view = None
        self._timer.stop()
        self._refresh()
        self._say(message)

    def _on_failed(self, message: Message) -> None:
        if self.service.session is None:
            self._view = None
            self._timer.stop()
            self._refresh()
        self._say(message)

    def _say(self, message: Message) -> None:
        self.notice.setText(messages.text(message))
        self.show()
        self._hide_timer.start()

    def _hide_if_idle(self) -> None:
        self.notice.clear()
        if self._view is None:
            self.hide()

    def _clicked(self, name: str) -> None:
        if name == "end":
            self.service.end()
        else:
            self.service.change(name)
        self._refresh()  # the checked button follows the session, not the click

    # -- painting ----------------------------------------------------------------------------
    def _refresh(self) -> None:
        v = self._view
        for name, action in self.actions.items():
            action.setEnabled(v is not None and v.phase in ("connecting", "active"))
            if name != "end":
                action.setChecked(v is not None and v.mode == name)
        if v is None:
            self.who.clear()
            self.mode.clear()
            self.since.clear()
            self.mic.clear()
            return
        who = v.agent_name or v.sip_user
        self.who.setText(QCoreApplication.translate("MonitorBanner", "Monitoring %1").replace("%1", who))
        if v.phase == "connecting":
            self.mode.setText(QCoreApplication.translate("MonitorBanner", "connecting…"))
        else:
            self.mode.setText(mode_label(v.mode))
        if v.mic_muted:
            self.mic.setText(QCoreApplication.translate("MonitorBanner", "Your mic: muted"))
        else:
            self.mic.setText(QCoreApplication.translate("MonitorBanner", "Your mic: on"))
        self.mic.setStyleSheet("color: #7f8c8d;" if v.mic_muted else "color: #c0392b; font-weight: bold;")
        self._tick()

    def _tick(self) -> None:
        v = self._view
        if v is None or not v.started_at:
            self.since.clear()
            return
        started = time.strftime("%H:%M:%S", time.localtime(v.started_at))
        self.since.setText(QCoreApplication.translate("MonitorBanner", "since %1 (%2)").replace("%1", started)
                           .replace("%2", elapsed_text(self._clock() - v.started_at)))

    def retranslate(self) -> None:
        for name, action in self.actions.items():
            action.setText(button_label(name))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{button_label(name)} ({keys})")
        self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
