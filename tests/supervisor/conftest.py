"""Fixtures for the TL's board and floor control: a real ``seatmate-server`` (demo data) on
loopback, clients logged in over HTTP like the app's sync thread, offscreen widgets that
fail on Qt warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.client import ApiClient, MemoryVault
from tests.server_mode import PASSWORD, demo_server

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(120))
            item.add_marker(pytest.mark.qt_log_ignore("QFont::setPointSizeF"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("floor-server")) as srv:
        yield srv


@pytest.fixture
def login(server):
    made: list[ApiClient] = []

    def make(username: str, url: str | None = None) -> ApiClient:
        api = ApiClient(url or server.url, MemoryVault(), timeout=10)
        api.login(username, PASSWORD)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()
