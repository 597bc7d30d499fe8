"""Suite-wide rules. Area fixtures live in each test folder's own conftest.py."""

from __future__ import annotations

import os

import pytest

# Qt must never try a real display in the suite unless a test starts Xvfb itself.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped test is not a passed test: in CI every skip is a failure.

    CI installs every service the suite needs, so a skip there means something
    is missing and the feature went untested.
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (treated as failure): {report.longrepr}"
