"""The app's SIP path under test: settings.json → Settings → WorkspaceRuntime → engine,
the password in a real Secret Service keyring, Kamailio as the PBX."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sip import fixtures as sip_fixtures
from tests.sip.agent import USERS

pytestmark = pytest.mark.sip

kamailio = sip_fixtures.kamailio  # the shared fixture (tests/sip/fixtures.py)


@pytest.fixture(scope="module")
def keyring_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from tests.faults.harness import secret_service

    with secret_service(tmp_path_factory.mktemp("keyring")):
        yield


class AppLine:
    """A WorkspaceRuntime built from a settings.json, as the app builds it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.runtime: Any = None
        self.regs: list[Any] = []
        self.handle: Any = None

    def start(self, sip: dict[str, Any], password: str | None = None) -> Any:
        from app.settings import Settings
        from app.workspace.runtime import WorkspaceRuntime
        from cache.db import open_cache
        from sync.credentials import store_secret

        path = self.tmp / "config" / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"sip": sip, "workspace": {"audio_backend": "tone"}}), encoding="utf-8")
        if sip.get("user"):
            store_secret(f"sip:{sip['user']}", password if password is not None else USERS[sip["user"]])
        self.settings = Settings.load(path)
        self.handle = open_cache(self.tmp / "cache.sqlite3")
        self.runtime = WorkspaceRuntime(self.handle, self.settings, self.tmp, demo=False)
        self.runtime.registration.connect(self.regs.append)
        self.runtime.start()
        return self.runtime

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        if self.handle is not None:
            self.handle.close()


@pytest.fixture
def app_line(tmp_path: Path, keyring_home: None, qapp) -> Iterator[AppLine]:
    line = AppLine(tmp_path)
    try:
        yield line
    finally:
        line.stop()
