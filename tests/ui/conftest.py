"""Fixtures for the UI shell: a real Application (cache, services, window) on a
private data folder, offscreen, failing on unexpected Qt warnings."""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

import pytest

from app.resource_files import resource
from ui.typing import type_char

# Failing on Qt warnings (and the offscreen platform's few ignored ones) is suite-wide:
# qt_log_level_fail / qt_log_ignore in pyproject.toml; allow_log_warnings is registered there.


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(60))


@pytest.fixture(autouse=True)
def fail_on_logged_warnings(request, caplog):
    """Like Qt warnings, a WARNING from our own code is a failure unless the test expects it
    (mark it ``@pytest.mark.allow_log_warnings``)."""
    yield
    if request.node.get_closest_marker("allow_log_warnings"):
        return
    ours = [r for r in caplog.get_records("call") + caplog.get_records("setup")
            if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("app", "ui")]
    assert not ours, "unexpected warnings: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in ours)


@pytest.fixture
def demo_numbers() -> list[str]:
    """The full (national) numbers of the demo leads: none may ever be shown or logged."""
    with resource("data", "leads_renewal_demo.csv").open(encoding="utf-8") as f:
        return [row["phone"].strip() for row in csv.DictReader(f) if row.get("phone")]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "seatmate-data"
    monkeypatch.setenv("SEATMATE_DATA_DIR", str(path))
    return path


@pytest.fixture
def seatmate(qtbot, qapp, data_dir: Path):
    """The whole app started the way `seatmate --data-dir X` starts it, minus exec()."""
    from app.application import Application
    from app.i18n import resolve_language

    args = argparse.Namespace(data_dir=str(data_dir), number=None, lang="zh_CN", command=None)
    application = Application(args)
    assert application.start() is None
    window = application.window
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    if window.model.rowCount() == 0:
        with qtbot.waitSignal(window.leadsShown, timeout=10_000):
            pass
    yield application
    application._shutdown()
    # Back to the default language for the next test (translators are app-wide).
    application.translations.apply(resolve_language("zh_CN"))
    for handler in list(logging.getLogger().handlers):
        if str(data_dir) in str(getattr(handler, "baseFilename", "")):
            logging.getLogger().removeHandler(handler)
            handler.close()


def type_search(qtbot, window, text: str) -> list[str]:
    """Type like an agent, one key at a time; return the names shown afterwards."""
    window.search.clear()
    for ch in text:
        with qtbot.waitSignal(window.leadsShown, timeout=5000):
            type_char(window.search, ch)
    # The last result is the one for the full text (older ones are dropped).
    qtbot.waitUntil(lambda: not window._leads.busy(), timeout=5000)
    return visible_names(window)


def visible_names(window) -> list[str]:
    model = window.model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]
