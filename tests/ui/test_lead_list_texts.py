"""A keystroke's new result keeps most of the rows on screen: the list formats a row's texts once
per row object (the repository hands out the same frozen row until the lead changes), and a
changed lead is shown with its new values."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt

from app.demo.generated import generate_leads
from cache.db import open_cache
from cache.repository import Repository
from ui.lead_table_model import COLUMNS, LeadTableModel

_STATUS = next(i for i, (attr, _h) in enumerate(COLUMNS) if attr == "status")
_NAME = next(i for i, (attr, _h) in enumerate(COLUMNS) if attr == "name")


def _shown(model: LeadTableModel, rows: int) -> list[list[str]]:
    return [[model.data(model.index(r, c), Qt.ItemDataRole.DisplayRole) for c in range(len(COLUMNS))]
            for r in range(rows)]


def test_rows_kept_by_the_next_result_are_not_formatted_again(qtbot, tmp_path, monkeypatch) -> None:
    handle = open_cache(tmp_path / "cache.sqlite3")
    try:
        generate_leads(handle, 120)
        repo = Repository(handle)
        model = LeadTableModel(repo.lead_rows)
        formatted: list[str] = []
        display = LeadTableModel._display
        monkeypatch.setattr(LeadTableModel, "_display",
                            staticmethod(lambda attr, value: (formatted.append(attr), display(attr, value))[1]))
        ids = repo.search_lead_ids("")
        model.set_result(ids, repo.lead_rows(ids[:50]))
        before = _shown(model, 20)
        assert len(formatted) == 20 * len(COLUMNS)
        formatted.clear()
        # The next keystroke drops the first lead: 19 of the 20 rows on screen stay.
        model.set_result(ids[1:], repo.lead_rows(ids[1:51]))
        assert _shown(model, 19) == before[1:20]
        assert len(formatted) == 0  # the kept rows' texts are reused, not made again
        _shown(model, 20)
        assert len(formatted) == len(COLUMNS)  # only the row new on screen
        # A lead that changes comes back as a new row object: shown with its new values.
        changed = dataclasses.replace(repo.lead_rows([ids[1]])[0], name="改名后", status="done")
        model.set_result(ids[1:], [changed, *repo.lead_rows(ids[2:51])])
        texts = _shown(model, 1)[0]
        assert texts[_NAME] == "改名后" and texts[_STATUS] == display("status", "done")
    finally:
        handle.close()
