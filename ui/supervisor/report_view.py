"""The daily report (日报表) for the TL: per agent and team, today or a date range.

- :class:`SheetModel` holds one view's rows as the server sent them and words each cell
  (``DisplayRole``) and its spreadsheet value (``VALUE_ROLE``) from one column spec, so
  :meth:`SheetModel.sheet` — read back through ``data()`` in the order the view shows it —
  is exactly the table on screen. The CSV takes its texts, the XLSX its values with number
  formats that read the same (``0.0%`` for rates …); the service writes both.
- :class:`ReportView`: the range (today, yesterday, last 7 days, this month, or two dates),
  the 坐席 and 按小时 tables (sortable; the 合计 row stays last) and two Qt Charts (calls and
  talk time by hour; conversions by agent). Keys: Ctrl+R refresh, Ctrl+E export XLSX,
  Ctrl+Shift+E export CSV (the current view), Alt+1…4 the quick ranges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QEvent,
    QMargins,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.supervisor.tl_service import ExportSheet, TeamLeadService
from core.messages import Message
from ui import messages

CONTEXT = "DailyReport"
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell as a number (or text) for the spreadsheet
TOTAL_ROLE = Qt.ItemDataRole.UserRole + 2  # True on the 合计 row

INT, MINUTES, RATE, SECONDS, TEXT, TARGET = "int", "minutes", "rate", "seconds", "text", "target"
# Excel number format per kind: the spreadsheet shows what the screen shows.
FORMATS = {INT: "0", MINUTES: "0.0", RATE: "0.0%", SECONDS: "0", TEXT: "", TARGET: ""}


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # English source (QT_TRANSLATE_NOOP)
    kind: str


AGENT_COLUMNS = (
    Column("display_name", QT_TRANSLATE_NOOP("DailyReport", "Agent"), TEXT),
    Column("calls_made", QT_TRANSLATE_NOOP("DailyReport", "Calls"), INT),
    Column("talk_minutes", QT_TRANSLATE_NOOP("DailyReport", "Talk (min)"), MINUTES),
    Column("connected", QT_TRANSLATE_NOOP("DailyReport", "Connected"), INT),
    Column("connect_rate", QT_TRANSLATE_NOOP("DailyReport", "Connect rate"), RATE),
    Column("conversions", QT_TRANSLATE_NOOP("DailyReport", "Conversions"), INT),
    Column("conversion_rate", QT_TRANSLATE_NOOP("DailyReport", "Conversion rate"), RATE),
    Column("callbacks_set", QT_TRANSLATE_NOOP("DailyReport", "Callbacks set"), INT),
    Column("avg_handle_seconds", QT_TRANSLATE_NOOP("DailyReport", "Avg handle (s)"), SECONDS),
    Column("avg_wrap_seconds", QT_TRANSLATE_NOOP("DailyReport", "Avg wrap-up (s)"), SECONDS),
    Column("quick_refusals", QT_TRANSLATE_NOOP("DailyReport", "Refused < 30 s"), INT),
    Column("targets_met", QT_TRANSLATE_NOOP("DailyReport", "Targets met"), TARGET),
)
HOUR_COLUMNS = (
    Column("hour", QT_TRANSLATE_NOOP("DailyReport", "Hour"), TEXT),
    Column("calls_made", QT_TRANSLATE_NOOP("DailyReport", "Calls"), INT),
    Column("talk_minutes", QT_TRANSLATE_NOOP("DailyReport", "Talk (min)"), MINUTES),
)


def cell(kind: str, raw: Any, row: dict[str, Any], *, total: bool = False) -> tuple[Any, str]:
    """(spreadsheet value, screen text) of one cell."""
    if kind == INT:
        v = int(raw or 0)
        return v, str(v)
    if kind == MINUTES:
        v = round(float(raw or 0), 1)
        return v, f"{v:.1f}"
    if kind == RATE:
        v = round(float(raw or 0), 4)
        return v, f"{v * 100:.1f}%"
    if kind == SECONDS:
        v = round(float(raw or 0))
        return v, str(v)
    if kind == TARGET:
        if total:
            text = f"{int(raw or 0)}/{int(row.get('agents') or 0)}"
        else:
            text = QCoreApplication.translate("DailyReport", "Yes") if raw else QCoreApplication.translate("DailyReport", "No")
        return text, text
    text = "" if raw is None else str(raw)
    return text, text


class SheetModel(QAbstractTableModel):
    """One view of the report: rows of server data, worded by the column spec; a 合计 row last."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._rows: list[dict[str, Any]] = []
        self._total: dict[str, Any] | None = None
        self._cells: list[list[tuple[Any, str]]] = []

    def set_rows(self, rows: Sequence[dict[str, Any]], total: dict[str, Any] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._total = total
        self._build()
        self.endResetModel()

    def _build(self) -> None:
        self._cells = []
        for r in self._rows:
            self._cells.append([cell(c.kind, r.get(c.key), r) for c in self.columns])
        if self._total is not None:
            t = self._total
            self._cells.append([(QCoreApplication.translate("DailyReport", "Total"), QCoreApplication.translate("DailyReport", "Total")) if i == 0 else cell(c.kind, t.get(c.key), t, total=True)
                                for i, c in enumerate(self.columns)])

    def retranslate(self) -> None:
        self.beginResetModel()
        self._build()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def is_total(self, row: int) -> bool:
        return self._total is not None and row == len(self._cells) - 1

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.columns[section].header)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value, text = self._cells[index.row()][index.column()]
        kind = self.columns[index.column()].kind
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == VALUE_ROLE:
            return value
        if role == TOTAL_ROLE:
            return self.is_total(index.row())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if kind in (TEXT, TARGET):
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.is_total(index.row()):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and kind == TARGET and not self.is_total(index.row()):
            met = self._rows[index.row()].get("targets_met")
            return QColor("#1e8449") if met else QColor("#b03a2e")
        return None


class TotalLastProxy(QSortFilterProxyModel):
    """Sorts by the cells' values; the 合计 row stays at the bottom either way."""

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        lt, rt = left.data(TOTAL_ROLE), right.data(TOTAL_ROLE)
        if lt or rt:
            asc = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (not lt) if asc else bool(lt)
        a, b = left.data(VALUE_ROLE), right.data(VALUE_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)


def sheet_of(name: str, title: str, view: QTableView) -> ExportSheet:
    """What ``view`` shows, row by row in its order: headers, cell texts, cell values."""
    model = view.model()
    src = model.sourceModel() if isinstance(model, QSortFilterProxyModel) else model
    assert isinstance(src, SheetModel)
    cols = range(model.columnCount())
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in cols]
    texts, values = [], []
    for r in range(model.rowCount()):
        texts.append([model.index(r, c).data(Qt.ItemDataRole.DisplayRole) for c in cols])
        values.append([model.index(r, c).data(VALUE_ROLE) for c in cols])
    last_total = bool(model.rowCount()) and bool(model.index(model.rowCount() - 1, 0).data(TOTAL_ROLE))
    return ExportSheet(name, title, headers, values, texts, [FORMATS[src.columns[c].kind] for c in cols],
                       bold_last=last_total)


def _count_axis(axis: QValueAxis, top: float) -> None:
    """Whole-number ticks from 0 for counts (0, 1, 2 … or 0, 5, 10 …), a little room on top."""
    top = max(1.0, top)
    step = next(st for st in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10**9) if top / st <= 5)
    ticks = int(top // step) + 2
    axis.setRange(0, step * (ticks - 1))
    axis.setTickCount(ticks)


def _cleared(chart: QChart, title: str) -> QChart:
    """The chart emptied of its series and axes, under `title`."""
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    chart.setTitle(title)
    return chart


def _table(model: QAbstractTableModel, name: str) -> tuple[QTableView, TotalLastProxy]:
    proxy = TotalLastProxy()
    proxy.setSourceModel(model)
    view = QTableView(objectName=name)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the server's order until a header click
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view, proxy


class ReportView(QWidget):
    """The 日报表 screen; talks to :class:`TeamLeadService` only through calls and its signals."""

    loaded = Signal()  # a report is on screen (tables and charts)

    def __init__(self, service: TeamLeadService, parent: QWidget | None = None, *,
                 today: dt.date | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dailyReport")
        self.service = service
        self._today = today
        self.report: dict[str, Any] | None = None
        self.last_error: Message | None = None

        bar = QHBoxLayout()
        self.date_from = QDateEdit(objectName="reportFrom")
        self.date_to = QDateEdit(objectName="reportTo")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.dash = QLabel("–")
        self.quick: dict[str, QPushButton] = {}
        self.range_label = QLabel()
        bar.addWidget(self.range_label)
        bar.addWidget(self.date_from)
        bar.addWidget(self.dash)
        bar.addWidget(self.date_to)
        for i, key in enumerate(("today", "yesterday", "week", "month"), start=1):
            b = QPushButton(objectName=f"reportQuick_{key}")
            b.setShortcut(QKeySequence(f"Alt+{i}"))
            b.clicked.connect(lambda _c=False, k=key: self.set_quick(k))
            self.quick[key] = b
            bar.addWidget(b)
        bar.addStretch(1)
        self.refresh_button = QPushButton(objectName="reportRefresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.xlsx_button = QPushButton(objectName="reportExportXlsx")
        self.xlsx_button.clicked.connect(lambda: self.ask_export("xlsx"))
        self.csv_button = QPushButton(objectName="reportExportCsv")
        self.csv_button.clicked.connect(lambda: self.ask_export("csv"))
        for b in (self.refresh_button, self.xlsx_button, self.csv_button):
            bar.addWidget(b)
        for keys, fn in (("Ctrl+R", self.refresh), ("Ctrl+E", lambda: self.ask_export("xlsx")),
                         ("Ctrl+Shift+E", lambda: self.ask_export("csv"))):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)

        self.summary = QLabel(objectName="reportSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.status = QLabel(objectName="reportStatus")
        self.status.setStyleSheet("color: #666;")

        self.agents_model = SheetModel(AGENT_COLUMNS, self)
        self.hours_model = SheetModel(HOUR_COLUMNS, self)
        self.agents_view, self.agents_proxy = _table(self.agents_model, "reportAgents")
        self.hours_view, self.hours_proxy = _table(self.hours_model, "reportHours")
        self.tabs = QTabWidget(objectName="reportTabs")
        self.tabs.addTab(self.agents_view, "")
        self.tabs.addTab(self.hours_view, "")

        self.hour_chart = QChart()
        self.hour_chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.agent_chart = QChart()
        self.agent_chart.legend().setVisible(False)
        for chart in (self.hour_chart, self.agent_chart):
            chart.setMargins(QMargins(0, 0, 0, 0))
            chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.hour_chart_view = QChartView(self.hour_chart, objectName="reportHourChart")
        self.agent_chart_view = QChartView(self.agent_chart, objectName="reportAgentChart")
        charts = QWidget()
        ch = QHBoxLayout(charts)
        ch.setContentsMargins(0, 0, 0, 0)
        for v in (self.hour_chart_view, self.agent_chart_view):
            v.setRenderHint(QPainter.RenderHint.Antialiasing)
            v.setMinimumHeight(220)
            ch.addWidget(v, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        split.addWidget(charts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(bar)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

        service.report_loaded.connect(self._on_report)
        service.failed.connect(self._on_failed)
        service.exported.connect(self._on_exported)
        service.busy_changed.connect(self._on_busy)
        self.retranslate()
        self.set_quick("today", load=False)

    # -- texts --------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.range_label.setText(QCoreApplication.translate("DailyReport", "Period"))
        labels = {"today": QCoreApplication.translate("DailyReport", "Today"), "yesterday": QCoreApplication.translate("DailyReport", "Yesterday"), "week": QCoreApplication.translate("DailyReport", "Last 7 days"),
                  "month": QCoreApplication.translate("DailyReport", "This month")}
        for i, (key, b) in enumerate(self.quick.items(), start=1):
            b.setText(labels[key])
            b.setToolTip(f"Alt+{i}")
        self.refresh_button.setText(QCoreApplication.translate("DailyReport", "Refresh"))
        self.refresh_button.setToolTip("Ctrl+R")
        self.xlsx_button.setText(QCoreApplication.translate("DailyReport", "Export Excel…"))
        self.xlsx_button.setToolTip(QCoreApplication.translate("DailyReport", "All views, one sheet each") + " (Ctrl+E)")
        self.csv_button.setText(QCoreApplication.translate("DailyReport", "Export CSV…"))
        self.csv_button.setToolTip(QCoreApplication.translate("DailyReport", "The view shown") + " (Ctrl+Shift+E)")
        self.tabs.setTabText(0, QCoreApplication.translate("DailyReport", "By agent"))
        self.tabs.setTabText(1, QCoreApplication.translate("DailyReport", "By hour"))
        self.agents_model.retranslate()
        self.hours_model.retranslate()
        self._refresh_summary()
        self._draw_charts()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # -- the range --------------------------------------------------------------------------------
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def set_quick(self, key: str, *, load: bool = True) -> None:
        today = self.today()
        first, last = {
            "today": (today, today),
            "yesterday": (today - dt.timedelta(days=1), today - dt.timedelta(days=1)),
            "week": (today - dt.timedelta(days=6), today),
            "month": (today.replace(day=1), today),
        }[key]
        self.set_range(first, last, load=load)

    def set_range(self, first: dt.date, last: dt.date, *, load: bool = True) -> None:
        self.date_from.setDate(QDate(first.year, first.month, first.day))
        self.date_to.setDate(QDate(last.year, last.month, last.day))
        if load:
            self.refresh()

    def range(self) -> tuple[str, str]:
        a, b = self.date_from.date().toPython(), self.date_to.date().toPython()
        if b < a:
            a, b = b, a
        return a.isoformat(), b.isoformat()

    def refresh(self) -> None:
        self.status.setText(QCoreApplication.translate("DailyReport", "Loading…"))
        self.service.load_report(*self.range())

    # -- the answer -----------------------------------------------------------------------------
    def _on_report(self, report: dict[str, Any]) -> None:
        self.report = report
        self.last_error = None
        self.agents_model.set_rows(report.get("agents", []), report.get("totals"))
        hours = report.get("by_hour", [])
        active = [h["hour"] for h in hours if h.get("calls_made")]
        lo, hi = min([8, *active]), max([20, *active])
        self.hours_model.set_rows([{**h, "hour": f"{h['hour']:02d}:00"} for h in hours if lo <= h["hour"] <= hi],
                                  None)
        self._refresh_summary()
        self._draw_charts()
        self.status.setText(QCoreApplication.translate("DailyReport", "Updated %1").replace("%1", dt.datetime.now().strftime("%H:%M:%S")))
        self.loaded.emit()

    def _on_failed(self, message: Message) -> None:
        self.last_error = message
        self.status.setText(messages.text(message))

    def _on_busy(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)

    def _on_exported(self, path: str) -> None:
        self.status.setText(QCoreApplication.translate("DailyReport", "Saved to %1").replace("%1", path))

    def title(self) -> str:
        r = self.report or {}
        first, last = r.get("from", ""), r.get("to", "")
        span = first if first == last else f"{first} – {last}"
        team = r.get("team") or ""
        return " · ".join(x for x in (QCoreApplication.translate("DailyReport", "Daily report"), span, team) if x)

    def _refresh_summary(self) -> None:
        r = self.report
        if not r:
            self.summary.setText("")
            return
        t, targets = r.get("totals", {}), r.get("targets", {})
        self.summary.setText(
            QCoreApplication.translate("DailyReport", "%1 · %2 agents · target per agent and day: %3 calls, %4 min talk · %5 at target")
            .replace("%1", self.title()).replace("%2", str(t.get("agents", 0)))
            .replace("%3", str(targets.get("calls_per_day", ""))).replace("%4", str(targets.get("talk_minutes_per_day", "")))
            .replace("%5", f"{t.get('targets_met', 0)}/{t.get('agents', 0)}"))

    # -- charts -----------------------------------------------------------------------------------
    def _draw_charts(self) -> None:
        r = self.report or {}
        self._draw_hours(self.hours_model_rows())
        self._draw_agents(r.get("agents", []))

    def hours_model_rows(self) -> list[dict[str, Any]]:
        return list(self.hours_model._rows)

    def _draw_hours(self, hours: list[dict[str, Any]]) -> None:
        chart = _cleared(self.hour_chart, QCoreApplication.translate("DailyReport", "Calls and talk time by hour"))
        if not hours:
            return
        calls = QBarSet(QCoreApplication.translate("DailyReport", "Calls"))
        calls.setColor(QColor("#4a7dbf"))
        calls.append([float(h.get("calls_made", 0)) for h in hours])
        bars = QBarSeries()
        bars.append(calls)
        line = QLineSeries()
        line.setName(QCoreApplication.translate("DailyReport", "Talk (min)"))
        line.setColor(QColor("#e67e22"))
        for i, h in enumerate(hours):
            line.append(float(i), float(h.get("talk_minutes", 0)))
        chart.addSeries(bars)
        chart.addSeries(line)
        x = QBarCategoryAxis()
        x.append([str(h["hour"])[:2] for h in hours])
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        y_calls = QValueAxis()
        y_calls.setLabelFormat("%d")
        _count_axis(y_calls, max(float(h.get("calls_made", 0)) for h in hours))
        y_talk = QValueAxis()
        y_talk.setLabelFormat("%d")
        _count_axis(y_talk, max(float(h.get("talk_minutes", 0)) for h in hours))
        chart.addAxis(y_calls, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(y_talk, Qt.AlignmentFlag.AlignRight)
        bars.attachAxis(x)
        bars.attachAxis(y_calls)
        line.attachAxis(x)
        line.attachAxis(y_talk)

    def _draw_agents(self, agents: list[dict[str, Any]]) -> None:
        chart = _cleared(self.agent_chart, QCoreApplication.translate("DailyReport", "Conversions by agent"))
        if not agents:
            return
        conv = QBarSet(QCoreApplication.translate("DailyReport", "Conversions"))
        conv.setColor(QColor("#27ae60"))
        conv.append([float(a.get("conversions", 0)) for a in agents])
        bars = QBarSeries()
        bars.append(conv)
        bars.setLabelsVisible(True)
        chart.addSeries(bars)
        x = QBarCategoryAxis()
        x.append([a.get("display_name") or a.get("username") or "" for a in agents])
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        y = QValueAxis()
        y.setLabelFormat("%d")
        _count_axis(y, max(float(a.get("conversions", 0)) for a in agents))
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        bars.attachAxis(x)
        bars.attachAxis(y)

    # -- export ---------------------------------------------------------------------------------------
    def sheets(self) -> list[ExportSheet]:
        """Every view as shown (one XLSX sheet each)."""
        title = self.title()
        return [sheet_of(QCoreApplication.translate("DailyReport", "By agent"), title, self.agents_view), sheet_of(QCoreApplication.translate("DailyReport", "By hour"), title, self.hours_view)]

    def current_sheet(self) -> ExportSheet:
        return self.sheets()[self.tabs.currentIndex()]

    def default_name(self, ext: str) -> str:
        first, last = self.range()
        span = first if first == last else f"{first}_{last}"
        return f"{QCoreApplication.translate('DailyReport', 'Daily report')}_{span}.{ext}"

    def ask_export(self, fmt: str) -> None:
        if self.report is None:
            return
        caption = QCoreApplication.translate("DailyReport", "Export Excel…") if fmt == "xlsx" else QCoreApplication.translate("DailyReport", "Export CSV…")
        filt = QCoreApplication.translate("DailyReport", "Excel workbook (*.xlsx)") if fmt == "xlsx" else QCoreApplication.translate("DailyReport", "CSV file (*.csv)")
        path, _sel = QFileDialog.getSaveFileName(self, caption, self.default_name(fmt), filt)
        if path:
            self.export(fmt, path)

    def export(self, fmt: str, path: str) -> None:
        """Write what the screen shows: XLSX every view, CSV the view shown."""
        if fmt == "xlsx":
            self.service.export_xlsx(path, self.sheets())
        else:
            self.service.export_csv(path, self.current_sheet())


class ReportWindow(QWidget):
    """The report in a window of its own (the 班组 menu opens it; a second screen can hold it)."""

    def __init__(self, service: TeamLeadService, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("dailyReportWindow")
        self.view = ReportView(service, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.resize(1180, 760)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(QCoreApplication.translate("DailyReport", "Daily report"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
