"""The script panel (话术): the campaign script with the customer's details in its
{placeholders}, a section jumper, a search over the objection answers (异议处理)
and "record a new question".

The one script panel of the window. Parsing, placeholder filling and the
objection search are ``core.script_doc``'s; this widget only shows the result.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core import script_doc
from core.questions import marked_new
from core.script_doc import ScriptDoc

# The lead fields the placeholders use (read from the customer card's detail object).
LEAD_FIELDS = ("name", "gender", "city", "plate", "vehicle", "policy_expiry", "last_premium")


class ScriptPanel(QWidget):
    question_recorded = Signal(str, str)  # text, section title

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scriptPanel")
        self.doc: ScriptDoc | None = None
        self.values: dict[str, str] = {}
        self._title = ""
        self._markdown = ""
        self._lead: dict[str, object] = {}
        self._agent: dict[str, object] = {}
        self.heading = QLabel(objectName="panelHeading")
        self.section_combo = QComboBox()
        self.section_combo.setObjectName("scriptSections")
        self.section_combo.activated.connect(self.jump_to)
        self.question_button = QPushButton()
        self.question_button.setObjectName("recordQuestion")
        self.question_button.clicked.connect(self.ask_question)
        top = QHBoxLayout()
        top.addWidget(self.section_combo, 1)
        top.addWidget(self.question_button)
        self.browser = QTextBrowser()
        self.browser.setObjectName("scriptText")
        self.browser.setOpenLinks(False)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("objectionSearch")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.search)
        self.results = QListWidget()
        self.results.setObjectName("objectionResults")
        self.results.currentItemChanged.connect(self._show_answer)
        self.answer = QTextBrowser()
        self.answer.setObjectName("objectionAnswer")
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.search_edit)
        row = QHBoxLayout()
        row.addWidget(self.results, 1)
        row.addWidget(self.answer, 2)
        lower_layout.addLayout(row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.browser)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(self.tr("Script") + (f" · {self._title}" if self._title else ""))
        self.question_button.setText(self.tr("Record new question"))
        self.search_edit.setPlaceholderText(self.tr("Search objection answers"))
        if not self._markdown:
            self.browser.setPlainText(self.tr("No script for this campaign."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- what the window and the workspace give it ----------------------------------
    def set_agent(self, agent: Mapping[str, object]) -> None:
        """The agent's name and company ({坐席姓名}, {公司名称})."""
        self._agent = dict(agent)
        self._render()

    def set_script(self, title: str, markdown: str) -> None:
        self._title, self._markdown = title, markdown or ""
        self.retranslate()
        self._render()

    def set_lead(self, detail: object | None) -> None:
        """The customer card's detail object (None: no customer selected)."""
        self._lead = {} if detail is None else {f: getattr(detail, f, None) for f in LEAD_FIELDS}
        self._render()

    def show_script(self, markdown: str | None, lead: Mapping[str, object], agent: Mapping[str, object]) -> None:
        self._markdown, self._lead, self._agent = markdown or "", dict(lead), dict(agent)
        self.retranslate()
        self._render()

    def _render(self) -> None:
        current = self.section_combo.currentIndex()
        self.doc = script_doc.parse(self._markdown, self._title)
        # Unknown placeholders stay visible in brackets so the agent fills them in speech.
        self.values = script_doc.placeholder_values(self._lead, self._agent)
        self.section_combo.clear()
        for section in self.doc.all_sections():
            indent = "    " if section.level > 1 else ""
            self.section_combo.addItem(indent + section.title + self._new_suffix(section.body))
        if 0 <= current < self.section_combo.count():
            self.section_combo.setCurrentIndex(current)
        if self._markdown:
            self.browser.setMarkdown(script_doc.fill(self.doc.markdown, self.values))
        else:
            self.browser.setPlainText(self.tr("No script for this campaign."))
        self.search(self.search_edit.text())

    # -- reading --------------------------------------------------------------------
    def current_section_title(self) -> str:
        text = self.section_combo.currentText().strip()
        suffix = self._new_suffix("<!-- new: 1970-01-01 -->", always=True)
        return text.removesuffix(suffix).strip()

    NEW_DAYS = 7  # an answer from the TL's question inbox is marked 新 this many days

    def _new_suffix(self, body: str, *, always: bool = False) -> str:
        """"  新" after an objection answer the TL added in the last NEW_DAYS days (its marker,
        core.questions.marked_new); "" otherwise."""
        import datetime as dt

        day = marked_new(body)
        if day is None or (not always and (dt.date.today() - day).days > self.NEW_DAYS):
            return ""
        return "  " + self.tr("New")

    def jump_to(self, index: int) -> None:
        if self.doc is None:
            return
        sections = self.doc.all_sections()
        if 0 <= index < len(sections):
            self.section_combo.setCurrentIndex(index)
            self.browser.scrollToAnchor("")  # reset, then find the heading text
            self.browser.moveCursor(self.browser.textCursor().MoveOperation.Start)
            self.browser.find(script_doc.fill(sections[index].title, self.values))
            self.browser.ensureCursorVisible()

    def step_section(self, delta: int) -> None:
        if self.section_combo.count():
            self.jump_to(max(0, min(self.section_combo.count() - 1, self.section_combo.currentIndex() + delta)))

    def search(self, query: str) -> None:
        self.results.clear()
        if self.doc is None:
            return
        for section in script_doc.search_objections(self.doc, query):
            item = QListWidgetItem(section.title + self._new_suffix(section.body))
            item.setData(Qt.ItemDataRole.UserRole, script_doc.fill(section.body, self.values))
            if self._new_suffix(section.body):
                item.setForeground(Qt.GlobalColor.darkRed)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        else:
            self.answer.clear()

    def _show_answer(self, item: QListWidgetItem | None) -> None:
        self.answer.setMarkdown(item.data(Qt.ItemDataRole.UserRole) if item else "")

    # -- questions the script does not answer ---------------------------------------------
    def ask_question(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self, self.tr("Record new question"), self.tr("The customer's question the script does not answer:")
        )
        if ok:
            self.record_question(text)

    def record_question(self, text: str) -> bool:
        text = text.strip()
        if not text:
            return False
        self.question_recorded.emit(text, self.current_section_title())
        return True
