"""Fixtures for sync tests: the real server over HTTP on loopback, a real keyring, real caches."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest

from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core.timeutil import format_iso
from sync.auth import KeyringVault
from sync.client import ApiClient, MemoryVault
from sync.engine import SyncEngine
from tests.faults.harness import ServerProcess, secret_service

PASSWORD = "demo-2026"


@pytest.fixture(scope="session")
def keyring_service(tmp_path_factory):
    with secret_service(tmp_path_factory.mktemp("sync-keyring")):
        yield


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for all sync tests (each test uses its own agents and counts deltas)."""
    srv = ServerProcess(tmp_path_factory.mktemp("sync-server"))
    srv.cli("demo")
    srv.start()
    yield srv
    srv.stop()


class Agent:
    """One agent's app side: a real cache file, a client with its session in the keyring, an engine."""

    def __init__(self, path, server_url: str, username: str, *, keyring: bool = True, timeout: float = 5.0):
        self.handle = open_cache(path)
        self.store = SyncStore(self.handle)
        self.username = username
        vault = KeyringVault(server_url, username) if keyring else MemoryVault()
        self.client = ApiClient(server_url, vault, device_id=self.store.device_id(), timeout=timeout,
                                connect_timeout=timeout)
        self.engine = SyncEngine(self.client, self.store)
        self.server_url = server_url

    def login(self, password: str = PASSWORD):
        identity = self.client.login(self.username, password)
        self.store.save_identity(identity.to_json(), self.server_url)
        return identity

    def leads(self):
        from sqlalchemy import select

        from cache import models as m

        with self.handle.session() as s:
            return {r.id: r for r in s.execute(select(m.Lead.id, m.Lead.status, m.Lead.last_disposition,
                                                      m.Lead.next_callback_at, m.Lead.campaign_id))}

    def first_phone(self, lead_id: str) -> str:
        from sqlalchemy import select

        from cache import models as m

        with self.handle.session() as s:
            return s.scalar(select(m.LeadPhone.number_e164).where(m.LeadPhone.lead_id == lead_id)
                            .order_by(m.LeadPhone.position))

    def record_call(self, lead_id: str, code: str, *, talk: int = 60, callback_at: dt.datetime | None = None,
                    note: str | None = None) -> list[str]:
        """What the wrap-up flow writes: three events in one durable transaction."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        call_id = str(uuid.uuid4())
        dialed = now - dt.timedelta(seconds=talk + 10)
        payload: dict = {"call_id": call_id, "code": code}
        if callback_at:
            payload["callback_at"] = format_iso(callback_at)
        if note:
            payload["note"] = note
        with self.handle.write() as s:
            return [
                Repository.append_event(s, "call_attempted", lead_id, {"call_id": call_id, "direction": "out",
                                                                       "number_e164": self.first_phone(lead_id)},
                                        occurred_at=dialed),
                Repository.append_event(s, "call_ended", lead_id, {
                    "call_id": call_id, "dialed_at": format_iso(dialed),
                    "answered_at": format_iso(dialed + dt.timedelta(seconds=10)) if talk else None,
                    "ended_at": format_iso(now), "sip_status": 200 if talk else 480, "talk_seconds": talk},
                    occurred_at=now),
                Repository.append_event(s, "disposition_recorded", lead_id, payload, occurred_at=now),
            ]

    def close(self):
        self.client.close()
        self.handle.close()


@pytest.fixture
def make_agent(tmp_path, server, keyring_service):
    made = []

    def make(username: str = "lina", name: str | None = None, url: str | None = None, path=None, **kw) -> Agent:
        path = path or tmp_path / f"{name or username}-{len(made)}.sqlite3"
        agent = Agent(path, url or server.url, username, **kw)
        made.append(agent)
        return agent

    yield make
    for a in made:
        a.close()


def today_in_shanghai() -> str:
    return dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()


def team_report(server_url: str) -> dict:
    """The TL's daily report (日报表) for today, straight from the server."""
    tl = ApiClient(server_url, MemoryVault())
    try:
        tl.login("zhangwei", PASSWORD)
        return tl.get("/reports/daily", {"date": today_in_shanghai(), "format": "json"})
    finally:
        tl.close()


def calls_made(server_url: str, username: str) -> int:
    report = team_report(server_url)
    return next(a["calls_made"] for a in report["agents"] if a["username"] == username)
