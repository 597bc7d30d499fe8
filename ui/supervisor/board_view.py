"""The TL's team board (班组监控): table or cards, filters, search, alerts, floor control.

Talks only to :class:`app.supervisor.floor_service.FloorService` (its signals and
methods). Keyboard: arrows move, Enter shows the agent's details, Alt+1/2/3 listen /
whisper / barge, Alt+0 ends monitoring, Alt+P orders a pause, Alt+R ready, Alt+M a
message to the agent, Alt+T a message to the team, Alt+S search, Alt+V table/cards
(the tooltips and the F1 overlay say so).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.floor_service import END_MONITOR, FloorService
from core.agent_state import PAUSE_REASONS, AgentState
from core.floor_alerts import Alert
from core.messages import Message
from core.supervisor import MonitorMode
from ui import messages
from ui.supervisor.board_model import (
    AGENT_ID_ROLE,
    COL_CALLS,
    COL_NAME,
    COL_STATE,
    COL_TALK,
    HEADERS,
    STATE_ORDER,
    BoardFilterModel,
    BoardTableModel,
    ago_text,
    alert_text,
    state_text,
)
from ui.supervisor.delegates import CARD_SIZE, AgentCardDelegate, ProgressDelegate
from ui.supervisor.thresholds_dialog import ThresholdsDialog

# (action name, English label, shortcut, what it does)
ACTIONS = (
    ("listen", "Listen", "Alt+1"),
    ("whisper", "Whisper", "Alt+2"),
    ("barge", "Barge in", "Alt+3"),
    ("end", "End", "Alt+0"),
    ("pause", "Pause…", "Alt+P"),
    ("ready", "Ready", "Alt+R"),
    ("message", "Message…", "Alt+M"),
    ("team_message", "Team message…", "Alt+T"),
    ("thresholds", "Thresholds…", ""),
    ("toggle_view", "Cards", "Alt+V"),
    ("search", "Search", "Alt+S"),
)
MONITOR_MODES = {"listen": MonitorMode.LISTEN.value, "whisper": MonitorMode.WHISPER.value,
                 "barge": MonitorMode.BARGE.value, "end": END_MONITOR}


def action_label(name: str) -> str:
    from PySide6.QtCore import QCoreApplication

    labels = {
        "listen": QCoreApplication.translate("TeamBoard", "Listen"),
        "whisper": QCoreApplication.translate("TeamBoard", "Whisper"),
        "barge": QCoreApplication.translate("TeamBoard", "Barge in"),
        "end": QCoreApplication.translate("TeamBoard", "End"),
        "pause": QCoreApplication.translate("TeamBoard", "Pause…"),
        "ready": QCoreApplication.translate("TeamBoard", "Ready"),
        "message": QCoreApplication.translate("TeamBoard", "Message…"),
        "team_message": QCoreApplication.translate("TeamBoard", "Team message…"),
        "thresholds": QCoreApplication.translate("TeamBoard", "Thresholds…"),
        "toggle_view": QCoreApplication.translate("TeamBoard", "Cards / table"),
        "search": QCoreApplication.translate("TeamBoard", "Search agents"),
    }
    return labels.get(name, name)


def action_help(name: str) -> str:
    from PySide6.QtCore import QCoreApplication

    helps = {
        "listen": QCoreApplication.translate("TeamBoard", "Listen to the selected agent's call (nobody hears you)"),
        "whisper": QCoreApplication.translate("TeamBoard", "Whisper: the agent hears you, the customer does not"),
        "barge": QCoreApplication.translate("TeamBoard", "Barge in: everyone hears everyone"),
        "end": QCoreApplication.translate("TeamBoard", "End monitoring"),
        "pause": QCoreApplication.translate("TeamBoard", "Put the selected agent on a break (with a reason)"),
        "ready": QCoreApplication.translate("TeamBoard", "Put the selected agent back to ready"),
        "message": QCoreApplication.translate("TeamBoard", "Send a message to the selected agent"),
        "team_message": QCoreApplication.translate("TeamBoard", "Send a message to the whole team"),
        "thresholds": QCoreApplication.translate("TeamBoard", "Change the alert thresholds"),
        "toggle_view": QCoreApplication.translate("TeamBoard", "Switch between the table and the cards"),
        "search": QCoreApplication.translate("TeamBoard", "Search agents by name or pinyin"),
    }
    return helps.get(name, name)


def board_shortcuts() -> list[tuple[str, str]]:
    """(keys, description) for the F1 overlay."""
    return [(keys, action_help(name)) for name, _label, keys in ACTIONS if keys] + [("Enter", _details_help())]


def _details_help() -> str:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.translate("TeamBoard", "Show the selected agent's details")


class TeamBoard(QWidget):
    """The board widget; put it in a dock or a tab."""

    alert_shown = Signal(object)  # Alert (the tray follows it)

    def __init__(self, service: FloorService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamBoard")
        self.service = service
        self.model = BoardTableModel(service, self)
        self.proxy = BoardFilterModel(self.model, self)

        # -- header: team, live/stale, search -----------------------------------------
        self.title = QLabel(objectName="boardTitle")
        self.stale = QLabel(objectName="boardStale")
        self.search = QLineEdit(objectName="boardSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        self.search.textChanged.connect(self.proxy.set_search)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.stale)
        head.addStretch(1)
        head.addWidget(self.search)

        # -- state filters (with counts) ----------------------------------------------
        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        self.filters: dict[str, QToolButton] = {}
        filters = QHBoxLayout()
        for key in ("all", *STATE_ORDER):
            b = QToolButton(objectName=f"boardFilter_{key}")
            b.setCheckable(True)
            b.setAutoRaise(True)
            self.filter_group.addButton(b)
            self.filters[key] = b
            filters.addWidget(b)
            b.toggled.connect(lambda on, k=key: on and self._filter(k))
        filters.addStretch(1)
        self.filters["all"].setChecked(True)

        # -- alerts ---------------------------------------------------------------------
        self.alerts = QListWidget(objectName="boardAlerts")
        self.alerts.setFlow(QListView.Flow.LeftToRight)
        self.alerts.setWrapping(True)
        self.alerts.setMaximumHeight(52)
        self.alerts.setStyleSheet("QListWidget#boardAlerts { background: #fdecea; color: #b03a2e; }")
        self.alerts.itemActivated.connect(self._alert_clicked)
        self.alerts.itemClicked.connect(self._alert_clicked)
        self.alerts.hide()

        # -- views: table and cards over one proxy ----------------------------------------
        self.table = QTableView(objectName="boardTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_STATE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((76, 130, 64, 150, 84, 94, 120, 60, 48, 70)):
            self.table.setColumnWidth(col, width)
        self.progress_delegate = ProgressDelegate(self.table)
        for col in (COL_CALLS, COL_TALK):
            self.table.setItemDelegateForColumn(col, self.progress_delegate)
        self.cards = QListView(objectName="boardCards")
        self.cards.setModel(self.proxy)
        self.cards.setModelColumn(COL_NAME)
        self.cards.setViewMode(QListView.ViewMode.IconMode)
        self.cards.setResizeMode(QListView.ResizeMode.Adjust)
        self.cards.setMovement(QListView.Movement.Static)
        self.cards.setUniformItemSizes(True)
        self.cards.setGridSize(CARD_SIZE)
        self.cards.setSpacing(0)
        self.card_delegate = AgentCardDelegate(self.model, self.cards)
        self.cards.setItemDelegate(self.card_delegate)
        self.cards.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.cards)

        # -- floor control -----------------------------------------------------------------
        self.buttons: dict[str, QToolButton] = {}
        self.actions: dict[str, QAction] = {}
        bar = QHBoxLayout()
        for name, _label, keys in ACTIONS:
            action = QAction(self)
            action.setObjectName(f"board_{name}")
            if keys:
                action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, n=name: self.trigger(n))
            self.addAction(action)
            self.actions[name] = action
            if name == "search":
                continue
            b = QToolButton(objectName=f"boardButton_{name}")
            b.setDefaultAction(action)
            self.buttons[name] = b
            bar.addWidget(b)
            if name in ("end", "ready", "team_message"):
                bar.addSpacing(10)
        bar.addStretch(1)
        self.notice = QLabel(objectName="boardNotice")
        bar.addWidget(self.notice)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(filters)
        layout.addWidget(self.alerts)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bar)

        self.thresholds_dialog = ThresholdsDialog(self)
        self.thresholds_dialog.chosen.connect(service.set_thresholds)
        self.pause_dialog: QInputDialog | None = None
        self.message_dialog: QInputDialog | None = None
        self.details_dialog: QDialog | None = None

        # -- service → widgets -------------------------------------------------------------
        service.board_reset.connect(self._refresh_header)
        service.rows_changed.connect(self._rows_changed)
        service.live_changed.connect(lambda _live: self._refresh_header())
        service.tick.connect(self._tick)
        service.alerts_changed.connect(self._show_alerts)
        service.alert_raised.connect(self.alert_shown)
        service.action_finished.connect(lambda m: self._say(m, error=False))
        service.action_failed.connect(lambda m: self._say(m, error=True))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.cards.selectionModel().currentChanged.connect(self._card_current)
        self.table.activated.connect(lambda _i: self.show_details())
        self.cards.activated.connect(lambda _i: self.show_details())
        self.retranslate()
        self._refresh_header()

    def add_banner(self, widget: QWidget) -> None:
        """A strip above the board (the monitoring banner: who, which mode, since when, mic)."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, widget)

    # -- language ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.search.setPlaceholderText(self.tr("Search agent (name or pinyin)"))
        for name, _label, keys in ACTIONS:
            action = self.actions[name]
            action.setText(action_label(name))
            tip = action_help(name)
            action.setToolTip(f"{tip} ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})"
                              if keys else tip)
        self.model.retranslate()
        self._refresh_header()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- header, filters, stale --------------------------------------------------------------
    def _refresh_header(self) -> None:
        board = self.service.board
        n = len(board.rows)
        team = board.team_name or ""
        self.title.setText(self.tr("%1 · %2 agents").replace("%1", team).replace("%2", str(n)) if team
                           else self.tr("Team floor"))
        self._refresh_counts()
        self._refresh_stale()
        self._update_buttons()

    def _refresh_counts(self) -> None:
        counts = self.model.counts()
        total = sum(counts.values())
        self.filters["all"].setText(self.tr("All %1").replace("%1", str(total)))
        for state in STATE_ORDER:
            self.filters[state].setText(f"{state_text(state)} {counts.get(state, 0)}")

    def _refresh_stale(self) -> None:
        svc = self.service
        if svc.live:
            self.stale.setText(self.tr("Live"))
            self.stale.setStyleSheet("color: #2e7d32;")
            self.stale.setProperty("stale", False)
            return
        age = svc.stale_age_s()
        if age is None:
            self.stale.setText(self.tr("Connecting…"))
            self.stale.setStyleSheet("color: #8a8a8a;")
        else:
            self.stale.setText(self.tr("Data out of date · %1").replace("%1", ago_text(age)))
            self.stale.setStyleSheet("color: #b03a2e; font-weight: bold;")
        self.stale.setProperty("stale", True)

    def _rows_changed(self, _ids: Any) -> None:
        self._refresh_counts()
        self._update_buttons()

    def _tick(self) -> None:
        if not self.service.live:
            self._refresh_stale()

    def _filter(self, key: str) -> None:
        self.proxy.set_states(None if key == "all" else frozenset({key}))

    # -- alerts ---------------------------------------------------------------------------
    def _show_alerts(self, alerts: dict[str, Alert]) -> None:
        self.alerts.clear()
        for agent_id, alert in alerts.items():
            row = self.service.row(agent_id)
            if row is None:
                continue
            item = QListWidgetItem(f"⚠ {row.display_name or row.username} · {alert_text(alert.kind)}")
            item.setData(AGENT_ID_ROLE, agent_id)
            self.alerts.addItem(item)
        self.alerts.setVisible(self.alerts.count() > 0)

    def alert_message(self, alert: Alert) -> str:
        row = self.service.row(alert.agent_id)
        name = (row.display_name or row.username) if row is not None else ""
        return f"{name} · {alert_text(alert.kind)}"

    def _alert_clicked(self, item: QListWidgetItem) -> None:
        self.select_agent(item.data(AGENT_ID_ROLE))

    # -- selection ----------------------------------------------------------------------------
    def current_view(self) -> QAbstractItemView:
        return self.cards if self.stack.currentWidget() is self.cards else self.table

    def selected_agent_id(self) -> str | None:
        index = self.current_view().currentIndex()
        return index.data(AGENT_ID_ROLE) if index.isValid() else None

    def select_agent(self, agent_id: str | None) -> bool:
        row = self.model.row_of(agent_id or "")
        if row < 0:
            return False
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not proxy_index.isValid():
            self.filters["all"].setChecked(True)
            self.search.clear()
            proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        view = self.current_view()
        index = proxy_index if view is self.table else proxy_index.siblingAtColumn(COL_NAME)
        view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        view.scrollTo(index)
        view.setFocus()
        self._update_buttons()
        return True

    def _card_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.service.row(self.selected_agent_id() or "")
        on_call = row is not None and row.presence.state == AgentState.ON_CALL.value
        for name in ("listen", "whisper", "barge"):
            self.actions[name].setEnabled(on_call)
        self.actions["end"].setEnabled(row is not None and (on_call or row.monitor is not None))
        for name in ("pause", "ready", "message"):
            self.actions[name].setEnabled(row is not None)
        self.actions["team_message"].setEnabled(bool(self.service.board.rows))

    # -- actions --------------------------------------------------------------------------------
    def trigger(self, name: str) -> None:
        agent_id = self.selected_agent_id()
        if name in MONITOR_MODES:
            if agent_id:
                self.service.request_monitor(agent_id, MONITOR_MODES[name])
        elif name == "pause" and agent_id:
            self.ask_pause(agent_id)
        elif name == "ready" and agent_id:
            self.service.force_ready(agent_id)
        elif name == "message" and agent_id:
            self.ask_message(agent_id)
        elif name == "team_message":
            self.ask_message(None)
        elif name == "thresholds":
            self.thresholds_dialog.edit(self.service.thresholds)
        elif name == "toggle_view":
            self.toggle_view()
        elif name == "search":
            self.search.setFocus()
            self.search.selectAll()

    def toggle_view(self) -> None:
        agent_id = self.selected_agent_id()
        self.stack.setCurrentWidget(self.cards if self.stack.currentWidget() is self.table else self.table)
        if agent_id:
            self.select_agent(agent_id)

    def ask_pause(self, agent_id: str) -> None:
        row = self.service.row(agent_id)
        dlg = QInputDialog(self)
        dlg.setObjectName("boardPauseDialog")
        dlg.setWindowTitle(self.tr("Pause"))
        dlg.setLabelText(self.tr("Put %1 on a break:").replace("%1", row.display_name if row else ""))
        dlg.setComboBoxItems(list(PAUSE_REASONS))
        dlg.textValueSelected.connect(lambda reason: self.service.force_pause(agent_id, reason))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.pause_dialog = dlg
        dlg.open()

    def ask_message(self, agent_id: str | None) -> None:
        row = self.service.row(agent_id) if agent_id else None
        dlg = QInputDialog(self)
        dlg.setObjectName("boardMessageDialog")
        dlg.setWindowTitle(self.tr("Message"))
        dlg.setLabelText(self.tr("Message to %1:").replace("%1", row.display_name) if row is not None
                         else self.tr("Message to the whole team:"))
        dlg.setInputMode(QInputDialog.InputMode.TextInput)

        def send(text: str) -> None:
            text = text.strip()[:500]
            if text:
                self.service.send_message(text, agent_id)

        dlg.textValueSelected.connect(send)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.message_dialog = dlg
        dlg.open()

    def show_details(self) -> None:
        row = self.service.row(self.selected_agent_id() or "")
        if row is None:
            return
        if self.details_dialog is not None:
            self.details_dialog.close()
        dlg = QDialog(self)
        dlg.setObjectName("boardDetails")
        dlg.setWindowTitle(row.display_name or row.username)
        lay = QVBoxLayout(dlg)
        src = self.model
        lines = [f"<b>{row.display_name}</b> ({row.username}{' · ' + row.sip_user if row.sip_user else ''})"]
        for col in range(1, len(HEADERS)):
            value = src.cell_text(row, col)
            if value:
                lines.append(f"{self.model.headerData(col, Qt.Orientation.Horizontal)}: {value}")
        tip = src.tooltip(row).split("\n")[1:]
        lines += tip
        label = QLabel("<br>".join(lines))
        label.setObjectName("boardDetailsText")
        lay.addWidget(label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dlg.close)
        lay.addWidget(buttons)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details_dialog = dlg
        dlg.destroyed.connect(lambda *_: setattr(self, "details_dialog", None))
        dlg.open()

    def _say(self, message: Message, *, error: bool) -> None:
        self.notice.setText(messages.text(message))
        self.notice.setStyleSheet("color: #b03a2e;" if error else "color: #2e7d32;")
