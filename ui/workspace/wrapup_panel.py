"""The wrap-up panel (话后处理): big code buttons, callback time, note, ACW timer.

Keyboard: each code has one number, its place in the campaign's full list
(core.wrapup.code_numbers), whatever the call's outcome: 1–9 and 0 pick the
first ten, 11, 12 … are typed as two digits ("1" then the second digit within
0.8 s). Codes that cannot be true for the call's outcome (core.wrapup.fits:
无人接听 after an answered call, 成交 after one that never connected) are not
offered; "Other results…" shows them greyed, and choosing one asks for a reason
(the audited override, sent with the disposition). Ctrl+Enter saves, Tab moves
through the fields. Digits typed into the note go to the note, not to the code
buttons.

The panel edits the draft only through :class:`app.workspace.wrapup.WrapupService`
and shows what it says; it never decides whether a save is allowed.
"""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.workspace.wrapup import WrapupService
from core.kpi import format_duration
from core.messages import Message
from core.wrapup import CodeRule, SavedDisposition, WrapupDraft, call_result, code_numbers
from ui import messages

_NUMBER_KEYS = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5,
                Qt.Key.Key_6, Qt.Key.Key_7, Qt.Key.Key_8, Qt.Key.Key_9, Qt.Key.Key_0]
#: "1" then a second digit within this time types 10–19 (campaigns with more than ten codes).
TWO_DIGIT_S = 0.8
_FIT_STYLE = "QPushButton:checked { background: #2e86de; color: white; font-weight: bold; }"
_OTHER_STYLE = ("QPushButton { color: #8a8a8a; background: #f0f0f0; border: 1px dashed #b0b0b0; }"
                "QPushButton:checked { background: #e67e22; color: white; font-weight: bold; }")


def key_label(number: int) -> str:
    """What the button shows for a code's number (10 is typed as 0)."""
    return "0" if number == 10 else str(number)


class WrapupPanel(QWidget):
    saved = Signal(object)  # SavedDisposition, after the service committed it
    painted = Signal()  # the first frame after the panel appeared (the agent sees it)

    def __init__(self, service: WrapupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wrapupPanel")
        self._service = service
        self._buttons: dict[str, QPushButton] = {}
        self._order: list[CodeRule] = []  # the campaign's full list: code n is _order[n - 1]
        self._numbers: dict[str, int] = {}
        self._last_one = 0.0  # when "1" was typed (the first digit of 10–19)
        self._before_one: str | None = None  # the code chosen before that "1"
        self._syncing = False
        self._built_for: tuple | None = None
        self._announce_paint = False

        self.title = QLabel()
        self.title.setObjectName("wrapupTitle")
        self.title.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.acw_label = QLabel("00:00")
        self.acw_label.setObjectName("acwTimer")
        self.result_label = QLabel()
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.result_label, 1)
        self.acw_caption = QLabel()
        head.addWidget(self.acw_caption)
        head.addWidget(self.acw_label)

        self.codes_box = QWidget()
        self.codes_grid = QGridLayout(self.codes_box)
        self.codes_grid.setSpacing(6)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        # Codes that do not fit the call's outcome: hidden until asked for, then greyed, and
        # choosing one needs a reason (the override travels with the disposition event).
        self.other_toggle = QPushButton()
        self.other_toggle.setObjectName("wrapupOtherResults")
        self.other_toggle.setCheckable(True)
        self.other_toggle.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.other_toggle.toggled.connect(self._show_others)
        self.others_box = QWidget()
        self.others_box.setObjectName("wrapupOtherCodes")
        self.others_grid = QGridLayout(self.others_box)
        self.others_grid.setSpacing(6)
        self.others_grid.setContentsMargins(0, 0, 0, 0)
        self.others_box.hide()
        self.override_label = QLabel()
        self.override_edit = QLineEdit()
        self.override_edit.setObjectName("wrapupOverrideReason")
        self.override_edit.textChanged.connect(self._on_override_edited)
        ov_row = QHBoxLayout()
        ov_row.setContentsMargins(0, 0, 0, 0)
        ov_row.addWidget(self.override_label)
        ov_row.addWidget(self.override_edit, 1)
        self.override_row = QWidget()
        self.override_row.setLayout(ov_row)
        self.override_row.hide()

        self.callback_label = QLabel()
        self.callback_edit = QDateTimeEdit()
        self.callback_edit.setObjectName("callbackEdit")
        self.callback_edit.setCalendarPopup(True)
        self.callback_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.callback_edit.dateTimeChanged.connect(self._on_callback_edited)
        self.plus_hour = QPushButton()
        self.plus_hour.clicked.connect(lambda: self._quick_callback(hours=1))
        self.tomorrow = QPushButton()
        self.tomorrow.clicked.connect(lambda: self._quick_callback(tomorrow=True))
        cb_row = QHBoxLayout()
        cb_row.addWidget(self.callback_label)
        cb_row.addWidget(self.callback_edit, 1)
        cb_row.addWidget(self.plus_hour)
        cb_row.addWidget(self.tomorrow)
        self.callback_row = QWidget()
        self.callback_row.setLayout(cb_row)
        cb_row.setContentsMargins(0, 0, 0, 0)

        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("wrapupNote")
        self.note_edit.setMaximumHeight(90)
        self.note_edit.textChanged.connect(self._on_note_edited)
        # The note is persisted to the draft file after a short pause, not per keystroke.
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.setInterval(300)
        self._note_timer.timeout.connect(self._push_note)

        self.problem_label = QLabel()
        self.problem_label.setObjectName("wrapupProblem")
        self.problem_label.setStyleSheet("color: #c0392b;")
        self.save_button = QPushButton()
        self.save_button.setObjectName("wrapupSave")
        self.save_button.setMinimumHeight(40)
        self.save_button.clicked.connect(self.save)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.codes_box)
        layout.addWidget(self.other_toggle)
        layout.addWidget(self.others_box)
        layout.addWidget(self.override_row)
        layout.addWidget(self.callback_row)
        layout.addWidget(self.note_edit)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.save_button)

        self._acw_timer = QTimer(self)
        self._acw_timer.setInterval(1000)
        self._acw_timer.timeout.connect(self._refresh_acw)

        service.started.connect(self.show_draft)
        service.changed.connect(self._on_changed)
        service.save_failed.connect(self._on_save_failed)
        service.saved.connect(self._on_saved)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._save_keys: list[QKeySequence] = []
        self.set_save_keys(["Ctrl+Return", "Ctrl+Enter"])
        # Save works from anywhere inside the panel: the note and the time field included.
        for child in (self.note_edit, self.callback_edit, self.save_button, self.override_edit):
            child.installEventFilter(self)
        self.retranslate()
        self.hide()

    def set_save_keys(self, keys: list[str]) -> None:
        self._save_keys = [QKeySequence(k) for k in keys if k]

    def _is_save_key(self, event: QKeyEvent) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(pressed.matches(k) == QKeySequence.SequenceMatch.ExactMatch for k in self._save_keys)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and self._is_save_key(event):
            self.save()
            return True
        return super().eventFilter(watched, event)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Wrap-up"))
        self.acw_label.setToolTip(self.tr("After-call work time"))
        self.acw_caption.setText(self.tr("ACW"))
        self.callback_label.setText(self.tr("Callback at"))
        self.plus_hour.setText(self.tr("+1 hour"))
        self.tomorrow.setText(self.tr("Tomorrow 10:00"))
        self.save_button.setText(self.tr("Save and continue (Ctrl+Enter)"))
        self.other_toggle.setText(self.tr("Other results…"))
        self.other_toggle.setToolTip(self.tr("Results that do not fit this call's outcome; recording one needs a reason"))
        self.override_label.setText(self.tr("Why this result anyway?"))
        self.override_edit.setPlaceholderText(self.tr("Reason (required, kept with the result)"))
        draft = self._service.draft
        if draft is not None and self.isVisible():
            self._show_result(draft)
            self._on_changed(draft)
        else:
            self.note_edit.setPlaceholderText(self.tr("Note (what the customer said, next step)"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- showing -----------------------------------------------------------------
    def show_draft(self, draft: WrapupDraft) -> None:
        key = (self._service.rules, draft.answered, bool(draft.supersedes))
        if key != self._built_for:
            # Rebuilt only when the campaign's codes or the call's outcome change.
            self._build_buttons(self._service.rules)
            self._built_for = key
        self._last_one = 0.0  # a new wrap-up: no half-typed number
        self._syncing = True
        self.note_edit.setPlainText(draft.note)
        self.override_edit.setText(draft.override_reason)
        self._syncing = False
        # Open on the codes that fit; the others only when the (restored) draft holds one.
        self.other_toggle.setChecked(bool(draft.code) and not self._service.fits(draft.code))
        self._show_result(draft)
        self.problem_label.clear()
        self._on_changed(draft)
        self._refresh_acw()
        self._acw_timer.start()
        self._announce_paint = True
        self.show()
        self.raise_()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_result(self, draft: WrapupDraft) -> None:
        if draft.supersedes:
            self.result_label.setText(self.tr("Correction of an earlier result"))
        elif draft.answered:
            self.result_label.setText(self.tr("Connected, talked %1").replace("%1", format_duration(draft.talk_seconds)))
        else:
            self.result_label.setText(messages.text(call_result(False, draft.sip_status)))

    def _build_buttons(self, rules: tuple[CodeRule, ...]) -> None:
        for button in self._buttons.values():
            self.group.removeButton(button)
            button.deleteLater()
        self._buttons.clear()
        self._order = list(rules)
        self._numbers = code_numbers(rules)
        columns = 4
        placed = {True: 0, False: 0}
        for rule in self._order:
            fit = self._service.fits(rule.code)
            button = QPushButton(f"{key_label(self._numbers[rule.code])}  {rule.label}")
            button.setObjectName(f"code_{rule.code}")
            button.setProperty("fitsOutcome", fit)
            button.setCheckable(True)
            button.setMinimumHeight(44 if fit else 34)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.setStyleSheet(_FIT_STYLE if fit else _OTHER_STYLE)
            if not fit:
                button.setToolTip(self.tr("Does not fit this call's outcome; needs a reason"))
            button.clicked.connect(lambda _=False, code=rule.code: self.choose(code))
            self.group.addButton(button)
            i = placed[fit]
            placed[fit] += 1
            (self.codes_grid if fit else self.others_grid).addWidget(button, i // columns, i % columns)
            self._buttons[rule.code] = button
        self.other_toggle.setVisible(placed[False] > 0)

    def offered(self) -> list[str]:
        """The codes the agent can pick right now (shown and enabled), in list order."""
        return [r.code for r in self._order
                if self._service.fits(r.code) or self.other_toggle.isChecked()]

    def number_of(self, code: str) -> int | None:
        """The code's number (the digit that picks it), the same whatever the outcome."""
        return self._numbers.get(code)

    def _show_others(self, on: bool) -> None:
        self._last_one = 0.0  # only consecutive digit keys make a two-digit number
        self.others_box.setVisible(on)
        draft = self._service.draft
        if not on and draft is not None and draft.code and not self._service.fits(draft.code):
            # Back to the codes that fit: the override is withdrawn, the suggestion (if any) returns.
            self._service.set_code(draft.suggested_code if self._service.fits(draft.suggested_code) else None)

    def _on_changed(self, draft: WrapupDraft) -> None:
        for code, button in self._buttons.items():
            button.setChecked(code == draft.code)
        rule = self._service.rule(draft.code)
        needs_callback = bool(rule and rule.requires_callback)
        self.callback_row.setVisible(needs_callback)
        if needs_callback:
            self._syncing = True
            when = draft.callback_at or _default_callback()
            self.callback_edit.setDateTime(QDateTime(_to_local_naive(when)))
            self._syncing = False
            if draft.callback_at is None:
                self._service.set_callback(_from_local_naive(self.callback_edit.dateTime().toPython()))
        overriding = draft.code is not None and not self._service.fits(draft.code)
        self.override_row.setVisible(overriding)
        placeholder = self.tr("Note (required)") if rule and rule.requires_note else self.tr(
            "Note (what the customer said, next step)")
        self.note_edit.setPlaceholderText(placeholder)
        self.problem_label.setText(messages.join(self._service.problems()) if draft.code else "")

    # -- editing -----------------------------------------------------------------
    def choose(self, code: str) -> None:
        if not self._service.fits(code) and not self.other_toggle.isChecked():
            return  # not offered: "Other results…" first
        self._service.set_code(code)
        rule = self._service.rule(code)
        if not self._service.fits(code) and not self.override_edit.text().strip():
            self.override_edit.setFocus()
        elif rule and rule.requires_callback:
            self.callback_edit.setFocus()
        elif rule and rule.requires_note and not self.note_edit.toPlainText().strip():
            self.note_edit.setFocus()

    def choose_number(self, number: int) -> bool:
        """Pick the code with this number (1-based, as shown); False when none is offered."""
        if 1 <= number <= len(self._order):
            code = self._order[number - 1].code
            if code in self.offered():
                self.choose(code)
                return True
        return False

    def type_digit(self, digit: int) -> bool:
        """A digit key: 1–9, 0 = 10; "1" then another digit quickly = 10–19."""
        now = time.monotonic()
        if self._last_one and now - self._last_one <= TWO_DIGIT_S and 10 + digit <= len(self._order):
            # "1" + this digit is a code's number: that code, not "1" then this digit.
            self._last_one = 0.0
            if not self.choose_number(10 + digit):
                self._service.set_code(self._before_one)  # not offered: undo what the "1" picked
            return True
        draft = self._service.draft
        self._before_one = draft.code if draft is not None else None
        self._last_one = now if digit == 1 else 0.0
        return self.choose_number(10 if digit == 0 else digit)

    def save(self) -> SavedDisposition | None:
        self._push_note()
        return self._service.save()

    def _on_save_failed(self, problem: Message) -> None:
        self.problem_label.setText(messages.text(problem))

    def _on_saved(self, result: SavedDisposition) -> None:
        self._acw_timer.stop()
        self.problem_label.clear()
        self.hide()
        self.saved.emit(result)

    def _on_override_edited(self, text: str) -> None:
        if not self._syncing:
            self._service.set_override_reason(text)

    def _on_note_edited(self) -> None:
        if not self._syncing:
            self._note_timer.start()

    def _push_note(self) -> None:
        self._note_timer.stop()
        draft = self._service.draft
        if draft is not None and draft.note != self.note_edit.toPlainText():
            self._service.set_note(self.note_edit.toPlainText())

    def _on_callback_edited(self, value: QDateTime) -> None:
        if not self._syncing:
            self._service.set_callback(_from_local_naive(value.toPython()))

    def _quick_callback(self, hours: int = 0, tomorrow: bool = False) -> None:
        local = dt.datetime.now()
        if tomorrow:
            local = (local + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        else:
            local = (local + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)
        self.callback_edit.setDateTime(QDateTime(local))

    def _refresh_acw(self) -> None:
        self.acw_label.setText(format_duration(self._service.acw_seconds()))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._announce_paint:
            self._announce_paint = False
            QTimer.singleShot(0, lambda: self.painted.emit())

    # -- keys --------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_save_key(event):
            self.save()
            return
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier and event.key() in _NUMBER_KEYS:
            if self.type_digit((_NUMBER_KEYS.index(event.key()) + 1) % 10):
                return
        super().keyPressEvent(event)


def _default_callback() -> dt.datetime:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).replace(second=0, microsecond=0)


def _to_local_naive(value: dt.datetime) -> dt.datetime:
    aware = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
    return aware.astimezone().replace(tzinfo=None)


def _from_local_naive(value: dt.datetime) -> dt.datetime:
    """QDateTimeEdit shows the workstation's local time; the draft keeps UTC."""
    return value.astimezone(dt.timezone.utc) if value.tzinfo else value.astimezone().astimezone(dt.timezone.utc)
