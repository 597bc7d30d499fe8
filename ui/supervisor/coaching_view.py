"""Coaching on recordings (辅导表): the team's recorded calls, a player for the stereo
recording with its waveform (agent top / left channel, customer bottom / right channel), the
coaching items as markers on the timeline (click → seek), and the campaign's form filled
beside it.

- The list: a table model over the server's page (agent, date range, disposition, minimum
  talk time, evaluated or not).
- The player: ``QAudioSink`` fed from the service's stream (app/supervisor/recording_player.py:
  Range requests as it plays, never the whole file first); 0.75–2× speed with the pitch kept; seek by clicking the waveform or an item's time; per-channel volume
  (agent, customer) applied by the stream to the samples it serves. The waveform is the
  server's peaks, drawn before anything is played.
- The form: one row per item (Y / N / NA, time in the call, comment); keys Y, N, A answer
  the selected item, Ctrl+T stamps the playback position on it, Ctrl+S saves. The score is
  ``core.coaching.score`` (Y / (Y + N), NA excluded), shown as it is filled in.
Keys: Space play / pause, Ctrl+Left/Right ±5 s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.coaching_service import CoachingService, Peaks, Recording
from app.supervisor.recording_player import RecordingPlayer
from core import coaching as rules
from core import messages as msg
from core.messages import Message
from ui import messages
from ui.supervisor.tables import RowsModel, list_table, local_time

CTX = "Coaching"
SPEEDS = (0.75, 1.0, 1.25, 1.5, 2.0)
ANSWER_KEYS = {Qt.Key.Key_Y: "Y", Qt.Key.Key_N: "N", Qt.Key.Key_A: "NA"}


def _t(text: str) -> str:
    return QCoreApplication.translate(CTX, text)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"




REC_COLUMNS = (QT_TRANSLATE_NOOP("Coaching", "Time"), QT_TRANSLATE_NOOP("Coaching", "Agent"),
               QT_TRANSLATE_NOOP("Coaching", "Customer"), QT_TRANSLATE_NOOP("Coaching", "Talk"),
               QT_TRANSLATE_NOOP("Coaching", "Result"), QT_TRANSLATE_NOOP("Coaching", "Score"))
FORM_COLUMNS = (QT_TRANSLATE_NOOP("Coaching", "Item"), QT_TRANSLATE_NOOP("Coaching", "Answer"),
                QT_TRANSLATE_NOOP("Coaching", "At"), QT_TRANSLATE_NOOP("Coaching", "Comment"))
F_ITEM, F_ANSWER, F_AT, F_COMMENT = range(4)


class RecordingsModel(RowsModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(REC_COLUMNS, CTX, parent)

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.rows

    def set_items(self, items: list[dict[str, Any]]) -> None:
        self.set_rows(items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.items[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return local_time(r.get("dialed_at"))
            if col == 1:
                return r.get("display_name") or r.get("username") or ""
            if col == 2:
                return r.get("lead_name") or ""
            if col == 3:
                return clock(r.get("talk_seconds"))
            if col == 4:
                return r.get("disposition") or ""
            if col == 5:
                if not r.get("evaluated"):
                    return QCoreApplication.translate("Coaching", "Not coached")
                score = r.get("score")
                return "—" if score is None else f"{score:.0f}%"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (3, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == 5 and not r.get("evaluated"):
            return QColor("#b9770e")
        return None


class FormModel(QAbstractTableModel):
    """The form's items and this evaluation's answers (item id → answer, comment, at_s)."""

    changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.form: rules.CoachingForm | None = None
        self.answers: dict[str, dict[str, Any]] = {}

    def set_form(self, form: rules.CoachingForm | None, answers: list[dict[str, Any]] | None = None) -> None:
        self.beginResetModel()
        self.form = form
        self.answers = {a["item"]: {"answer": a.get("answer"), "comment": a.get("comment") or "",
                                    "at_s": a.get("at_s")} for a in (answers or [])}
        self.endResetModel()
        self.changed.emit()

    def item_id(self, row: int) -> str:
        assert self.form is not None
        return self.form.items[row].id

    def set_answer(self, row: int, answer: str | None = None, *, comment: str | None = None,
                   at_s: float | bool | None = False) -> None:
        a = self.answers.setdefault(self.item_id(row), {"answer": None, "comment": "", "at_s": None})
        if answer is not None:
            a["answer"] = answer
        if comment is not None:
            a["comment"] = comment
        if at_s is not False:
            a["at_s"] = at_s
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(FORM_COLUMNS) - 1))
        self.changed.emit()

    def item_answers(self) -> list[rules.ItemAnswer]:
        """What is saved: the answered items (an unanswered one is left out)."""
        out = []
        for item in (self.form.items if self.form else ()):
            a = self.answers.get(item.id)
            if a and a.get("answer"):
                at = a.get("at_s")
                out.append(rules.ItemAnswer(item.id, a["answer"], a.get("comment") or "",
                                            None if at is None else round(float(at), 1)))
        return out

    def markers(self) -> list[tuple[float, str, str]]:
        """(seconds, item id, answer) of the items stamped with a moment."""
        return sorted((float(a["at_s"]), iid, a.get("answer") or "") for iid, a in self.answers.items()
                      if a.get("at_s") is not None)

    def row_of(self, item_id: str) -> int:
        for i, item in enumerate(self.form.items if self.form else ()):
            if item.id == item_id:
                return i
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.form is None else len(self.form.items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(FORM_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _t(FORM_COLUMNS[section])
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = super().flags(index)
        if index.isValid() and index.column() == F_COMMENT:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if index.isValid() and index.column() == F_COMMENT and role == Qt.ItemDataRole.EditRole:
            self.set_answer(index.row(), comment=str(value))
            return True
        return False

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.form is None:
            return None
        item = self.form.items[index.row()]
        a = self.answers.get(item.id, {})
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == F_ITEM:
                return f"{item.id} {item.text}"
            if col == F_ANSWER:
                return {"Y": QCoreApplication.translate("Coaching", "Yes"), "N": QCoreApplication.translate("Coaching", "No"), "NA": QCoreApplication.translate("Coaching", "N/A")}.get(a.get("answer") or "", "")
            if col == F_AT:
                return clock(a.get("at_s"))
            if col == F_COMMENT:
                return a.get("comment", "")
        if role == Qt.ItemDataRole.ToolTipRole and col == F_ITEM:
            return item.section
        if role == Qt.ItemDataRole.ForegroundRole and col == F_ANSWER:
            return {"Y": QColor("#1e8449"), "N": QColor("#b03a2e"), "NA": QColor("#7f8c8d")}.get(a.get("answer") or "")
        return None


class Waveform(QWidget):
    """Peaks of both channels (agent above the middle line, customer below), the playback
    position and the coaching markers. A click seeks; a click near a marker seeks to it."""

    seek_requested = Signal(float)  # seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waveform")
        self.setMinimumHeight(90)
        self.left: tuple[float, ...] = ()
        self.right: tuple[float, ...] = ()
        self.duration = 0.0
        self.position = 0.0
        self.markers: list[tuple[float, str, str]] = []

    def set_recording(self, rec: Recording | None) -> None:
        """The recording's length (its peaks come with :meth:`set_peaks`); None clears."""
        if rec is None:
            self.left, self.right = (), ()
        self.duration = rec.duration_s if rec else 0.0
        self.position = 0.0
        self.update()

    def set_peaks(self, peaks: Peaks) -> None:
        self.left, self.right = peaks.left, peaks.right
        if self.duration <= 0:
            self.duration = peaks.duration_s
        self.update()

    def x_of(self, seconds: float) -> float:
        return 0.0 if self.duration <= 0 else seconds / self.duration * self.width()

    def mousePressEvent(self, event: Any) -> None:
        if self.duration <= 0:
            return
        x = event.position().x()
        near = [m for m in self.markers if abs(self.x_of(m[0]) - x) <= 5]
        t = near[0][0] if near else max(0.0, min(self.duration, x / max(1, self.width()) * self.duration))
        self.seek_requested.emit(t)

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor("#fbfcfd"))
        mid = h / 2
        p.setPen(QPen(QColor("#d5d8dc"), 1))
        p.drawLine(QPointF(0, mid), QPointF(w, mid))
        for peaks, sign, color in ((self.left, -1, "#2e86c1"), (self.right, 1, "#28b463")):
            if not peaks:
                continue
            p.setPen(QPen(QColor(color), 1))
            n = len(peaks)
            for x in range(w):
                v = peaks[min(n - 1, int(x / max(1, w) * n))]
                p.drawLine(QPointF(x, mid), QPointF(x, mid + sign * v * (mid - 4)))
        for at, iid, answer in self.markers:
            x = self.x_of(at)
            color = {"Y": "#1e8449", "N": "#c0392b"}.get(answer, "#7f8c8d")
            p.setPen(QPen(QColor(color), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, h))
            p.drawText(QPointF(x + 3, 12), iid)
        p.setPen(QPen(QColor("#e67e22"), 2))
        x = self.x_of(self.position)
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.end()


class Player(QObject):
    """The recording's playback: app/supervisor/recording_player.py's ``RecordingPlayer``
    (``QAudioSink``, made on the first play) on the stream the service opened (the HTTP stays in
    app/). Here: a play pressed while the recording still loads starts it once it is here."""

    position_changed = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stream: Any = None
        self._play_when_loaded = False
        self.loading = False
        self.player = RecordingPlayer(self)
        self.player.position_changed.connect(self.position_changed)

    def load(self, stream: Any, *, loading: bool = False) -> None:
        """Play ``stream`` (None: nothing; ``loading``: one is coming, a play pressed meanwhile
        starts it as soon as it is here)."""
        self.stream = stream
        self.loading = loading and stream is None
        self.player.load(stream)
        self.position_changed.emit(0.0)
        if stream is not None and self._play_when_loaded:
            self._play_when_loaded = False
            self.toggle()
        elif stream is None and not loading:
            self._play_when_loaded = False

    @property
    def rate(self) -> float:
        return self.player.rate

    @property
    def position(self) -> float:
        return self.player.position

    @property
    def playing(self) -> bool:
        return self.player.playing

    def toggle(self) -> None:
        if self.stream is None:
            self._play_when_loaded = self.loading and not self._play_when_loaded
            return
        self.player.toggle()

    def seek(self, seconds: float) -> None:
        self.player.seek(seconds)

    def reread(self) -> None:
        """A channel volume change heard at once: the sink's buffer is dropped and read again
        from here (the stream serves it from its cache, no new request)."""
        self.player.reread()

    def set_rate(self, rate: float) -> None:
        self.player.set_rate(rate)

    def stop(self) -> None:
        self.player.stop()


class CoachingDialog(QDialog):
    """The recordings browser, the player and the 辅导表 in one non-modal window."""

    def __init__(self, service: CoachingService, parent: QWidget | None = None, *,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("coachingDialog")
        self.service = service
        self.current: dict[str, Any] | None = None
        self.recording: Recording | None = None
        self.last_error: Message | None = None
        self.saved_event: str | None = None
        self.default_campaign: str | None = None  # the list does not name the call's campaign
        self._campaign: str | None = None
        self.previous: dict[str, Any] | None = None
        self._live_started: dt.datetime | None = None
        self._live_clock: Any = None
        self._waiting_campaign = False
        self._live_note = ""
        self._forbidden: str | None = None  # the call whose recording the server refused (403)
        today = today or dt.date.today()

        # -- filters and the list
        self.agent = QComboBox(objectName="recAgent")
        self.date_from = QDateEdit(QDate(today.year, today.month, today.day).addDays(-6), objectName="recFrom")
        self.date_to = QDateEdit(QDate(today.year, today.month, today.day), objectName="recTo")
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.disposition = QComboBox(objectName="recDisposition")
        self.disposition.setEditable(True)
        self.disposition.addItem("")  # any result
        self.min_talk = QSpinBox(objectName="recMinTalk")
        self.min_talk.setRange(0, 3600)
        self.min_talk.setSuffix(" s")
        self.evaluated = QComboBox(objectName="recEvaluated")
        self.search_button = QPushButton(objectName="recSearch")
        filters = QHBoxLayout()
        for w in (self.agent, self.date_from, self.date_to, self.disposition, self.min_talk, self.evaluated,
                  self.search_button):
            filters.addWidget(w)
        self.recordings = RecordingsModel(self)
        self.list_view = list_table(self.recordings, "recList")

        # -- the player
        self.waveform = Waveform()
        self.play_button = QPushButton(objectName="recPlay")
        self.speed = QComboBox(objectName="recSpeed")
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.time_label = QLabel("0:00 / 0:00", objectName="recTime")
        self.channels_note = QLabel(objectName="recChannels")
        self.channels_note.setStyleSheet("color: #666;")
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.speed)
        controls.addWidget(self.time_label)
        controls.addStretch(1)
        self.agent_volume, self.customer_volume = (QSlider(Qt.Orientation.Horizontal, objectName=n)
                                                   for n in ("recAgentVolume", "recCustomerVolume"))
        self.agent_volume_label, self.customer_volume_label = QLabel(), QLabel()
        for label, slider in ((self.agent_volume_label, self.agent_volume),
                              (self.customer_volume_label, self.customer_volume)):
            slider.setRange(0, 100)
            slider.setValue(100)
            slider.setFixedWidth(90)
            controls.addWidget(label)
            controls.addWidget(slider)
        controls.addWidget(self.channels_note)
        self._gain_timer = QTimer(self, singleShot=True, interval=120)  # a slider drag: one re-read
        self._gain_timer.timeout.connect(self._apply_gains)
        self.player = Player(self)

        # -- the form
        self.form_title = QLabel(objectName="formTitle")
        self.form_title.setStyleSheet("font-weight: bold;")
        self.form = FormModel(self)
        self.form_view = QTableView(objectName="formItems")
        self.form_view.setModel(self.form)
        self.form_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.form_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.form_view.verticalHeader().setVisible(False)
        self.form_view.verticalHeader().setDefaultSectionSize(24)
        self.form_view.horizontalHeader().setSectionResizeMode(F_ITEM, QHeaderView.ResizeMode.Stretch)
        self.form_view.horizontalHeader().setSectionResizeMode(F_COMMENT, QHeaderView.ResizeMode.Stretch)
        self.form_view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                       | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.form_view.installEventFilter(self)
        self.yes_button, self.no_button, self.na_button = (QPushButton(objectName=n) for n in
                                                           ("formYes", "formNo", "formNA"))
        self.mark_button = QPushButton(objectName="formMark")
        self.overall = QPlainTextEdit(objectName="formOverall")
        self.overall.setMaximumHeight(70)
        self.overall.setTabChangesFocus(True)
        self.score_label = QLabel(objectName="formScore")
        self.score_label.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.save_button = QPushButton(objectName="formSave")
        self.status = QLabel(objectName="coachingStatus")
        self.status.setWordWrap(True)
        answer_row = QHBoxLayout()
        for b in (self.yes_button, self.no_button, self.na_button, self.mark_button):
            answer_row.addWidget(b)
        answer_row.addStretch(1)
        answer_row.addWidget(self.score_label)
        save_row = QHBoxLayout()
        save_row.addWidget(self.status, 1)
        save_row.addWidget(self.save_button)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.waveform)
        rl.addLayout(controls)
        rl.addWidget(self.form_title)
        rl.addWidget(self.form_view, 1)
        rl.addLayout(answer_row)
        rl.addWidget(self.overall)
        rl.addLayout(save_row)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list_view)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addLayout(filters)
        lay.addWidget(split, 1)
        self.resize(1280, 760)

        self.search_button.clicked.connect(self.search)
        self.list_view.selectionModel().currentRowChanged.connect(lambda cur, _p: self.open_call(cur.row()))
        self.play_button.clicked.connect(self.player.toggle)
        self.speed.currentIndexChanged.connect(lambda _i: self.player.set_rate(float(self.speed.currentData())))
        self.waveform.seek_requested.connect(self.player.seek)
        self.player.position_changed.connect(self._moved)
        self.agent_volume.valueChanged.connect(self._volume_changed)
        self.customer_volume.valueChanged.connect(self._volume_changed)
        self.form.changed.connect(self._form_changed)
        self.form_view.doubleClicked.connect(self._form_double_clicked)
        self.yes_button.clicked.connect(lambda: self.answer("Y"))
        self.no_button.clicked.connect(lambda: self.answer("N"))
        self.na_button.clicked.connect(lambda: self.answer("NA"))
        self.mark_button.clicked.connect(self.mark_time)
        self.save_button.clicked.connect(self.save)
        for keys, fn in (("Ctrl+T", self.mark_time), ("Ctrl+S", self.save),
                         ("Ctrl+Left", lambda: self.player.seek(self.player.position - 5)),
                         ("Ctrl+Right", lambda: self.player.seek(self.player.position + 5))):
            QShortcut(QKeySequence(keys), self, activated=fn)
        self._play_key = QShortcut(QKeySequence("Space"), self.waveform, activated=self.player.toggle)
        self._play_key.setContext(Qt.ShortcutContext.WindowShortcut)
        self._play_key.setEnabled(False)
        self._ticker = QTimer(self)
        self._ticker.setInterval(200)

        service.recordings_loaded.connect(self._on_recordings)
        service.form_loaded.connect(self._on_form)
        service.evaluations_loaded.connect(self._on_evaluations)
        service.audio_ready.connect(self._on_audio)
        service.peaks_ready.connect(self._on_peaks)
        service.evaluation_saved.connect(self._on_saved)
        service.failed.connect(self._on_failed)
        self.retranslate()
        self._form_changed()

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("Coaching", "Coaching on recordings"))
        if self.agent.count() == 0:
            self.agent.addItem(QCoreApplication.translate("Coaching", "All agents"), None)
        else:
            self.agent.setItemText(0, QCoreApplication.translate("Coaching", "All agents"))
        self.disposition.lineEdit().setPlaceholderText(QCoreApplication.translate("Coaching", "Result code"))
        ev = self.evaluated.currentIndex()
        self.evaluated.clear()
        for text, val in ((QCoreApplication.translate("Coaching", "Coached or not"), None), (QCoreApplication.translate("Coaching", "Not coached"), False), (QCoreApplication.translate("Coaching", "Coached"), True)):
            self.evaluated.addItem(text, val)
        self.evaluated.setCurrentIndex(max(0, ev))
        self.min_talk.setPrefix(QCoreApplication.translate("Coaching", "Talk ≥ "))
        self.search_button.setText(QCoreApplication.translate("Coaching", "Search"))
        self.play_button.setText(QCoreApplication.translate("Coaching", "Play / pause"))
        self.play_button.setToolTip("Space")
        self.channels_note.setText(QCoreApplication.translate("Coaching", "Blue: agent (left) · green: customer (right)"))
        self.agent_volume_label.setText(QCoreApplication.translate("Coaching", "Agent"))
        self.customer_volume_label.setText(QCoreApplication.translate("Coaching", "Customer"))
        self.yes_button.setText(QCoreApplication.translate("Coaching", "Yes") + " (Y)")
        self.no_button.setText(QCoreApplication.translate("Coaching", "No") + " (N)")
        self.na_button.setText(QCoreApplication.translate("Coaching", "N/A") + " (A)")
        self.mark_button.setText(QCoreApplication.translate("Coaching", "Mark time") + " (Ctrl+T)")
        self.mark_button.setToolTip(QCoreApplication.translate("Coaching", "Stamps the playback position on the selected item"))
        self.overall.setPlaceholderText(QCoreApplication.translate("Coaching", "Overall comment"))
        self.save_button.setText(QCoreApplication.translate("Coaching", "Save evaluation") + " (Ctrl+S)")

    # -- the list ------------------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        disp = self.disposition.currentText().strip()
        return {"agent_id": self.agent.currentData(),
                "date_from": self.date_from.date().toPython().isoformat(),
                "date_to": self.date_to.date().toPython().isoformat(),
                "disposition": disp or None, "min_seconds": self.min_talk.value() or None,
                "evaluated": self.evaluated.currentData()}

    def search(self) -> None:
        self.service.load_recordings(**self.filters())

    def _on_recordings(self, page: dict[str, Any]) -> None:
        items = page.get("items", [])
        known = {self.agent.itemData(i) for i in range(self.agent.count())}
        for r in items:
            if r.get("agent_id") not in known:
                self.agent.addItem(r.get("display_name") or r.get("username") or "", r.get("agent_id"))
                known.add(r.get("agent_id"))
        seen = {self.disposition.itemText(i) for i in range(self.disposition.count())}
        typed = self.disposition.currentText()
        for r in items:
            if r.get("disposition") and r["disposition"] not in seen:
                self.disposition.addItem(r["disposition"])
                seen.add(r["disposition"])
        self.disposition.setCurrentText(typed)
        self.recordings.set_items(items)
        self.status.setText(QCoreApplication.translate("Coaching", "%1 recorded calls").replace("%1", str(page.get("total", len(items)))))

    def open_call(self, row: int) -> None:
        if not (0 <= row < len(self.recordings.items)):
            return
        self.current = self.recordings.items[row]
        self.recording = None
        self._forbidden = None
        self.player.load(None, loading=True)  # the player lets go of the previous stream first
        self.waveform.set_recording(None)
        self.saved_event = None
        self.form.set_form(None)
        self.time_label.setText(QCoreApplication.translate("Coaching", "Loading the recording…"))
        self.service.open_recording(self.current["call_id"])
        self.service.load_evaluations(self.current["call_id"])

    def select_call(self, call_id: str) -> bool:
        for i, r in enumerate(self.recordings.items):
            if r["call_id"] == call_id:
                self.list_view.selectRow(i)
                return True
        return False

    # -- live (during a 监听): the form without the recording yet ------------------------------------------
    def start_live(self, agent_id: str, agent_name: str, call_id: str, started_at: dt.datetime | None,
                   clock: Any = None) -> None:
        """Fill the form while listening to ``call_id``: "mark time" stamps the time since the
        call started (``clock()`` and ``started_at`` naive UTC, the server's clock). Saved with
        ``source: live``; once the recording is uploaded, the same call in the list shows this
        evaluation and saving there corrects it (finish on the recording)."""
        self.current = {"agent_id": agent_id, "call_id": call_id, "display_name": agent_name, "live": True}
        self._live_started = started_at
        self._live_clock = clock or (lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        self.recording = None
        self.player.load(None)
        self.waveform.set_recording(None)
        self.saved_event = None
        self.previous = None
        self.form.set_form(None)
        self.list_view.clearSelection()
        self._live_note = QCoreApplication.translate(
            "Coaching", "Live: %1's call. Fill it in while you listen; finish it on the recording later").replace(
            "%1", agent_name)
        self.status.setText(self._live_note)
        self.service.load_evaluations(call_id)

    def live_position(self) -> float | None:
        if not (self.current or {}).get("live") or self._live_started is None:
            return None
        return max(0.0, (self._live_clock() - self._live_started).total_seconds())

    # -- the recording ---------------------------------------------------------------------------------
    def _on_audio(self, rec: Recording) -> None:
        if not self.current or rec.call_id != self.current["call_id"]:
            return
        self.recording = rec
        self.waveform.set_recording(rec)
        self.player.load(rec.stream)
        self._play_key.setEnabled(True)
        self._moved(0.0)

    def _on_peaks(self, peaks: Peaks) -> None:
        if self.current and peaks.call_id == self.current["call_id"]:
            self.waveform.set_peaks(peaks)

    def volumes(self) -> tuple[float, float]:
        return self.agent_volume.value() / 100.0, self.customer_volume.value() / 100.0

    def _volume_changed(self, _value: int) -> None:
        self.service.set_gains(*self.volumes())  # what the stream serves next
        self._gain_timer.start()

    def _apply_gains(self) -> None:
        self.player.reread()

    def _moved(self, seconds: float) -> None:
        self.waveform.position = seconds
        self.waveform.update()
        total = self.recording.duration_s if self.recording else 0.0
        self.time_label.setText(f"{clock(seconds)} / {clock(total)}")

    # -- the form ------------------------------------------------------------------------------------------
    def _on_evaluations(self, call_id: str, evaluations: list[dict[str, Any]]) -> None:
        if not self.current or call_id != self.current["call_id"] or self._forbidden == call_id:
            return  # (a recording the server refused is not coached here: its refusal stays on screen)
        self._waiting_campaign = False
        current = [e for e in evaluations if not e.get("superseded_by")]
        self.previous = current[-1] if current else None
        campaign = ((self.previous or {}).get("campaign_id") or self.current.get("campaign_id")
                    or self.default_campaign)
        if campaign:
            self._campaign = campaign
            form = self.service.forms.get(campaign)
            if form is not None:
                self._on_form(campaign, form)
            else:
                self.service.load_form(campaign)
        else:
            self._waiting_campaign = True  # set_default_campaign() brings it
            self.status.setText(QCoreApplication.translate("Coaching", "This call has no campaign form"))

    def set_default_campaign(self, campaign_id: str | None) -> None:
        """The campaign whose form a call gets when neither the call nor an evaluation names one
        (the TL's campaign; the recordings list does not carry it)."""
        self.default_campaign = campaign_id
        if campaign_id and self._waiting_campaign and self.current is not None:
            self._waiting_campaign = False
            self._on_evaluations(self.current["call_id"], [self.previous] if self.previous else [])

    def _on_form(self, campaign_id: str, form: rules.CoachingForm) -> None:
        if self._campaign != campaign_id:
            return
        prev = self.previous
        self.form.set_form(form, (prev or {}).get("items"))
        self.overall.setPlainText((prev or {}).get("overall_comment") or "")
        self.form_title.setText(form.name)
        if prev:
            ack = prev.get("ack_state")
            state = {"acknowledged": QCoreApplication.translate("Coaching", "acknowledged by the agent"), "disputed": QCoreApplication.translate("Coaching", "disputed by the agent")}.get(
                ack or "", QCoreApplication.translate("Coaching", "not yet answered by the agent"))
            note = f" — {prev['ack_comment']}" if prev.get("ack_comment") else ""
            self.status.setText(QCoreApplication.translate("Coaching", "Evaluated before (%1); saving corrects it").replace("%1", state) + note)
        else:
            self.status.setText(self._live_note if (self.current or {}).get("live") else "")
        if self.form.rowCount():
            self.form_view.selectRow(0)

    def _form_changed(self) -> None:
        s = rules.score(self.form.item_answers())
        self.score_label.setText(QCoreApplication.translate("Coaching", "Score %1").replace("%1", "—" if s is None else f"{s:.1f}"))
        self.waveform.markers = self.form.markers()
        self.waveform.update()
        self.save_button.setEnabled(bool(self.current and self.form.item_answers()))

    def current_row(self) -> int:
        idx = self.form_view.currentIndex()
        return idx.row() if idx.isValid() else -1

    def answer(self, value: str) -> None:
        row = self.current_row()
        if row < 0:
            return
        self.form.set_answer(row, value)
        if row + 1 < self.form.rowCount():
            self.form_view.selectRow(row + 1)

    def mark_time(self) -> None:
        row = self.current_row()
        live = self.live_position()
        if row >= 0 and live is not None:
            self.form.set_answer(row, at_s=round(live, 1))
        elif row >= 0 and self.recording is not None:
            self.form.set_answer(row, at_s=round(self.player.position, 1))

    def _form_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == F_AT:
            at = self.form.answers.get(self.form.item_id(index.row()), {}).get("at_s")
            if at is not None:
                self.player.seek(float(at))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.form_view and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in ANSWER_KEYS and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                self.answer(ANSWER_KEYS[key])
                return True
        return super().eventFilter(watched, event)

    def save(self) -> None:
        if not self.current or not self.save_button.isEnabled() or self.form.form is None or not self._campaign:
            return
        prev = self.previous
        self.save_button.setEnabled(False)
        self.service.save_evaluation(self.current["agent_id"], self.current["call_id"], self._campaign,
                                     self.form.item_answers(), self.overall.toPlainText().strip(),
                                     source="live" if self.current.get("live") else "recording",
                                     supersedes=(prev or {}).get("id"))

    def _on_saved(self, call_id: str, event_id: str) -> None:
        self.saved_event = event_id
        if self.current is not None and self.current.get("call_id") == call_id:
            self.previous = {**(self.previous or {}), "id": event_id}  # a second save corrects this one
        self.status.setText(QCoreApplication.translate("Coaching", "Saved; it reaches the server with the next sync"))
        self.save_button.setEnabled(True)

    def _on_failed(self, message: Message) -> None:
        if message.code == msg.RECORDING_FORBIDDEN:
            self._forbidden = (self.current or {}).get("call_id")
            self.player.load(None)  # a play pressed while it loaded is dropped
            self.time_label.setText("0:00 / 0:00")
        elif self._forbidden is not None and self._forbidden == (self.current or {}).get("call_id"):
            return  # the call's other requests refused too: the recording's refusal says why
        self.last_error = message
        self.status.setText(messages.text(message))

    def closeEvent(self, event: Any) -> None:
        self.player.stop()
        super().closeEvent(event)
