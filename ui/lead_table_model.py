"""The lead list: a table model over lead ids with rows loaded lazily by page.

A search result is just ids (100,000 of them costs a few MB); rows are read
from the service a page at a time when the view asks for them, and a bounded
number of pages is kept. A page that fails to load shows empty, disabled rows
instead of raising inside data().
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from core.contract import LeadStatus
from ui import formatting

log = logging.getLogger(__name__)

PAGE = 50  # = app.lead_service.FIRST_PAGE: the first page arrives with the search result
MAX_PAGES = 64

# (attribute on LeadRow, header). Headers are translated when asked for.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", QT_TRANSLATE_NOOP("LeadTableModel", "Name")),
    ("masked_phone", QT_TRANSLATE_NOOP("LeadTableModel", "Phone")),
    ("city", QT_TRANSLATE_NOOP("LeadTableModel", "City")),
    ("plate", QT_TRANSLATE_NOOP("LeadTableModel", "Plate")),
    ("vehicle", QT_TRANSLATE_NOOP("LeadTableModel", "Vehicle")),
    ("policy_expiry", QT_TRANSLATE_NOOP("LeadTableModel", "Policy expiry")),
    ("priority", QT_TRANSLATE_NOOP("LeadTableModel", "Priority")),
    ("status", QT_TRANSLATE_NOOP("LeadTableModel", "Status")),
    ("next_callback_at", QT_TRANSLATE_NOOP("LeadTableModel", "Callback")),
    ("last_disposition", QT_TRANSLATE_NOOP("LeadTableModel", "Last result")),
)

STATUS_LABELS = {
    LeadStatus.NEW: QT_TRANSLATE_NOOP("LeadStatus", "New"),
    LeadStatus.CALLBACK: QT_TRANSLATE_NOOP("LeadStatus", "Callback"),
    LeadStatus.DONE: QT_TRANSLATE_NOOP("LeadStatus", "Done"),
    LeadStatus.CLOSED: QT_TRANSLATE_NOOP("LeadStatus", "Closed"),
}

LeadIdRole = Qt.ItemDataRole.UserRole + 1
# True for a lead past the first-contact window (new, never tried, received > 48 h ago).
FirstContactOverdueRole = Qt.ItemDataRole.UserRole + 2
STATUS_COLUMN = next(i for i, (attr, _h) in enumerate(COLUMNS) if attr == "status")
OVERDUE_COLOUR = "#c0392b"
# data() and flags() run thousands of times per repaint: compare plain ints, build flags once.
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_OVERDUE_ROLE = FirstContactOverdueRole.value if hasattr(FirstContactOverdueRole, "value") \
    else int(FirstContactOverdueRole)
_TIP = len(COLUMNS)  # texts[_TIP]: the overdue tooltip ("" when the lead is not overdue)
_LEAD_ID = LeadIdRole.value if hasattr(LeadIdRole, "value") else int(LeadIdRole)
_ENABLED = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_DISABLED = Qt.ItemFlag.NoItemFlags


class LeadTableModel(QAbstractTableModel):
    def __init__(self, load_rows: Callable[[Sequence[str]], list[Any]], parent=None):
        super().__init__(parent)
        self._load_rows = load_rows
        self._ids: Sequence[str] = ()
        # Rows shown; more than len(_ids) while only the first page of a start-up list is
        # known (the rest shows "…" until the full list replaces it, a moment later).
        self._count = 0
        self._pages: OrderedDict[int, list[Any] | None] = OrderedDict()
        # Display strings per row, formatted once (dates/status through QLocale and
        # translators are the costly part of a repaint); dropped with the pages.
        self._texts: dict[int, tuple[str, ...]] = {}
        # The same per row *object* (id -> (row, texts)), across results: the repository hands out
        # the same frozen LeadRow for a lead until it changes, so the rows a keystroke keeps on
        # screen are not formatted again (~1.4 ms of a ~7 ms paint when all are formatted).
        self._by_row: dict[int, tuple[Any, tuple[str, ...]]] = {}
        # The first-contact rule (set by the workspace): returns the moment a waiting lead
        # must have reached this device by to be overdue now (naive UTC), or None.
        self._overdue_before: Callable[[], dt.datetime | None] | None = None
        self._overdue_brush = QBrush(QColor(OVERDUE_COLOUR))

    def set_first_contact_rule(self, overdue_before: Callable[[], dt.datetime | None] | None) -> None:
        """Mark leads waiting for a first contact since before ``overdue_before()`` (in Status)."""
        self._overdue_before = overdue_before
        self.refresh_flags()

    def refresh_flags(self) -> None:
        """Re-evaluate the markers (time has passed): formats again, reads nothing."""
        self._texts.clear()
        self._by_row.clear()
        if self._count:
            self.dataChanged.emit(self.index(0, STATUS_COLUMN), self.index(self._count - 1, STATUS_COLUMN))

    # -- feeding -------------------------------------------------------------
    def set_result(self, ids: Sequence[str], first_rows: Sequence[Any] = (), kept_start: int = 0,
                   kept_rows: Sequence[Any] = ()) -> None:
        """Show ``ids``; ``first_rows`` are its first rows, ``kept_rows`` the rows from row
        ``kept_start`` on (around the kept selection), both read by the search worker."""
        # A tuple, or the search index's lazily made result (kept as is: copying it would make
        # every matching id on every keystroke); a list is copied (the caller may change it).
        new_ids = tuple(ids) if isinstance(ids, list) else ids
        count = max(len(new_ids), int(getattr(ids, "total", 0)))
        if count == self._count and new_ids == self._ids and count == len(new_ids):
            # Same rows in the same order (a refresh after a sync page, a repeated search):
            # no reset — the view keeps its scroll position and selection, and only the
            # visible rows are re-read and repainted.
            self._pages.clear()
            self._texts.clear()
            self._store_first(first_rows)
            self._store_kept(kept_start, kept_rows)
            if count:
                self.dataChanged.emit(self.index(0, 0), self.index(count - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._count = count
        self._ids = new_ids
        self._pages.clear()
        self._texts.clear()
        self._store_first(first_rows)
        self._store_kept(kept_start, kept_rows)
        self.endResetModel()

    def _store_first(self, first_rows: Sequence[Any]) -> None:
        # The worker already read the first rows; slice them into pages.
        first = list(first_rows)
        for page in range(0, len(first) // PAGE + 1):
            chunk = first[page * PAGE : (page + 1) * PAGE]
            if chunk and len(chunk) == min(PAGE, len(self._ids) - page * PAGE):
                self._pages[page] = chunk

    def _store_kept(self, start: int, rows: Sequence[Any]) -> None:
        # The pages around the kept selection, read by the worker: the view scrolls there
        # and would otherwise read them from SQL on the GUI thread while painting. Whole
        # pages only, placed by id like _fetch_page; a page with a lead missing from the
        # read (deleted meanwhile) is left to _fetch_page, which shows it disabled.
        if not rows or start % PAGE or start >= len(self._ids):
            return
        by_id = {r.id: r for r in rows}
        for page in range(start // PAGE, (start + len(rows) + PAGE - 1) // PAGE):
            ids = self._ids[page * PAGE : (page + 1) * PAGE]
            if page not in self._pages and all(i in by_id for i in ids):
                self._pages[page] = [by_id[i] for i in ids]

    def lead_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, lead_id: str) -> int:
        try:
            return self._ids.index(lead_id)
        except ValueError:
            return -1

    def refresh_rows(self) -> None:
        """Drop cached pages (after a change) and repaint."""
        self._pages.clear()
        self._texts.clear()
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(COLUMNS) - 1))

    def retranslate(self) -> None:
        self._texts.clear()
        self._by_row.clear()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(COLUMNS) - 1))

    # -- Qt model API --------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("LeadTableModel", COLUMNS[section][1])
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if index.row() in self._texts:
            return _ENABLED  # formatted, so its row was read (the common case while painting)
        if not index.isValid():
            return _DISABLED
        row = index.row()
        if row >= len(self._ids):
            return _DISABLED  # not known yet (start-up first page)
        rows = self._pages.get(row // PAGE, ...)
        if rows is None or (rows is not ... and (row % PAGE >= len(rows) or rows[row % PAGE] is None)):
            return _DISABLED  # failed or vanished rows are shown disabled, not raised
        return _ENABLED

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY):
        role = role if role.__class__ is int else int(role.value if hasattr(role, "value") else role)
        if role == _DISPLAY:
            texts = self._texts.get(index.row())
            if texts is None:
                if not index.isValid():
                    return None
                texts = self._texts_of(index.row())
                if texts is None:
                    return "…"
            return texts[index.column()]
        if role == _FOREGROUND:  # asked for every painted cell: only the Status column has one
            if index.column() != STATUS_COLUMN:
                return None
            texts = self._texts_of(index.row())
            return self._overdue_brush if texts and texts[_TIP] else None
        if role == _TOOLTIP:
            if not index.isValid():
                return None
            texts = self._texts_of(index.row())
            if texts is None:
                return None
            column = index.column()
            return texts[_TIP] if column == STATUS_COLUMN and texts[_TIP] else texts[column]
        if role == _OVERDUE_ROLE:
            texts = self._texts_of(index.row()) if index.isValid() else None
            return bool(texts and texts[_TIP])
        if role == _LEAD_ID and index.isValid():
            return self.lead_id(index.row())
        return None

    def _texts_of(self, r: int) -> tuple[str, ...] | None:
        texts = self._texts.get(r)
        if texts is None and r >= 0:
            row = self._row(r)
            if row is None:
                return None
            known = self._by_row.get(id(row))
            if known is not None and known[0] is row:
                texts = known[1]
            else:
                texts = (*(self._display(attr, getattr(row, attr, None)) for attr, _h in COLUMNS), "")
                waiting = getattr(row, "waiting_since", None)
                limit = self._overdue_before() if waiting is not None and self._overdue_before is not None else None
                if limit is not None and waiting <= limit:
                    texts = self._overdue_texts(texts, waiting)
                if len(self._by_row) > PAGE * MAX_PAGES:
                    self._by_row.clear()
                self._by_row[id(row)] = (row, texts)
            if len(self._texts) > PAGE * MAX_PAGES:
                self._texts.clear()
            self._texts[r] = texts
        return texts

    @staticmethod
    def _overdue_texts(texts: tuple[str, ...], waiting: dt.datetime) -> tuple[str, ...]:
        local = waiting.replace(tzinfo=dt.timezone.utc).astimezone().replace(tzinfo=None)
        status = QCoreApplication.translate("LeadTableModel", "Not contacted > 48 h")
        tip = QCoreApplication.translate(
            "LeadTableModel", "New lead, received %1, not called within 48 hours: call it first"
        ).replace("%1", formatting.datetime_short(local))
        out = list(texts)
        out[STATUS_COLUMN], out[_TIP] = status, tip
        return tuple(out)

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _display(attr: str, value: Any) -> str:
        if value is None:
            return ""
        if attr == "policy_expiry":
            return formatting.date_short(value)
        if attr == "next_callback_at":
            return formatting.datetime_short(value)
        if attr == "status":
            label = STATUS_LABELS.get(value)
            return QCoreApplication.translate("LeadStatus", label) if label else str(value)
        if attr == "priority":
            return formatting.integer(value)
        return str(value)

    def _row(self, row: int) -> Any | None:
        if not 0 <= row < len(self._ids):
            return None
        page = row // PAGE
        rows = self._pages.get(page, ...)
        if rows is ...:
            rows = self._fetch_page(page)
        else:
            self._pages.move_to_end(page)
        if rows is None:
            return None
        offset = row - page * PAGE
        return rows[offset] if offset < len(rows) else None

    def _fetch_page(self, page: int) -> list[Any] | None:
        ids = self._ids[page * PAGE : (page + 1) * PAGE]
        try:
            loaded = self._load_rows(ids)
            by_id = {r.id: r for r in loaded}
            rows: list[Any] | None = [by_id.get(i) for i in ids]
        except Exception:
            log.exception("loading lead rows %d..%d failed", page * PAGE, page * PAGE + len(ids) - 1)
            rows = None
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            evicted, _rows = self._pages.popitem(last=False)
            for r in range(evicted * PAGE, (evicted + 1) * PAGE):
                self._texts.pop(r, None)
        return rows
