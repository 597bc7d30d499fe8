"""The wrap-up panel (话后处理): big code buttons, callback time, note, ACW timer.

Keyboard: 1–9 and 0 pick a code (the group matching the call's result is
numbered first), Ctrl+Enter saves, Tab moves through the fields. Digits typed
into the note go to the note, not to the code buttons.

The panel edits the draft only through :class:`app.workspace.wrapup.WrapupService`
and shows what it says; it never decides whether a save is allowed.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.workspace.qt_emit import emit
from app.workspace.wrapup import WrapupService
from core.kpi import format_duration
from core.wrapup import CodeRule, SavedDisposition, WrapupDraft

_NUMBER_KEYS = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5,
                Qt.Key.Key_6, Qt.Key.Key_7, Qt.Key.Key_8, Qt.Key.Key_9, Qt.Key.Key_0]
_NUMBER_TEXT = "1234567890"


def ordered_codes(rules: tuple[CodeRule, ...], answered: bool) -> list[CodeRule]:
    """The group matching the call's result first, so its codes get the low numbers."""
    first = "connected" if answered else "not_connected"
    return sorted(rules, key=lambda r: (r.group != first, r.position))


class WrapupPanel(QWidget):
    saved = Signal(object)  # SavedDisposition, after the service committed it
    painted = Signal()  # the first frame after the panel appeared (the agent sees it)

    def __init__(self, service: WrapupService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wrapupPanel")
        self._service = service
        self._buttons: dict[str, QPushButton] = {}
        self._order: list[CodeRule] = []
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
        layout.addWidget(self.callback_row)
        layout.addWidget(self.note_edit)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.save_button)

        self._acw_timer = QTimer(self)
        self._acw_timer.setInterval(1000)
        self._acw_timer.timeout.connect(self._refresh_acw)

        service.started.connect(self.show_draft)
        service.changed.connect(self._on_changed)
        service.save_failed.connect(self.problem_label.setText)
        service.saved.connect(self._on_saved)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._save_keys: list[QKeySequence] = []
        self.set_save_keys(["Ctrl+Return", "Ctrl+Enter"])
        # Save works from anywhere inside the panel: the note and the time field included.
        for child in (self.note_edit, self.callback_edit, self.save_button):
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
        key = (self._service.rules, draft.answered)
        if key != self._built_for:
            # Rebuilt only when the campaign's codes or the call's group change.
            self._build_buttons(self._service.rules, draft.answered)
            self._built_for = key
        self._syncing = True
        self.note_edit.setPlainText(draft.note)
        self._syncing = False
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
            status = str(draft.sip_status) if draft.sip_status else "—"
            self.result_label.setText(self.tr("Not connected (SIP %1)").replace("%1", status))

    def _build_buttons(self, rules: tuple[CodeRule, ...], answered: bool) -> None:
        for button in self._buttons.values():
            self.group.removeButton(button)
            button.deleteLater()
        self._buttons.clear()
        self._order = ordered_codes(rules, answered)
        columns = 4
        for i, rule in enumerate(self._order):
            number = _NUMBER_TEXT[i] if i < len(_NUMBER_TEXT) else ""
            text = f"{number}  {rule.label}" if number else rule.label
            button = QPushButton(text)
            button.setObjectName(f"code_{rule.code}")
            button.setCheckable(True)
            button.setMinimumHeight(44)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.setStyleSheet("QPushButton:checked { background: #2e86de; color: white; font-weight: bold; }")
            button.clicked.connect(lambda _=False, code=rule.code: self.choose(code))
            self.group.addButton(button)
            self.codes_grid.addWidget(button, i // columns, i % columns)
            self._buttons[rule.code] = button

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
        placeholder = self.tr("Note (required)") if rule and rule.requires_note else self.tr(
            "Note (what the customer said, next step)")
        self.note_edit.setPlaceholderText(placeholder)
        self.problem_label.setText("；".join(self._service.problems()) if draft.code else "")

    # -- editing -----------------------------------------------------------------
    def choose(self, code: str) -> None:
        self._service.set_code(code)
        rule = self._service.rule(code)
        if rule and rule.requires_callback:
            self.callback_edit.setFocus()
        elif rule and rule.requires_note and not self.note_edit.toPlainText().strip():
            self.note_edit.setFocus()

    def choose_number(self, index: int) -> bool:
        if 0 <= index < len(self._order):
            self.choose(self._order[index].code)
            return True
        return False

    def save(self) -> SavedDisposition | None:
        self._push_note()
        return self._service.save()

    def _on_saved(self, result: SavedDisposition) -> None:
        self._acw_timer.stop()
        self.problem_label.clear()
        self.hide()
        emit(self.saved, result)

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
            QTimer.singleShot(0, lambda: emit(self.painted))

    # -- keys --------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_save_key(event):
            self.save()
            return
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier and event.key() in _NUMBER_KEYS:
            if self.choose_number(_NUMBER_KEYS.index(event.key())):
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
