"""One agent's (or the TL's) desktop for the floor-day: the real Seatmate application with its real
window (offscreen), driven through its widgets by key clicks, in a process of its own.

Started by tests/floorday/run.py as ``python -m tests.floorday.agent_app --data DIR --user U
--password P``. It takes one JSON command per line on stdin and answers each with one line
``@@FD {json}`` on stdout:

``call {talk, question, note}``
    F5 on the window (the app picks the next lead) → wait for the answer or the end → stay
    ``talk`` s and F8 (unless the customer hung up) → in the wrap-up panel the digit shown on the
    button of the code that fits the outcome (the persona by the number's last digit, read from
    the call bar), a callback time (typed, or the "Tomorrow 10:00" button), a typed note,
    Ctrl+Enter. With ``question``: the 记录新问题 button during the call, the question typed
    into its dialog. Answers what the driver saw and did.
``check_dnc {numbers}``
    Ctrl+P, the number typed into the dialpad, Enter: the notice the window shows.
``kpi``  the KPI strip's texts (and their numbers).
``quit`` an orderly quit.

Reading the app's state (signals, the call bar, the panel's buttons) is allowed; acting is only
done through the widgets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import re
import sys
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QPlainTextEdit, QWidget

from tests.floorday.plan import answers, code_for_digit
from ui.typing import type_char

PREFIX = "@@FD "
NO_MOD = Qt.KeyboardModifier.NoModifier


def say(kind: str, **fields: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps({"event": kind, **fields}, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class DriverError(RuntimeError):
    pass


def fallback_code(answered: bool, status: int | None) -> str:
    if answered:
        return "REFUSED"
    if status in (486, 600):
        return "BUSY"
    if status in (408, 480, 487):
        return "NO_ANSWER"
    return "FAILED"


def type_text(widget: QWidget, text: str) -> None:
    """Typed as a person would: ASCII as key clicks, Chinese as an input method commits it."""
    for ch in text:
        type_char(widget, ch)


def wait_until(condition, timeout: float, what: str, step_ms: int = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DriverError(f"timed out after {timeout} s waiting for {what}")
        QTest.qWait(step_ms)


def ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def seconds_of(text: str) -> int:
    """'mm:ss' or 'h:mm:ss' (the first one in the text) → seconds."""
    m = re.search(r"(?:(\d+):)?(\d{1,2}):(\d{2})", text)
    if not m:
        raise DriverError(f"no duration in {text!r}")
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    return h * 3600 + mi * 60 + s


class Driver:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.window = app.window
        self.ws = app.workspace
        self.ctl = self.ws.runtime.controller
        self.events: list[tuple[str, float, Any]] = []
        self.ctl.call_answered.connect(lambda *a: self.events.append(("answered", time.monotonic(), a)))
        self.ctl.call_finished.connect(lambda *a: self.events.append(("finished", time.monotonic(), a)))
        self.ctl.dial_blocked.connect(lambda reason: self.events.append(("blocked", time.monotonic(), reason)))

    # -- keys ------------------------------------------------------------------------
    def activate(self) -> None:
        if self.ws.dialpad_dialog.isVisible():
            self.ws.dialpad_dialog.hide()
        self.window.raise_()
        self.window.activateWindow()
        QTest.qWait(1)

    def key(self, key: Qt.Key, mod: Qt.KeyboardModifier = NO_MOD, widget: QWidget | None = None) -> None:
        if widget is None:
            self.activate()
            widget = self.window.focusWidget() or self.window
        QTest.keyClick(widget, key, mod)

    def _since(self, mark: int, kind: str) -> list[tuple[str, float, Any]]:
        return [e for e in self.events[mark:] if e[0] == kind]

    # -- one call ----------------------------------------------------------------------
    def call(self, talk: float, question: str = "", note: str = "", typed_callback: bool = True) -> dict:
        ctl, ws = self.ctl, self.ws
        wait_until(lambda: ctl.phone is not None and ctl.active is None and not ws.wrapup.isVisible(), 20,
                   "the phone ready and no call")
        mark = len(self.events)
        self.key(Qt.Key.Key_F5)
        placed = wait_until(lambda: ctl.active is not None or self._since(mark, "blocked"), 10, "a call placed")
        if ctl.active is None:
            reason = self._since(mark, "blocked")[-1][2]
            return {"placed": False, "notice": ws.strip.notice.text(), "reason": str(reason)}
        del placed
        call_id = ctl.active.call_id
        lead_id = ctl.active.lead_id
        masked = self.window.call_bar.number.text()
        digit = re.sub(r"\D", "", masked)[-1:]
        wait_until(lambda: self._since(mark, "answered") or self._since(mark, "finished"), 45,
                   "the call answered or ended")
        answered = bool(self._since(mark, "answered"))
        asked = ""
        hung_up_by = "customer"
        if answered:
            t_answer = self._since(mark, "answered")[0][1]
            if question and ctl.active is not None:
                asked = self._ask_question(question)
            end_at = t_answer + talk
            while time.monotonic() < end_at and not self._since(mark, "finished"):
                QTest.qWait(20)
            if not self._since(mark, "finished"):
                hung_up_by = "agent"
                self.key(Qt.Key.Key_F8)
        wait_until(lambda: self._since(mark, "finished"), 20, "the call's end")
        t_end = self._since(mark, "finished")[0][1]
        talk_measured = (t_end - self._since(mark, "answered")[0][1]) if answered else 0.0
        wait_until(lambda: ws.wrapup.isVisible(), 10, "the wrap-up panel")
        status = getattr(self.ws.runtime.wrapup.draft, "sip_status", None)
        expected = answers(digit) == answered
        # The code that fits what happened: the persona's when the line behaved as planned, else
        # the one the call's outcome allows (a dead customer line gives "no response").
        code = code_for_digit(digit) if expected else fallback_code(answered, status)
        chosen = self._wrapup(code, note, typed_callback)
        return {"placed": True, "call_id": call_id, "lead_id": lead_id, "masked": masked, "digit": digit,
                "answered": answered, "talk": round(talk_measured, 3), "code": code, "hung_up_by": hung_up_by,
                "question": asked, "sip_status": status, "as_planned": expected, **chosen}

    def _ask_question(self, text: str) -> str:
        """The 记录新问题 button in the script panel; its dialog gets the question typed in."""
        done: list[str] = []

        def fill() -> None:
            dialog = QApplication.activeModalWidget()
            if not isinstance(dialog, QInputDialog):
                QTimer.singleShot(50, fill)
                return
            edit = dialog.findChild(QPlainTextEdit)
            edit.setFocus()
            type_text(edit, text)
            done.append(edit.toPlainText())
            dialog.accept()

        QTimer.singleShot(50, fill)
        QTest.mouseClick(self.window.script.question_button, Qt.MouseButton.LeftButton)
        return done[0] if done else ""

    def _button_digit(self, code: str) -> str:
        button = self.ws.wrapup.findChild(QWidget, f"code_{code}")
        if button is None or not button.isVisible():
            offered = [b.objectName() for b in self.ws.wrapup.findChildren(QWidget) if b.objectName().startswith("code_")]
            raise DriverError(f"the wrap-up panel does not offer {code} (offers {offered})")
        m = re.match(r"\s*(\d)\b", button.text())
        if not m:
            raise DriverError(f"the button for {code} shows no digit: {button.text()!r}")
        return m.group(1)

    def _wrapup(self, code: str, note: str, typed_callback: bool) -> dict:
        panel = self.ws.wrapup
        service = self.ws.runtime.wrapup
        digit = self._button_digit(code)
        QTest.keyClick(panel, getattr(Qt.Key, f"Key_{digit}"))
        wait_until(lambda: service.draft is not None and service.draft.code == code, 5, f"{code} chosen")
        callback = None
        rule = service.rule(code)
        if rule is not None and rule.requires_callback:
            if typed_callback:
                when = (dt.datetime.now() + dt.timedelta(days=1)).replace(hour=15, minute=30, second=0,
                                                                          microsecond=0)
                edit = panel.callback_edit
                edit.setFocus()
                QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
                QTest.keyClicks(edit, when.strftime("%Y-%m-%d %H:%M"))
                QTest.qWait(30)
            else:
                QTest.mouseClick(panel.tomorrow, Qt.MouseButton.LeftButton)
                when = (dt.datetime.now() + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                                          microsecond=0)
            expected = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
            got = service.draft.callback_at
            got = got.astimezone(dt.timezone.utc).replace(tzinfo=None) if got and got.tzinfo else got
            if got != expected:
                # The typed time did not take: the quick button is the agent's fallback.
                QTest.mouseClick(panel.tomorrow, Qt.MouseButton.LeftButton)
                typed_callback = False
            callback = str(service.draft.callback_at)
        if note and rule is not None and rule.requires_note:
            panel.note_edit.setFocus()
            type_text(panel.note_edit, note)
        QTest.keyClick(panel, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        try:
            wait_until(lambda: not panel.isVisible(), 5, "the wrap-up saved")
        except DriverError as exc:
            raise DriverError(f"{exc}: the panel says {panel.problem_label.text()!r}") from None
        return {"callback": callback, "callback_typed": bool(callback) and typed_callback,
                "note": note if rule is not None and rule.requires_note else "",
                "button_digit": digit}

    # -- checks ------------------------------------------------------------------------
    def check_dnc(self, numbers: list[str]) -> list[dict]:
        out = []
        for number in numbers:
            wait_until(lambda: self.ctl.active is None and not self.ws.wrapup.isVisible(), 10, "idle")
            self.activate()
            mark = len(self.events)
            self.key(Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
            pad = self.ws.dialpad
            wait_until(lambda: self.ws.dialpad_dialog.isVisible(), 5, "the dialpad")
            pad.number_edit.clear()
            QTest.keyClicks(pad.number_edit, number)
            QTest.keyClick(pad.number_edit, Qt.Key.Key_Return)
            QTest.qWait(100)
            placed = self.ctl.active is not None
            if placed:  # must not happen: end it at once (the run fails on it anyway)
                self.key(Qt.Key.Key_F8)
            blocked = self._since(mark, "blocked")
            out.append({"number_tail": number[-4:], "blocked": bool(blocked) and not placed,
                        "rule": getattr(self.ctl.last_gate, "rule", ""), "notice": self.ws.strip.notice.text(),
                        "placed": placed})
            pad.number_edit.clear()
            self.ws.dialpad_dialog.hide()
        return out

    def kpi(self) -> dict:
        bar = self.ws.strip.kpi
        texts = {"calls": bar.calls.value.text(), "talk": bar.talk.value.text(),
                 "connected": bar.connect_rate.text(), "conversions": bar.conversions.text()}
        return {"texts": texts, "calls_made": ints(texts["calls"])[0], "talk_seconds": seconds_of(texts["talk"]),
                "connected": ints(texts["connected"])[0], "conversions": ints(texts["conversions"])[-1],
                "sync": self.window.status.sync.text() if hasattr(self.window.status, "sync") else ""}


def login_if_asked(app: Any, user: str, password: str) -> bool:
    """The login dialog, typed into like a person would; False when the app started without it."""
    # A first start shows the dialog before any lead; a restart (cached identity, session in the
    # keyring) shows leads without it.
    deadline = time.monotonic() + 60
    while True:
        dialog = getattr(app, "login_dialog", None)
        if dialog is not None and dialog.isVisible():
            break
        if app.window.model.rowCount() > 0:
            return False
        if time.monotonic() > deadline:
            raise DriverError("neither the login dialog nor any lead after 60 s")
        QTest.qWait(50)
    dialog.user.clear()
    QTest.keyClicks(dialog.user, user)
    dialog.password.clear()
    QTest.keyClicks(dialog.password, password)
    ok = []
    app.sync.login_finished.connect(lambda success, *_: ok.append(success))
    QTest.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    wait_until(lambda: ok, 30, "the login")
    if not ok[-1]:
        raise DriverError(f"login refused: {dialog.error.text()}")
    wait_until(lambda: not dialog.isVisible(), 10, "the login dialog closed")
    return True


def private_translations() -> None:
    """Load the .qm files from the run's own copy (FLOORDAY_I18N_DIR). QTranslator maps the file
    into memory; other work on this checkout rebuilds resources/i18n/*.qm in place, which changed
    the texts of running apps (English call-bar texts) and crashed them (SIGSEGV) mid-run."""
    private = os.environ.get("FLOORDAY_I18N_DIR")
    if not private:
        return
    from pathlib import Path

    import app.i18n as i18n
    from app.resource_files import resource as shipped

    def resource(*parts: str) -> Path:
        if parts and parts[0] == "i18n" and (Path(private) / parts[-1]).exists():
            return Path(private) / parts[-1]
        return shipped(*parts)

    i18n.resource = resource


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--role", default="tsr")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    private_translations()
    from app.application import Application

    commands: queue.Queue[dict | None] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line:
                try:
                    commands.put(json.loads(line))
                except ValueError:
                    say("error", error=f"bad command {line[:80]!r}")
        commands.put(None)

    threading.Thread(target=read_stdin, name="floorday-stdin", daemon=True).start()
    app = Application(argparse.Namespace(data_dir=args.data, number=None, lang="zh_CN", command=None))
    if app.start() is not None:
        say("error", error="the app did not start (another instance?)")
        return 2
    try:
        wait_until(lambda: app.workspace is not None and app.sync is not None, 60, "the workspace and sync")
        logged_in = login_if_asked(app, args.user, args.password)
        wait_until(lambda: app.window.model.rowCount() > 0, 60, "leads in the list")
        driver = Driver(app)
        wait_until(lambda: driver.ctl.phone is not None, 30, "the softphone")
        say("ready", pid=os.getpid(), logged_in=logged_in, leads=app.window.model.rowCount(),
            kpi=driver.kpi())
    except Exception as exc:
        say("error", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-2000:])
        app._shutdown()
        return 3
    code = 0
    while True:
        try:
            command = commands.get_nowait()
        except queue.Empty:
            QTest.qWait(30)
            continue
        if command is None or command.get("cmd") == "quit":
            break
        cmd = command.pop("cmd", "")
        try:
            if cmd == "call":
                say("call", **driver.call(**command))
            elif cmd == "check_dnc":
                say("dnc", results=driver.check_dnc(command["numbers"]))
            elif cmd == "kpi":
                say("kpi", **driver.kpi())
            elif cmd == "wait":
                QTest.qWait(int(command.get("ms", 100)))
                say("waited")
            else:
                say("error", error=f"unknown command {cmd!r}")
        except Exception as exc:
            say("error", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-2000:])
    app.window.close()
    app.qt_app.quit()
    app._shutdown()
    say("bye")
    return code


if __name__ == "__main__":
    sys.exit(main())
