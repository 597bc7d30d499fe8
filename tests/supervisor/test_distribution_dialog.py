"""The TL's lead distribution dialog against the real server: the overview, reclaiming an
absent agent's leads (handed to the others, or back to the pool), a weighted preview that
changes nothing, a commit of exactly the preview, and a commit refused until re-previewed
when a parameter moved."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.supervisor.tl_service import TeamLeadService
from ui.supervisor.distribution_dialog import COL_NAME, COL_PLANNED, DistributionDialog


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


def _campaigns(api) -> list[tuple[str, str]]:
    out, cursor = [], None
    while True:
        page = api.pull(cursor)
        out += [(c.id, c.data["name"]) for c in page.changes if c.entity == "campaign" and c.data]
        cursor = page.next_cursor
        if not page.has_more:
            return out


def _open(dialog) -> dict[str, int]:
    return {a["username"]: a["open_leads"] for a in dialog.overview["agents"]}


def _row(dialog, username: str) -> int:
    return next(i for i, a in enumerate(dialog.model.agents) if a["username"] == username)


def test_reclaim_preview_and_commit_through_the_dialog(qtbot, login) -> None:
    tl = login("zhangwei")
    service = TeamLeadService(lambda: tl)
    dialog = DistributionDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(service.distribution_loaded, timeout=20_000):
            dialog.set_campaigns(_campaigns(tl))
        ov = dialog.overview
        assert ov is not None and len(ov["agents"]) >= 5
        assert dialog.unassigned.text().startswith("未分配名单")
        before = _open(dialog)
        absent = max(before, key=before.get)  # the agent with most open leads is away today
        assert before[absent] > 0

        # Reclaim through the confirmation: the absent agent's leads go to the others.
        dialog.table.selectRow(_row(dialog, absent))
        dialog.ask_reclaim()
        box = dialog.reclaim_box
        assert box.isVisible() and str(before[absent]) in box.text()
        with qtbot.waitSignal(service.distribution_loaded, timeout=20_000):
            box.button(QMessageBox.StandardButton.Yes).click()
        after = _open(dialog)
        assert after[absent] == 0
        assert sum(after.values()) == sum(before.values())  # every lead is with exactly one other agent
        assert "收回" in dialog.status.text() or dialog.status.text()

        # Put one agent's leads back in the pool (no redistribution) so there is something to hand out.
        pool_from = max(after, key=after.get)
        with qtbot.waitSignal(service.distribution_loaded, timeout=20_000):
            dialog.reclaim(dialog.model.agents[_row(dialog, pool_from)]["agent_id"], redistribute=False)
        unassigned = dialog.overview["unassigned"]
        assert unassigned >= after[pool_from] > 0
        open_now = _open(dialog)

        # Weighted preview for 6 leads among the agents except the absent one (unticked).
        idx = dialog.model.index(_row(dialog, absent), COL_NAME)
        dialog.model.setData(idx, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
        dialog.count.setValue(6)
        dialog.weighted.setChecked(True)
        dialog.floor.setValue(0)
        assert not dialog.commit_button.isEnabled()  # no commit without a preview
        with qtbot.waitSignal(service.distribution_previewed, timeout=20_000):
            dialog.preview_button.click()
        planned = dict(dialog.model.planned)
        assert sum(planned.values()) == 6 and dialog.commit_button.isEnabled()
        absent_id = dialog.model.agents[_row(dialog, absent)]["agent_id"]
        assert absent_id not in planned
        assert set(planned) == set(dialog.model.included())
        shown = {dialog.model.agents[r]["agent_id"]: dialog.model.index(r, COL_PLANNED).data()
                 for r in range(dialog.model.rowCount())}
        assert all(shown[a] == f"+{n}" for a, n in planned.items())
        assert "6" in dialog.status.text()
        # The preview changed nothing on the server.
        with qtbot.waitSignal(service.distribution_loaded, timeout=20_000):
            service.load_distribution(dialog.campaign_id())
        assert dialog.overview["unassigned"] == unassigned

        # A moved parameter withdraws the commit until a new preview.
        with qtbot.waitSignal(service.distribution_previewed, timeout=20_000):
            dialog.preview_button.click()
        dialog.count.setValue(5)
        assert not dialog.commit_button.isEnabled() and "预览" in dialog.status.text()
        dialog.count.setValue(6)
        with qtbot.waitSignal(service.distribution_previewed, timeout=20_000):
            dialog.do_preview()
        planned = dict(dialog.model.planned)
        with qtbot.waitSignal(service.distribution_loaded, timeout=20_000):
            dialog.commit_button.click()
        assert dialog.overview["unassigned"] == unassigned - 6
        by_id = {a["agent_id"]: a["open_leads"] for a in dialog.overview["agents"]}
        names = {a["agent_id"]: a["username"] for a in dialog.overview["agents"]}
        for aid, n in planned.items():
            assert by_id[aid] == open_now[names[aid]] + n
        assert by_id[absent_id] == 0
        assert "6" in dialog.status.text() or dialog.last_error is None
    finally:
        service.stop()
