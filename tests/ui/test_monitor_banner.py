"""The TL's monitoring banner: who, which mode, since when (ticking), mic, buttons and keys."""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMainWindow

from app.i18n import Translations
from app.supervisor.monitor_service import MonitorView
from core import messages as msg
from ui.supervisor.monitor_banner import MonitorBanner, elapsed_text


class FakeService(QObject):
    starting = Signal(object)
    started = Signal(object)
    changed = Signal(object)
    ended = Signal(object, object)
    failed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.session: MonitorView | None = None

    def change(self, mode: str) -> None:
        self.asked.append(mode)

    def end(self) -> None:
        self.asked.append("end")


def view(**kw) -> MonitorView:
    base = dict(agent_id="a1", agent_name="李娜", sip_user="1002", mode="listen", strategy="bridge",
                phase="active", started_at=time.time() - 75, mic_muted=True, call_id="leg", session_id="s1")
    base.update(kw)
    return MonitorView(**base)


def test_banner_shows_the_session_and_ticks(qtbot, qapp) -> None:
    Translations.of(qapp).apply("zh_CN")
    svc = FakeService()
    now = [time.time()]
    window = QMainWindow()
    qtbot.addWidget(window)
    banner = MonitorBanner(svc, clock=lambda: now[0])
    window.setCentralWidget(banner)
    window.show()
    qtbot.waitExposed(window)
    assert not banner.isVisible()

    svc.starting.emit(view(phase="connecting", started_at=None))
    assert banner.isVisible() and "李娜" in banner.who.text() and "接通" in banner.mode.text()
    v = view(started_at=now[0] - 75)
    svc.started.emit(v)
    assert banner.mode.text() == "监听中" and "01:15" in banner.since.text()
    assert "静音" in banner.mic.text()
    assert banner.actions["listen"].isChecked() and not banner.actions["barge"].isChecked()
    now[0] += 2
    qtbot.waitUntil(lambda: "01:17" in banner.since.text(), timeout=3000)  # the 1 s timer

    svc.changed.emit(dataclasses.replace(v, mode="barge", mic_muted=False))
    assert banner.mode.text() == "已强插：三方通话" and "打开" in banner.mic.text()
    assert banner.actions["barge"].isChecked() and not banner.actions["listen"].isChecked()

    # Keys: Ctrl+Alt+2 whisper, Ctrl+Alt+0 end (the board keeps Alt+1/2/3/0 for the selected row).
    # Window shortcuts need the active window: exposed is not enough on a loaded machine.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(banner, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    banner.buttons["listen"].click()
    qtbot.keyClick(banner, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert svc.asked == ["whisper", "listen", "end"]
    assert banner.actions["barge"].isChecked()  # the checked button follows the session, not the click

    svc.ended.emit(v, msg.Message.of(msg.MONITOR_ENDED))
    assert banner.notice.text() == "监听已结束" and not banner.actions["end"].isEnabled()
    banner._hide_timer.timeout.emit()
    assert not banner.isVisible()


def test_failure_is_said_in_english_too(qtbot, qapp) -> None:
    t = Translations.of(qapp)
    t.apply("en")
    try:
        svc = FakeService()
        banner = MonitorBanner(svc)
        qtbot.addWidget(banner)
        svc.failed.emit(msg.Message.of(msg.MONITOR_REFUSED, status=403))
        assert banner.notice.text() == "The agent's softphone refused the monitoring (SIP 403)"
        assert banner.actions["end"].text() == "End"
    finally:
        t.apply("zh_CN")


def test_elapsed_text() -> None:
    assert elapsed_text(5) == "00:05" and elapsed_text(3725) == "1:02:05"
