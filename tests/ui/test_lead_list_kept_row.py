"""The list keeps the agent's lead selected across a refresh (after a save it moves down
the list): its row and the rows around it come from the search worker, so the GUI thread
neither looks the lead up nor reads rows from SQL to show it."""

from __future__ import annotations

from app.demo.generated import generate_leads
from app.lead_service import FIRST_PAGE, LeadService
from cache.db import open_cache
from cache.repository import Repository
from ui.main_window import MainWindow


def test_refresh_keeps_a_far_lead_selected_without_gui_thread_reads(qtbot, tmp_path) -> None:
    handle = open_cache(tmp_path / "cache.sqlite3")
    leads = LeadService(Repository(handle))
    try:
        generate_leads(handle, 600)
        window = MainWindow(leads)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(window.leadsShown, timeout=10_000):
            window.refresh()
        far = 5 * FIRST_PAGE + 7  # well past the first page, which comes with every result
        assert window.model.rowCount() > far + FIRST_PAGE
        window.table.selectRow(far)  # the agent picks a lead down the list
        kept = window.model.lead_id(far)
        assert window.current_lead_id() == kept
        window.table.viewport().repaint()  # the click's own paint (it reads those rows once)
        gui_reads: list[list[str]] = []
        read_rows = window.model._load_rows
        window.model._load_rows = lambda ids: (gui_reads.append(list(ids)), read_rows(ids))[1]
        with qtbot.waitSignal(leads.searchFinished, timeout=10_000) as blocker:
            window.refresh()  # as after a save: the same list, the agent's lead stays selected
        result = blocker.args[0]
        assert result.keep_row == far
        window.table.scrollTo(window.model.index(far, 0))  # shown at the top or the bottom
        window.table.scrollTo(window.model.index(max(0, far - 30), 0))
        window.table.scrollTo(window.model.index(far + 30, 0))
        window.table.viewport().repaint()
        assert window.table.currentIndex().row() == far and window.current_lead_id() == kept
        shown = window.model.data(window.model.index(far, 0))
        assert shown and shown != "…"
        assert [window.model.row_of(r[0]) for r in gui_reads] == []  # rows read on the GUI thread: every row around the kept lead came with the result
        names = {r.id: r.name for r in leads.rows([kept])}
        assert shown == names[kept]
    finally:
        leads.shutdown()
        handle.close()
