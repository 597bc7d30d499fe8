"""The agent's side of coaching (我的辅导): the evaluations of their own calls, each item's
answer, comment and moment (double click → the recording plays from there), and their
answer: 确认 (acknowledge, comment optional) or 有异议 (dispute, comment required). Both are
events in the local outbox; the TL sees them in the coaching window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.coaching_service import CoachingService, Peaks, Recording
from core import coaching as rules
from core.messages import Message
from ui import messages
from ui.supervisor.coaching_view import F_AT, FormModel, Player, Waveform, clock
from ui.supervisor.tables import RowsModel, local_time

COLUMNS = (QT_TRANSLATE_NOOP("MyCoaching", "Coached"), QT_TRANSLATE_NOOP("MyCoaching", "Call"),
           QT_TRANSLATE_NOOP("MyCoaching", "Score"), QT_TRANSLATE_NOOP("MyCoaching", "Your answer"))
ACK_TEXTS = {rules.ACK_NONE: QT_TRANSLATE_NOOP("MyCoaching", "Not answered"),
             rules.ACK_ACKNOWLEDGED: QT_TRANSLATE_NOOP("MyCoaching", "Acknowledged"),
             rules.ACK_DISPUTED: QT_TRANSLATE_NOOP("MyCoaching", "Disputed")}


def _t(text: str) -> str:
    return QCoreApplication.translate("MyCoaching", text)


class EvaluationsModel(RowsModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, "MyCoaching", parent)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e, col = self.rows[index.row()], index.column()
        ack = e.get("ack_state") or rules.ACK_NONE
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return local_time(e.get("evaluated_at"))
            if col == 1:
                return e.get("call_id") or ""
            if col == 2:
                return "—" if e.get("score") is None else f"{e['score']:.0f}%"
            return _t(ACK_TEXTS.get(ack, ACK_TEXTS[rules.ACK_NONE]))
        if role == Qt.ItemDataRole.ForegroundRole and col == 3:
            return {rules.ACK_NONE: QColor("#b9770e"), rules.ACK_DISPUTED: QColor("#b03a2e")}.get(ack)
        return None


class MyCoachingDialog(QDialog):
    def __init__(self, service: CoachingService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("myCoaching")
        self.service = service
        self.current: dict[str, Any] | None = None
        self.recording: Recording | None = None
        self.last_error: Message | None = None
        self.model = EvaluationsModel(self)
        self.list_view = QTableView(objectName="myEvaluations")
        self.list_view.setModel(self.model)
        self.list_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.verticalHeader().setVisible(False)
        self.list_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.list_view.horizontalHeader().setStretchLastSection(True)
        self.waveform = Waveform()
        self.player = Player(self)
        self.play_button = QPushButton(objectName="myPlay")
        self.time_label = QLabel("0:00 / 0:00")
        self.form = FormModel(self)
        self.items_view = QTableView(objectName="myItems")
        self.items_view.setModel(self.form)
        self.items_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.items_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.items_view.verticalHeader().setVisible(False)
        self.items_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.items_view.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.overall = QLabel(objectName="myOverall")
        self.overall.setWordWrap(True)
        self.comment = QLineEdit(objectName="myComment")
        self.ack_button = QPushButton(objectName="myAck")
        self.dispute_button = QPushButton(objectName="myDispute")
        self.status = QLabel(objectName="myStatus")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.time_label)
        controls.addStretch(1)
        answer = QHBoxLayout()
        answer.addWidget(self.comment, 1)
        answer.addWidget(self.ack_button)
        answer.addWidget(self.dispute_button)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.waveform)
        rl.addLayout(controls)
        rl.addWidget(self.items_view, 1)
        rl.addWidget(self.overall)
        rl.addLayout(answer)
        rl.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list_view)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(split)
        self.resize(1100, 620)

        self.list_view.selectionModel().currentRowChanged.connect(lambda cur, _p: self.open(cur.row()))
        self.items_view.doubleClicked.connect(self._item_double_clicked)
        self.play_button.clicked.connect(self.player.toggle)
        self.waveform.seek_requested.connect(self.player.seek)
        self.player.position_changed.connect(self._moved)
        self.comment.textChanged.connect(self._update_buttons)
        self.ack_button.clicked.connect(self.acknowledge)
        self.dispute_button.clicked.connect(self.dispute)
        service.my_evaluations_loaded.connect(self._on_list)
        service.form_loaded.connect(self._on_form)
        service.audio_ready.connect(self._on_audio)
        service.peaks_ready.connect(self._on_peaks)
        service.answer_saved.connect(self._on_answer_saved)
        service.failed.connect(self._on_failed)
        self.retranslate()
        self._update_buttons()

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("MyCoaching", "My coaching"))
        self.play_button.setText(QCoreApplication.translate("MyCoaching", "Play / pause"))
        self.comment.setPlaceholderText(QCoreApplication.translate("MyCoaching", "Your comment (needed for a dispute)"))
        self.ack_button.setText(QCoreApplication.translate("MyCoaching", "Acknowledge"))
        self.dispute_button.setText(QCoreApplication.translate("MyCoaching", "Dispute"))
        self.items_view.setToolTip(QCoreApplication.translate("MyCoaching", "Double-click an item's time to hear that moment"))

    def refresh(self) -> None:
        self.service.load_my_evaluations()

    def _on_list(self, evaluations: list[dict[str, Any]]) -> None:
        current = (self.current or {}).get("id")
        self.model.set_rows(evaluations)
        row = next((i for i, e in enumerate(evaluations) if e["id"] == current), 0 if evaluations else -1)
        if row >= 0:
            self.list_view.selectRow(row)

    def open(self, row: int) -> None:
        if not (0 <= row < len(self.model.rows)):
            return
        e = self.model.rows[row]
        same_call = self.current is not None and self.current.get("call_id") == e.get("call_id")
        self.current = e
        self.overall.setText(e.get("overall_comment") or "")
        form = self.service.forms.get(e.get("campaign_id") or "")
        if form is not None:
            self._on_form(e["campaign_id"], form)
        elif e.get("campaign_id"):
            self.service.load_form(e["campaign_id"])
        if not same_call:
            self.recording = None
            self.player.load(None, loading=True)
            self.waveform.set_recording(None)
            self.service.open_recording(e["call_id"])
        self._update_buttons()

    def _on_form(self, campaign_id: str, form: rules.CoachingForm) -> None:
        if self.current and self.current.get("campaign_id") == campaign_id:
            self.form.set_form(form, self.current.get("items"))
            self.waveform.markers = self.form.markers()
            self.waveform.update()

    def _on_audio(self, rec: Recording) -> None:
        if self.current and rec.call_id == self.current.get("call_id"):
            self.recording = rec
            self.waveform.set_recording(rec)
            self.player.load(rec.stream)
            self._moved(0.0)

    def _on_peaks(self, peaks: Peaks) -> None:
        if self.current and peaks.call_id == self.current.get("call_id"):
            self.waveform.set_peaks(peaks)

    def _moved(self, seconds: float) -> None:
        self.waveform.position = seconds
        self.waveform.update()
        self.time_label.setText(f"{clock(seconds)} / {clock(self.recording.duration_s if self.recording else 0)}")

    def _item_double_clicked(self, index: QModelIndex) -> None:
        at = self.form.answers.get(self.form.item_id(index.row()), {}).get("at_s")
        if at is not None and index.column() in (F_AT, 0, 1, 3):
            self.player.seek(float(at))

    def _update_buttons(self, *_a: Any) -> None:
        ok = self.current is not None
        self.ack_button.setEnabled(ok)
        self.dispute_button.setEnabled(ok and bool(self.comment.text().strip()))

    def acknowledge(self) -> None:
        if self.current is not None:
            self.service.acknowledge(self.current["id"], self.comment.text().strip())

    def dispute(self) -> None:
        if self.current is not None and self.comment.text().strip():
            self.service.dispute(self.current["id"], self.comment.text().strip())

    def _on_answer_saved(self, evaluation_id: str, state: str) -> None:
        for e in self.model.rows:
            if e["id"] == evaluation_id:
                e["ack_state"] = state
        self.model.layoutChanged.emit()
        self.comment.clear()
        self.status.setText(QCoreApplication.translate("MyCoaching", "Saved; your team leader sees it after the next sync"))

    def _on_failed(self, message: Message) -> None:
        self.last_error = message
        self.status.setText(messages.text(message))

    def closeEvent(self, event: Any) -> None:
        self.player.stop()
        super().closeEvent(event)


MY_COACHING_KEYS = "Ctrl+Shift+J"


class MyCoachingUi(QObject):
    """View → 我的辅导… (Ctrl+Shift+J) for everyone logged in to a server."""

    def __init__(self, window: Any, service: CoachingService) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        self.dialog: MyCoachingDialog | None = None
        self.action = QAction(self, objectName="openMyCoaching")
        self.action.setShortcut(QKeySequence(MY_COACHING_KEYS))
        self.action.triggered.connect(self.open)
        menu = getattr(window, "view_menu", None)
        (menu or window).addAction(self.action)
        window.installEventFilter(self)
        self.retranslate()

    def retranslate(self) -> None:
        self.action.setText(QCoreApplication.translate("MyCoaching", "My coaching…"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    def open(self) -> MyCoachingDialog:
        if self.dialog is None:
            self.dialog = MyCoachingDialog(self.service, self.window)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def remove(self) -> None:
        self.window.removeEventFilter(self)
        menu = getattr(self.window, "view_menu", None)
        (menu or self.window).removeAction(self.action)
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        self.service.stop()
        self.deleteLater()
