"""The TL's desk work (issue #13): the daily report (日报表) and its export, lead distribution.

A QObject on the GUI thread that the screens in ``ui/supervisor/`` talk to. Every request
runs on one ``app.background`` worker through :class:`sync.coaching.TeamLeadClient` on a
:class:`~app.supervisor.common.BorrowedClient` (the sync thread's session, its own
connection); the answer comes back as a signal with plain data, a failure as a
``core.messages.Message`` (``failed``). The server is authoritative for every figure: this
service computes nothing but the export files, and those are written from rows the screen
hands over (what it shows, cell by cell), so the CSV and the XLSX hold exactly the table
on screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import Worker
from app.supervisor.common import ApiSource, BorrowedClient, TokenBorrower, failure_message
from sync.coaching import TeamLeadClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSheet:
    """One view of a screen as it is shown: a title, headers, rows of cells.

    ``values`` are the cells as numbers or text (what a spreadsheet should hold), ``texts``
    the same cells exactly as the screen paints them (what the CSV holds), ``formats`` an
    Excel number format per column ("" = general). ``bold_last`` marks a 合计 row."""

    name: str
    title: str
    headers: Sequence[str]
    values: Sequence[Sequence[Any]]
    texts: Sequence[Sequence[str]]
    formats: Sequence[str] = field(default_factory=tuple)
    bold_last: bool = False


def write_csv(path: Path, sheet: ExportSheet) -> None:
    """The sheet's texts as UTF-8 CSV with a BOM (Excel reads Chinese only with it)."""
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(sheet.headers))
        for row in sheet.texts:
            w.writerow(list(row))


def write_xlsx(path: Path, sheets: Sequence[ExportSheet]) -> None:
    """One worksheet per view: a title row, a bold coloured header, the cells with the number
    formats that make them read as on screen, the header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="305496")
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name[:31])
        ws.append([sheet.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(list(sheet.headers))
        for c in range(1, len(sheet.headers) + 1):
            cell = ws.cell(row=2, column=c)
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in sheet.values:
            ws.append(list(row))
        if sheet.bold_last and sheet.values:
            for c in range(1, len(sheet.headers) + 1):
                ws.cell(row=ws.max_row, column=c).font = Font(bold=True)
        for c, header in enumerate(sheet.headers, 1):
            letter = get_column_letter(c)
            ws.column_dimensions[letter].width = max(9, len(str(header)) * 2 + 2)
            fmt = sheet.formats[c - 1] if c - 1 < len(sheet.formats) else ""
            if fmt:
                for r in range(3, ws.max_row + 1):
                    ws[f"{letter}{r}"].number_format = fmt
        ws.freeze_panes = "A3"
    wb.save(path)


class TeamLeadService(QObject):
    report_loaded = Signal(object)  # dict: GET /reports/summary (docs/coaching.md §5)
    distribution_loaded = Signal(object)  # dict: the campaign's overview
    distribution_previewed = Signal(object)  # dict: planned per agent (nothing changed)
    distribution_committed = Signal(object)  # dict: assigned per agent
    reclaimed = Signal(object)  # dict
    campaigns_loaded = Signal(object)  # list[(campaign id, name)]
    questions_loaded = Signal(object)  # list[dict]: groups of similar questions (docs/coaching.md §3)
    question_answered = Signal(object)  # dict: the new script version, the questions answered
    exported = Signal(str)  # path written
    failed = Signal(object)  # core.messages.Message
    busy_changed = Signal(bool)

    def __init__(self, api_source: ApiSource, *, team_id: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tokens = TokenBorrower(api_source)
        self.team_id = team_id
        self._worker = Worker("team-lead-desk")
        self._client: BorrowedClient | None = None  # made and used on the worker only
        self._pending = 0
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        self._worker.stop()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- plumbing -------------------------------------------------------------------------
    def _tl(self) -> TeamLeadClient:
        if self._client is None:
            self._client = BorrowedClient(self._tokens.api().base_url, self._tokens, timeout=30)
        return TeamLeadClient(self._client)

    def _run(self, fn: Callable[[TeamLeadClient], Any], done: Callable[[Any], None], *,
             latest: str | None = None) -> None:
        if self._stopped:
            return
        self._set_busy(+1)

        def ok(result: Any) -> None:
            self._set_busy(-1)
            done(result)

        def bad(exc: BaseException) -> None:
            self._set_busy(-1)
            log.info("team lead request failed: %s", exc)
            self.failed.emit(failure_message(exc))

        self._worker.submit(lambda: fn(self._tl()), on_success=ok, on_failure=bad, latest=latest)

    def _set_busy(self, delta: int) -> None:
        before = self._pending > 0
        self._pending = max(0, self._pending + delta)
        if (self._pending > 0) != before:
            self.busy_changed.emit(self._pending > 0)

    # -- the daily report --------------------------------------------------------------------
    def load_report(self, date_from: str, date_to: str) -> None:
        """``YYYY-MM-DD`` local days, inclusive; ``report_loaded`` follows."""
        self._run(lambda tl: tl.report(date_from, date_to, self.team_id), self.report_loaded.emit,
                  latest="report")

    def export_csv(self, path: str, sheet: ExportSheet) -> None:
        self._export(lambda: write_csv(Path(path), sheet), path)

    def export_xlsx(self, path: str, sheets: Sequence[ExportSheet]) -> None:
        self._export(lambda: write_xlsx(Path(path), list(sheets)), path)

    def _export(self, write: Callable[[], None], path: str) -> None:
        self._run(lambda _tl: write(), lambda _r: self.exported.emit(path))

    # -- lead distribution ---------------------------------------------------------------------
    def load_distribution(self, campaign_id: str, period_days: int = 30) -> None:
        self._run(lambda tl: tl.distribution(campaign_id, self.team_id, period_days),
                  self.distribution_loaded.emit, latest="distribution")

    def preview_distribution(self, campaign_id: str, count: int, mode: str, period_days: int = 30,
                             floor: int = 0, agent_ids: Sequence[str] | None = None) -> None:
        self._run(lambda tl: tl.preview_distribution(campaign_id, count, mode, floor, period_days,
                                                     agent_ids, self.team_id),
                  self.distribution_previewed.emit, latest="preview")

    def commit_distribution(self, campaign_id: str, count: int, mode: str, period_days: int = 30,
                            floor: int = 0, agent_ids: Sequence[str] | None = None) -> None:
        self._run(lambda tl: tl.distribute(campaign_id, count, mode, floor, period_days, agent_ids,
                                           self.team_id),
                  self.distribution_committed.emit)

    def reclaim(self, agent_id: str, campaign_id: str, redistribute: bool = True, mode: str = "even") -> None:
        self._run(lambda tl: tl.reclaim(agent_id, campaign_id, redistribute, mode, self.team_id),
                  self.reclaimed.emit)

    # -- campaigns (from the TL's own cache: the pull brings every campaign of the team) --------------
    def load_campaigns(self, source: Callable[[], list[tuple[str, str]]]) -> None:
        """``source()`` runs on the worker (it reads the cache) and gives ``(id, name)`` pairs."""
        self._run(lambda _tl: list(source()), self.campaigns_loaded.emit, latest="campaigns")

    # -- the question inbox -----------------------------------------------------------------------------
    def load_questions(self, status: str = "open", campaign_id: str | None = None) -> None:
        self._run(lambda tl: tl.questions(campaign_id, status, self.team_id), self.questions_loaded.emit,
                  latest="questions")

    def answer_questions(self, campaign_id: str, question_ids: Sequence[str], question: str, answer: str) -> None:
        """The answer goes into the campaign's script under 异议处理 (a new version every agent pulls)."""
        ids = list(question_ids)
        self._run(lambda tl: tl.answer_questions(campaign_id, ids, question, answer, self.team_id),
                  self.question_answered.emit)
