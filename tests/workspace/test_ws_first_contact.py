"""New leads not contacted within 48 hours: a marker on exactly those rows of the real
lead list, their count in the status bar (a click lists only them), the marker moving
with the clock, and gone once the lead is dialled — real window, real cache, real SIP."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select, text

from app.i18n import Translations
from app.lead_service import LeadService
from app.settings import Settings
from app.workspace.runtime import WorkspaceRuntime
from cache import models as m
from ui.lead_table_model import STATUS_COLUMN

MARKER = "超48小时未联系"


class Clock:
    """The workspace's clock, moved by the test (the 48 hours are never waited for)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now


def _set_leads(handle, clock: Clock) -> dict[str, str]:
    """Every lead arrived just now; then four chosen ones get a history. Returns name → id."""
    now = clock.now.replace(tzinfo=None)
    with handle.session() as s:
        ids = dict(s.execute(select(m.Lead.name, m.Lead.id).order_by(m.Lead.external_id)).all())
    names = list(ids)
    overdue, almost, called, on_callback = names[:4]

    def at(hours: float) -> str:
        return (now - dt.timedelta(hours=hours)).isoformat(" ", "microseconds")

    with handle.write() as s:
        s.execute(text("UPDATE leads SET created_at = :t, status = 'new', last_attempt_at = NULL, "
                       "next_callback_at = NULL"), {"t": at(0)})
        s.execute(text("UPDATE leads SET created_at = :t WHERE id = :id"), {"t": at(50), "id": ids[overdue]})
        s.execute(text("UPDATE leads SET created_at = :t WHERE id = :id"), {"t": at(47), "id": ids[almost]})
        s.execute(text("UPDATE leads SET created_at = :t, last_attempt_at = :a WHERE id = :id"),
                  {"t": at(72), "a": at(60), "id": ids[called]})  # tried once: contacted, whatever the outcome
        s.execute(text("UPDATE leads SET created_at = :t, status = 'callback', next_callback_at = :c "
                       "WHERE id = :id"), {"t": at(72), "c": at(-24), "id": ids[on_callback]})
    return {"overdue": ids[overdue], "almost": ids[almost], "called": ids[called],
            "on_callback": ids[on_callback], "_names": ids}


@pytest.fixture
def window_at(qtbot, cache, tmp_path, qapp):
    from ui.main_window import MainWindow
    from ui.workspace.wiring import WorkspaceUi

    Translations.of(qapp).apply("zh_CN")
    handle, repo, _cid = cache
    clock = Clock()
    leads_by = _set_leads(handle, clock)
    settings = Settings()
    settings.extra = {"workspace": {"demo_behaviour": "answer", "demo_answer_delay_s": 0.3,
                                    "audio_backend": "tone"}}
    leads = LeadService(repo)
    window = MainWindow(leads)
    qtbot.addWidget(window)
    runtime = WorkspaceRuntime(handle, settings, tmp_path, demo=True, repository=repo, clock=clock)
    ui = WorkspaceUi(window, runtime, settings.shortcuts)
    runtime.start()
    assert runtime.wait_phone(20), "the softphone did not start"
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.leadsShown, timeout=10_000):
        window.refresh()
    yield window, runtime, ui, clock, leads_by
    runtime.stop()
    leads.shutdown()


def _status_cells(window) -> dict[str, tuple[str, object, str]]:
    """What the agent sees in the Status column: lead id → (text, colour, tooltip)."""
    model = window.model
    out = {}
    for row in range(model.rowCount()):
        index = model.index(row, STATUS_COLUMN)
        brush = model.data(index, Qt.ItemDataRole.ForegroundRole)
        out[model.lead_id(row)] = (model.data(index), brush.color().name() if brush is not None else None,
                                   model.data(index, Qt.ItemDataRole.ToolTipRole))
    return out


def _marked(window) -> set[str]:
    return {lead for lead, (shown, _c, _t) in _status_cells(window).items() if shown == MARKER}


def test_overdue_new_leads_are_marked_filtered_and_cleared_by_a_call(qtbot, qapp, window_at) -> None:
    window, runtime, ui, clock, leads = window_at
    button = ui.first_contact
    # The list: the marker on exactly the lead that has waited 50 h (not 47 h, not the one
    # already tried, not the one waiting for its callback); the count in the status bar.
    qtbot.waitUntil(lambda: button.isVisible() and button.text() == "1 位新客户 48 小时内未联系", timeout=5000)
    cells = _status_cells(window)
    assert len(cells) == 11  # 待拨打: every lead but the one with a callback
    assert _marked(window) == {leads["overdue"]}
    shown, colour, tip = cells[leads["overdue"]]
    assert shown == MARKER and colour == "#c0392b" and "48 小时内未拨打" in tip
    assert cells[leads["almost"]][0] == "待拨打" and cells[leads["almost"]][1] is None
    assert cells[leads["called"]][0] == "待拨打"
    # A click on the count lists only those leads; a second click lists all again.
    with qtbot.waitSignal(window.leadsShown, timeout=5000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [window.model.lead_id(r) for r in range(window.model.rowCount())] == [leads["overdue"]]
    with qtbot.waitSignal(window.leadsShown, timeout=5000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.model.rowCount() == 11
    # Two hours later the 47-hour lead is overdue too (the reminder check runs every 15 s).
    clock.now += dt.timedelta(hours=2)
    runtime.callbacks.check()
    qtbot.waitUntil(lambda: button.text() == "2 位新客户 48 小时内未联系", timeout=5000)
    qtbot.waitUntil(lambda: _marked(window) == {leads["overdue"], leads["almost"]}, timeout=5000)
    # The agent dials the overdue lead (Ctrl+D): the attempt ends its wait, marker and count follow.
    window.table.selectRow(window.model.row_of(leads["overdue"]))
    qtbot.waitUntil(lambda: window.current_lead_id() == leads["overdue"], timeout=5000)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: runtime.controller.active is not None, timeout=5000)
    assert runtime.controller.active.lead_id == leads["overdue"]
    qtbot.waitUntil(lambda: _marked(window) == {leads["almost"]}, timeout=5000)
    qtbot.waitUntil(lambda: button.text() == "1 位新客户 48 小时内未联系", timeout=5000)
    ui.actions["hangup"].trigger()
    qtbot.waitUntil(lambda: ui.wrapup.isVisible(), timeout=10_000)
    assert _marked(window) == {leads["almost"]}
    # In English the same marker reads as the .ts says.
    Translations.of(qapp).apply("en")
    try:
        qtbot.waitUntil(lambda: _status_cells(window)[leads["almost"]][0] == "Not contacted > 48 h", timeout=5000)
        assert button.text() == "1 new leads not contacted within 48 h"
    finally:
        Translations.of(qapp).apply("zh_CN")
