"""Fixtures for the workspace tests: a real SQLite cache on a private folder,
seeded with the demo campaign (rules, codes, script) and a dozen demo leads."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cache import models as m
from app.cache.db import open_cache
from app.cache.repository import Repository
from app.cache.views import LeadInput
from app.phone import normalise
from app.resource_files import resource
from app.workspace.store import WorkspaceStore

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(90))


def seed_demo(repo: Repository, lead_count: int = 12) -> str:
    rules = json.loads(resource("data", "dispositions_demo.json").read_text(encoding="utf-8"))
    cid = repo.ensure_campaign(rules["campaign"], {k: rules[k] for k in ("compliance", "targets", "pause_reasons")})
    with repo.handle.write() as s:
        if s.scalar(select(m.DispositionCode.id).where(m.DispositionCode.campaign_id == cid).limit(1)) is None:
            for pos, code in enumerate(rules["codes"]):
                s.add(m.DispositionCode(
                    campaign_id=cid, code=code["code"], label=code["label"], group=code["group"],
                    requires_callback=code.get("requires_callback", False),
                    requires_note=code.get("requires_note", False), adds_to_dnc=code.get("adds_to_dnc", False),
                    closes_lead=code.get("closes_lead", False), is_conversion=code.get("is_conversion", False),
                    sip_codes=code.get("sip", []), position=pos))
            s.add(m.Script(id=f"{cid}-script", campaign_id=cid, title="续保话术",
                           body_markdown=resource("data", "script_renewal_demo.md").read_text(encoding="utf-8")))
            if s.get(m.Target, 1) is None:
                s.add(m.Target(scope="default", calls_per_day=30, talk_minutes_per_day=50, conversions_per_month=10))
    leads = []
    with resource("data", "leads_renewal_demo.csv").open(encoding="utf-8") as fh:
        for row in list(csv.DictReader(fh))[:lead_count]:
            leads.append(LeadInput(
                external_id=row["external_id"], name=row["name"], phones=(normalise(row["phone"]),),
                gender=row["gender"], city=row["city"], plate=row["plate"], vehicle=row["vehicle"],
                policy_expiry=dt.date.fromisoformat(row["policy_expiry"]) if row["policy_expiry"] else None,
                last_premium=int(row["last_premium"]) if row["last_premium"] else None, source=row["source"],
                priority=int(row["priority"] or 3), notes=row["notes"]))
    repo.upsert_leads(cid, leads)
    return cid


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
    from app.demo_line import DemoCustomerProcess

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
    from app.workspace.compliance import ComplianceGate, fixed_time_of_day
    from app.workspace.controller import WorkspaceController
    from app.workspace.dialing import PowerDialer
    from app.workspace.wrapup import DraftStore, WrapupService

    agent = AgentStateMachine()
    wrapup = WrapupService(DraftStore(tmp_path / "wrapup-draft.json"), store.save_disposition,
                           store.codes_for_lead)
    power = PowerDialer(countdown_seconds=1)
    ctl = WorkspaceController(store, engine, agent, wrapup, power,
                              gate=ComplianceGate(window_clock=fixed_time_of_day(10, 30)))
    agent.go_ready()
    return ctl
