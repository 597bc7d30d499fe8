"""Lead distribution (分配名单) for the TL: per campaign the unassigned leads and each agent's
open leads, contacts today and conversion rate; hand out N leads evenly or weighted by
conversion rate over a period (with a floor per agent), always previewed before the commit;
reclaim an absent agent's open leads and hand them to the others.

The server decides everything (docs/coaching.md §4); the dialog shows its answers. A commit
is only offered for exactly the parameters last previewed: change the count, mode, floor,
period or the agents ticked and it asks for a new preview. Keys: Ctrl+P preview,
Ctrl+Return commit, Ctrl+R refresh, Del reclaim the selected agent's leads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.tl_service import TeamLeadService
from core.messages import Message
from ui import messages

CONTEXT = "Distribution"
AGENT_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS = (
    QT_TRANSLATE_NOOP("Distribution", "Agent"),
    QT_TRANSLATE_NOOP("Distribution", "Open leads"),
    QT_TRANSLATE_NOOP("Distribution", "Contacts today"),
    QT_TRANSLATE_NOOP("Distribution", "Connected today"),
    QT_TRANSLATE_NOOP("Distribution", "Conversion rate"),
    QT_TRANSLATE_NOOP("Distribution", "Planned"),
    QT_TRANSLATE_NOOP("Distribution", "After"),
)
COL_NAME, COL_OPEN, COL_CONTACTS, COL_CONNECTED, COL_RATE, COL_PLANNED, COL_AFTER = range(len(COLUMNS))


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


class DistributionModel(QAbstractTableModel):
    """The team's agents from the overview; ``Planned`` / ``After`` from the last preview.
    The first column is checkable: the agents who take part."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.agents: list[dict[str, Any]] = []
        self.planned: dict[str, int] = {}
        self.excluded: set[str] = set()

    def set_agents(self, agents: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.agents = list(agents)
        self.planned = {}
        self.excluded &= {a["agent_id"] for a in agents}
        self.endResetModel()

    def set_planned(self, planned: dict[str, int]) -> None:
        self.planned = dict(planned)
        if self.agents:
            self.dataChanged.emit(self.index(0, COL_PLANNED), self.index(len(self.agents) - 1, COL_AFTER))

    def included(self) -> list[str]:
        return [a["agent_id"] for a in self.agents if a["agent_id"] not in self.excluded]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.agents)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _t(COLUMNS[section])
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = super().flags(index)
        if index.isValid() and index.column() == COL_NAME:
            f |= Qt.ItemFlag.ItemIsUserCheckable
        return f

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_NAME or role != Qt.ItemDataRole.CheckStateRole:
            return False
        aid = self.agents[index.row()]["agent_id"]
        if Qt.CheckState(value) == Qt.CheckState.Checked:
            self.excluded.discard(aid)
        else:
            self.excluded.add(aid)
        self.dataChanged.emit(index, index)
        return True

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a, col = self.agents[index.row()], index.column()
        aid = a["agent_id"]
        if role == AGENT_ROLE:
            return aid
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_NAME:
            return Qt.CheckState.Unchecked if aid in self.excluded else Qt.CheckState.Checked
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_NAME:
                return a.get("display_name") or a.get("username")
            if col == COL_OPEN:
                return str(a.get("open_leads", 0))
            if col == COL_CONTACTS:
                return str(a.get("contacts_today", 0))
            if col == COL_CONNECTED:
                return str(a.get("connected_today", 0))
            if col == COL_RATE:
                return (f"{a.get('conversion_rate', 0) * 100:.1f}% "
                        f"({a.get('conversions_period', 0)}/{a.get('connected_period', 0)})")
            if col == COL_PLANNED:
                return f"+{self.planned[aid]}" if aid in self.planned else ""
            if col == COL_AFTER:
                return str(a.get("open_leads", 0) + self.planned[aid]) if aid in self.planned else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and col != COL_NAME:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and aid in self.excluded:
            return QColor("#999999")
        if role == Qt.ItemDataRole.FontRole and col == COL_PLANNED and self.planned.get(aid):
            font = QFont()
            font.setBold(True)
            return font
        return None


class DistributionDialog(QDialog):
    """Non-modal: the board stays live behind it."""

    finished_commit = Signal(object)  # the server's answer to a commit (dict)

    def __init__(self, service: TeamLeadService, parent: QWidget | None = None, *,
                 campaigns_source: Callable[[], list[tuple[str, str]]] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("distributionDialog")
        self.service = service
        self._campaigns_source = campaigns_source
        self.overview: dict[str, Any] | None = None
        self.preview: dict[str, Any] | None = None
        self._previewed_params: tuple[Any, ...] | None = None
        self.last_error: Message | None = None

        self.campaign = QComboBox(objectName="distCampaign")
        self.period = QSpinBox(objectName="distPeriod")
        self.period.setRange(1, 366)
        self.period.setValue(30)
        self.refresh_button = QPushButton(objectName="distRefresh")
        top = QHBoxLayout()
        self.campaign_label, self.period_label = QLabel(), QLabel()
        top.addWidget(self.campaign_label)
        top.addWidget(self.campaign, 1)
        top.addWidget(self.period_label)
        top.addWidget(self.period)
        top.addWidget(self.refresh_button)

        self.unassigned = QLabel(objectName="distUnassigned")
        self.unassigned.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.model = DistributionModel(self)
        self.table = QTableView(objectName="distAgents")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)

        self.count = QSpinBox(objectName="distCount")
        self.count.setRange(0, 10_000)
        self.even = QRadioButton(objectName="distEven")
        self.weighted = QRadioButton(objectName="distWeighted")
        self.even.setChecked(True)
        self.floor = QSpinBox(objectName="distFloor")
        self.floor.setRange(0, 10_000)
        mode = QHBoxLayout()
        mode.addWidget(self.even)
        mode.addWidget(self.weighted)
        mode.addStretch(1)
        form = QFormLayout()
        self.count_label, self.mode_label, self.floor_label = QLabel(), QLabel(), QLabel()
        form.addRow(self.count_label, self.count)
        form.addRow(self.mode_label, mode)
        form.addRow(self.floor_label, self.floor)

        self.preview_button = QPushButton(objectName="distPreview")
        self.commit_button = QPushButton(objectName="distCommit")
        self.commit_button.setEnabled(False)
        self.reclaim_button = QPushButton(objectName="distReclaim")
        self.close_button = QPushButton(objectName="distClose")
        buttons = QHBoxLayout()
        buttons.addWidget(self.reclaim_button)
        buttons.addStretch(1)
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.commit_button)
        buttons.addWidget(self.close_button)
        self.status = QLabel(objectName="distStatus")
        self.status.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.unassigned)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.resize(820, 560)

        self.refresh_button.clicked.connect(self.refresh)
        self.campaign.currentIndexChanged.connect(lambda _i: self.refresh())
        self.preview_button.clicked.connect(self.do_preview)
        self.commit_button.clicked.connect(self.do_commit)
        self.reclaim_button.clicked.connect(self.ask_reclaim)
        self.close_button.clicked.connect(self.close)
        for w in (self.count, self.floor, self.period):
            w.valueChanged.connect(self._params_changed)
        self.even.toggled.connect(self._params_changed)
        self.model.dataChanged.connect(self._checks_changed)
        for keys, fn in (("Ctrl+P", self.do_preview), ("Ctrl+Return", self.do_commit), ("Ctrl+R", self.refresh),
                         ("Del", self.ask_reclaim)):
            QShortcut(QKeySequence(keys), self, activated=fn)

        service.campaigns_loaded.connect(self._on_campaigns)
        service.distribution_loaded.connect(self._on_overview)
        service.distribution_previewed.connect(self._on_preview)
        service.distribution_committed.connect(self._on_committed)
        service.reclaimed.connect(self._on_reclaimed)
        service.failed.connect(self._on_failed)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("Distribution", "Distribute leads"))
        self.campaign_label.setText(QCoreApplication.translate("Distribution", "Campaign"))
        self.period_label.setText(QCoreApplication.translate("Distribution", "Conversion rate over (days)"))
        self.refresh_button.setText(QCoreApplication.translate("Distribution", "Refresh"))
        self.refresh_button.setToolTip("Ctrl+R")
        self.count_label.setText(QCoreApplication.translate("Distribution", "Leads to hand out"))
        self.mode_label.setText(QCoreApplication.translate("Distribution", "How"))
        self.even.setText(QCoreApplication.translate("Distribution", "Evenly"))
        self.weighted.setText(QCoreApplication.translate("Distribution", "Weighted by conversion rate"))
        self.floor_label.setText(QCoreApplication.translate("Distribution", "At least per agent"))
        self.preview_button.setText(QCoreApplication.translate("Distribution", "Preview"))
        self.preview_button.setToolTip("Ctrl+P")
        self.commit_button.setText(QCoreApplication.translate("Distribution", "Distribute"))
        self.commit_button.setToolTip(QCoreApplication.translate("Distribution", "Hands out exactly what the preview shows") + " (Ctrl+Enter)")
        self.reclaim_button.setText(QCoreApplication.translate("Distribution", "Reclaim leads…"))
        self.reclaim_button.setToolTip(QCoreApplication.translate("Distribution", "Take the selected agent's open leads back and hand them to the others")
                                       + " (Del)")
        self.close_button.setText(QCoreApplication.translate("Distribution", "Close"))
        self._show_unassigned()

    # -- loading ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Fill the campaign list (then the overview of the first campaign follows)."""
        if self._campaigns_source is not None:
            self.service.load_campaigns(self._campaigns_source)

    def set_campaigns(self, campaigns: list[tuple[str, str]]) -> None:
        self._on_campaigns(campaigns)

    def _on_campaigns(self, campaigns: list[tuple[str, str]]) -> None:
        current = self.campaign_id()
        self.campaign.blockSignals(True)
        self.campaign.clear()
        for cid, name in campaigns:
            self.campaign.addItem(name, cid)
        i = self.campaign.findData(current) if current else 0
        self.campaign.setCurrentIndex(max(0, i))
        self.campaign.blockSignals(False)
        self.refresh()

    def campaign_id(self) -> str | None:
        return self.campaign.currentData()

    def refresh(self) -> None:
        cid = self.campaign_id()
        if cid:
            self.service.load_distribution(cid, self.period.value())

    def _on_overview(self, overview: dict[str, Any]) -> None:
        if overview.get("campaign_id") != self.campaign_id():
            return
        self.overview = overview
        self.model.set_agents(overview.get("agents", []))
        self._clear_preview()
        self._show_unassigned()
        late = overview.get("after_reclaim") or []
        if late:
            self.status.setText(QCoreApplication.translate("Distribution", "%1 call results were recorded for leads after they were reclaimed; they are kept").replace("%1", str(len(late))))

    def _show_unassigned(self) -> None:
        n = (self.overview or {}).get("unassigned")
        self.unassigned.setText("" if n is None else QCoreApplication.translate("Distribution", "Unassigned leads: %1").replace("%1", str(n)))
        if n is not None and self.count.value() == 0:
            self.count.setValue(int(n))

    # -- preview and commit --------------------------------------------------------------------------
    def params(self) -> tuple[Any, ...]:
        return (self.campaign_id(), self.count.value(), "even" if self.even.isChecked() else "weighted",
                self.period.value(), self.floor.value(), tuple(self.model.included()))

    def _params_changed(self, *_a: Any) -> None:
        if self._previewed_params is not None and self.params() != self._previewed_params:
            self._clear_preview()
            self.status.setText(QCoreApplication.translate("Distribution", "Changed: preview again before distributing"))

    def _checks_changed(self, top: QModelIndex, _bottom: QModelIndex, roles: Any = ()) -> None:
        if top.column() == COL_NAME:
            self._params_changed()

    def _clear_preview(self) -> None:
        self.preview = None
        self._previewed_params = None
        self.model.set_planned({})
        self.commit_button.setEnabled(False)

    def do_preview(self) -> None:
        cid, count, mode, period, floor, agents = self.params()
        if not cid or not agents:
            return
        self._asked = self.params()
        self.service.preview_distribution(cid, count, mode, period, floor, list(agents))

    def _on_preview(self, result: dict[str, Any]) -> None:
        if getattr(self, "_asked", None) != self.params():
            return  # the parameters moved while it was on its way
        self.preview = result
        self._previewed_params = self.params()
        planned = {a["agent_id"]: int(a.get("planned", 0)) for a in result.get("agents", [])}
        self.model.set_planned(planned)
        total = sum(planned.values())
        self.status.setText(QCoreApplication.translate("Distribution", "Preview: %1 leads to %2 agents. Nothing is assigned until you press Distribute.")
                            .replace("%1", str(total)).replace("%2", str(sum(1 for v in planned.values() if v))))
        self.commit_button.setEnabled(total > 0)
        self.commit_button.setDefault(True)

    def do_commit(self) -> None:
        if self.preview is None or self._previewed_params != self.params():
            return
        cid, count, mode, period, floor, agents = self.params()
        self.commit_button.setEnabled(False)
        self.service.commit_distribution(cid, count, mode, period, floor, list(agents))

    def _on_committed(self, result: dict[str, Any]) -> None:
        self.status.setText(QCoreApplication.translate("Distribution", "Distributed %1 leads.").replace("%1", str(result.get("assigned", 0))))
        self.preview = None
        self._previewed_params = None
        self.finished_commit.emit(result)
        self.refresh()

    # -- reclaim -------------------------------------------------------------------------------------
    def selected_agent(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.agents[rows[0].row()] if rows else None

    def ask_reclaim(self) -> None:
        agent = self.selected_agent()
        cid = self.campaign_id()
        if agent is None or not cid:
            return
        name = agent.get("display_name") or agent.get("username")
        box = QMessageBox(QMessageBox.Icon.Question, QCoreApplication.translate("Distribution", "Reclaim leads"),
                          QCoreApplication.translate("Distribution", "Take %1's %2 open leads back and hand them to the other agents?\nWhatever %1 has recorded is kept.").replace("%1", name)
                          .replace("%2", str(agent.get("open_leads", 0))),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("reclaimConfirm")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        self.reclaim_box = box
        box.finished.connect(lambda r: self.reclaim(agent["agent_id"])
                             if r == QMessageBox.StandardButton.Yes else None)
        box.open()

    def reclaim(self, agent_id: str, redistribute: bool = True) -> None:
        cid = self.campaign_id()
        if cid:
            mode = "even" if self.even.isChecked() else "weighted"
            self.service.reclaim(agent_id, cid, redistribute, mode)

    def _on_reclaimed(self, result: dict[str, Any]) -> None:
        n = result.get("reclaimed", result.get("count", 0))
        if isinstance(n, list):
            n = len(n)
        self.status.setText(QCoreApplication.translate("Distribution", "Reclaimed %1 leads.").replace("%1", str(n)))
        self.refresh()

    def _on_failed(self, message: Message) -> None:
        self.last_error = message
        self.status.setText(messages.text(message))
        if self._previewed_params is not None:
            self.commit_button.setEnabled(True)
