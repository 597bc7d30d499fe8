"""Fixtures for the workspace tests: a real SQLite cache on a private folder,
seeded with the demo campaign (rules, codes, script) and a dozen demo leads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.workspace.store import WorkspaceStore
from cache.db import open_cache
from cache.repository import Repository

sys.path.insert(0, str(Path(__file__).parent))
from ws_seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(90))


@pytest.fixture
def cache(tmp_path: Path):
    handle = open_cache(tmp_path / "cache.sqlite3")
    repo = Repository(handle)
    campaign_id = seed_demo(repo)
    yield handle, repo, campaign_id
    handle.close()


@pytest.fixture
def store(cache) -> WorkspaceStore:
    return WorkspaceStore(cache[0])


@pytest.fixture
def customer():
    """The product's own demo customer (a pjsua2 peer in a child process), answering by default."""
    from app.demo.line import DemoCustomerProcess

    proc = DemoCustomerProcess(behaviour="answer", answer_delay=0.3, ring_timeout=2.0)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def engine(customer, qapp):
    """The real softphone engine, registered at the demo's stand-in registrar."""
    from softphone.account import AccountSettings
    from softphone.engine import EngineConfig, SipEngine
    from softphone.tone_audio import ToneAudio

    eng = SipEngine()
    line = customer.line
    eng.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", no_answer_timeout_s=3.0,
                           log_level=1),
              AccountSettings(user="agent", domain=line.domain, registrar=line.registrar),
              ToneAudio.factory(440))
    yield eng
    eng.stop()


@pytest.fixture
def loop(store, engine, tmp_path, qapp):
    """The workspace controller wired to the real engine and cache, windows evaluated at 10:30."""
    from app.workspace.agent_state import AgentStateMachine
    from app.workspace.controller import WorkspaceController
    from app.workspace.dialing import PowerDialer
    from app.workspace.wrapup import DraftStore, WrapupService
    from core.compliance import ComplianceGate, fixed_time_of_day

    agent = AgentStateMachine()
    wrapup = WrapupService(DraftStore(tmp_path / "wrapup-draft.json"), store.save_disposition,
                           store.codes_for_lead)
    power = PowerDialer(countdown_seconds=1)
    ctl = WorkspaceController(store, engine, agent, wrapup, power,
                              gate=ComplianceGate(window_clock=fixed_time_of_day(10, 30)))
    agent.go_ready()
    return ctl
