"""The question inbox (问题收集箱): the questions agents recorded because the script had no
answer (记录新问题), grouped by the server by campaign and similar wording, each with the
agents, leads and calls they came from. The TL writes the answer; posting it makes a new
script version with the entry under 异议处理 (marked 新 in every agent's script panel after
their next pull) and marks the group's questions answered.

Groups are a table model (one row per group); the selected group's questions a second one.
Keys: Ctrl+R refresh, Ctrl+Return post the answer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.tl_service import TeamLeadService
from core.messages import Message
from ui import messages
from ui.supervisor.tables import RowsModel, list_table, local_time

CONTEXT = "QuestionInbox"

GROUP_COLUMNS = (QT_TRANSLATE_NOOP("QuestionInbox", "Question"), QT_TRANSLATE_NOOP("QuestionInbox", "Asked"),
                 QT_TRANSLATE_NOOP("QuestionInbox", "Agents"), QT_TRANSLATE_NOOP("QuestionInbox", "Status"))
QUESTION_COLUMNS = (QT_TRANSLATE_NOOP("QuestionInbox", "Time"), QT_TRANSLATE_NOOP("QuestionInbox", "Agent"),
                    QT_TRANSLATE_NOOP("QuestionInbox", "Customer"), QT_TRANSLATE_NOOP("QuestionInbox", "Call"),
                    QT_TRANSLATE_NOOP("QuestionInbox", "Script section"),
                    QT_TRANSLATE_NOOP("QuestionInbox", "Wording"))


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)




class _Table(RowsModel):
    """Each subclass says what a cell shows (``text``) and which columns hold numbers."""

    RIGHT_ALIGNED: tuple[int, ...] = ()

    def __init__(self, columns: tuple[str, ...], parent: Any = None) -> None:
        super().__init__(columns, CONTEXT, parent)

    def text(self, row: dict[str, Any], col: int) -> str:
        return ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and row.get("answered"):
            return QColor("#888888")
        return None


class GroupModel(_Table):
    RIGHT_ALIGNED = (1, 2)  # how often asked, by how many agents

    def __init__(self, parent: Any = None) -> None:
        super().__init__(GROUP_COLUMNS, parent)

    def text(self, row: dict[str, Any], col: int) -> str:
        if col == 0:
            return row.get("text", "")
        if col == 1:
            return str(row.get("count", 0))
        if col == 2:
            return str(row.get("agents", 0))
        return QCoreApplication.translate("QuestionInbox", "Answered") if row.get("answered") else QCoreApplication.translate("QuestionInbox", "Open")


class QuestionModel(_Table):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(QUESTION_COLUMNS, parent)

    def text(self, row: dict[str, Any], col: int) -> str:
        return [local_time(row.get("occurred_at")), row.get("agent_name") or row.get("username") or "",
                row.get("lead_name") or "", row.get("call_id") or "", row.get("script_section") or "",
                row.get("text") or ""][col]


class QuestionInbox(QDialog):
    def __init__(self, service: TeamLeadService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("questionInbox")
        self.service = service
        self.last_error: Message | None = None
        self.last_answer: dict[str, Any] | None = None

        self.status_filter = QComboBox(objectName="inboxStatus")
        self.refresh_button = QPushButton(objectName="inboxRefresh")
        top = QHBoxLayout()
        top.addWidget(self.status_filter)
        top.addStretch(1)
        top.addWidget(self.refresh_button)

        self.groups = GroupModel(self)
        self.group_view = list_table(self.groups, "inboxGroups")
        self.questions = QuestionModel(self)
        self.question_view = list_table(self.questions, "inboxQuestions")

        self.title_label = QLabel()
        self.title_edit = QLineEdit(objectName="inboxTitle")
        self.answer_label = QLabel()
        self.answer_edit = QPlainTextEdit(objectName="inboxAnswer")
        self.answer_edit.setTabChangesFocus(True)
        self.post_button = QPushButton(objectName="inboxPost")
        self.post_button.setEnabled(False)
        self.note = QLabel(objectName="inboxNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #666;")

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.question_view, 2)
        rl.addWidget(self.title_label)
        rl.addWidget(self.title_edit)
        rl.addWidget(self.answer_label)
        rl.addWidget(self.answer_edit, 1)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.post_button)
        rl.addLayout(row)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.group_view)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.resize(1000, 600)

        self.status_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.group_view.selectionModel().currentRowChanged.connect(self._group_selected)
        self.post_button.clicked.connect(self.post)
        self.title_edit.textChanged.connect(self._update_post)
        self.answer_edit.textChanged.connect(self._update_post)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.refresh)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.post)
        service.questions_loaded.connect(self._on_groups)
        service.question_answered.connect(self._on_answered)
        service.failed.connect(self._on_failed)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("QuestionInbox", "Question inbox"))
        current = self.status_filter.currentIndex()
        self.status_filter.blockSignals(True)
        self.status_filter.clear()
        for key, text in (("open", QCoreApplication.translate("QuestionInbox", "Open")), ("answered", QCoreApplication.translate("QuestionInbox", "Answered")), ("all", QCoreApplication.translate("QuestionInbox", "All"))):
            self.status_filter.addItem(text, key)
        self.status_filter.setCurrentIndex(max(0, current))
        self.status_filter.blockSignals(False)
        self.refresh_button.setText(QCoreApplication.translate("QuestionInbox", "Refresh"))
        self.refresh_button.setToolTip("Ctrl+R")
        self.title_label.setText(QCoreApplication.translate("QuestionInbox", "Question (the heading in the script)"))
        self.answer_label.setText(QCoreApplication.translate("QuestionInbox", "Answer"))
        self.post_button.setText(QCoreApplication.translate("QuestionInbox", "Post answer"))
        self.post_button.setToolTip(QCoreApplication.translate("QuestionInbox", "Adds it to the campaign's script under 异议处理; agents get it with their next sync")
                                    + " (Ctrl+Enter)")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def refresh(self) -> None:
        self.service.load_questions(self.status_filter.currentData() or "open")

    def _on_groups(self, groups: list[dict[str, Any]]) -> None:
        key = (self.current_group() or {}).get("key")
        self.groups.set_rows(groups)
        row = next((i for i, g in enumerate(groups) if g.get("key") == key), 0 if groups else -1)
        if row >= 0:
            self.group_view.selectRow(row)
        else:
            self.questions.set_rows([])
            self._update_post()

    def current_group(self) -> dict[str, Any] | None:
        i = self.group_view.currentIndex()
        return self.groups.rows[i.row()] if i.isValid() and i.row() < len(self.groups.rows) else None

    def _group_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        g = self.current_group()
        self.questions.set_rows((g or {}).get("questions", []))
        if g is not None:
            self.title_edit.setText(g.get("text", ""))
            answered = [q for q in g.get("questions", []) if q.get("answered")]
            if answered and answered[0].get("script_version"):  # else the last action's note stays
                self.note.setText(QCoreApplication.translate("QuestionInbox", "Answered in script version %1")
                                  .replace("%1", str(answered[0].get("script_version"))))
        self._update_post()

    def _update_post(self, *_a: Any) -> None:
        g = self.current_group()
        self.post_button.setEnabled(bool(g and not g.get("answered") and self.title_edit.text().strip()
                                         and self.answer_edit.toPlainText().strip()))

    def post(self) -> None:
        g = self.current_group()
        if g is None or not self.post_button.isEnabled():
            return
        ids = [q["id"] for q in g.get("questions", []) if not q.get("answered")]
        self.post_button.setEnabled(False)
        self.service.answer_questions(g["campaign_id"], ids, self.title_edit.text().strip(),
                                      self.answer_edit.toPlainText().strip())

    def _on_answered(self, result: dict[str, Any]) -> None:
        self.last_answer = result
        self.note.setText(QCoreApplication.translate("QuestionInbox", "Posted: script version %1; agents see it marked 新 after their next sync")
                          .replace("%1", str(result.get("version", ""))))
        self.answer_edit.clear()
        self.refresh()

    def _on_failed(self, message: Message) -> None:
        self.last_error = message
        self.note.setText(messages.text(message))
        self._update_post()
