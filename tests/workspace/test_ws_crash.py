"""A crash during wrap-up (SIGKILL of a real process) loses nothing: the call and the draft come back."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.workspace.store import WorkspaceStore
from app.workspace.wrapup import DraftStore, WrapupService
from cache.db import open_cache

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_during_wrapup_then_restart_brings_the_draft_back(tmp_path, qapp) -> None:
    child = subprocess.Popen([sys.executable, str(Path(__file__).parent / "crash_child.py"), str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("editing "), child.stderr.read()
        call_id = line.split()[1]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # The call itself was committed at hang-up.
    con = sqlite3.connect(tmp_path / "cache.sqlite3")
    assert con.execute("select talk_seconds from call_records where id=?", (call_id,)).fetchone() == (60,)
    con.close()
    # Restart: the draft is back, blocking the next call, and saves normally.
    handle = open_cache(tmp_path / "cache.sqlite3")
    store = WorkspaceStore(handle)
    svc = WrapupService(DraftStore(tmp_path / "wrapup-draft.json"), store.save_disposition, store.codes_for_lead)
    draft = svc.restore()
    assert draft is not None and draft.call_id == call_id
    assert draft.code == "INSURED_ELSEWHERE" and draft.note == "客户说已在人保投保" and svc.blocking
    saved = svc.save()
    assert saved is not None and not svc.blocking
    handle.close()
    con = sqlite3.connect(tmp_path / "cache.sqlite3")
    assert con.execute("select code, note from dispositions where call_id=?", (call_id,)).fetchall() == [
        ("INSURED_ELSEWHERE", "客户说已在人保投保")]
    con.close()


def test_restart_after_a_crash_before_the_call_record_reopens_wrapup(tmp_path, qapp) -> None:
    """The app died between hang-up and writing the call record: the draft has the facts."""
    import datetime as dt
    import uuid

    from ws_seed import seed_demo

    from app.workspace.agent_state import AgentStateMachine
    from app.workspace.controller import WorkspaceController
    from app.workspace.dialing import PowerDialer
    from app.workspace.store import CallStart
    from cache.repository import Repository
    from core.agent_state import AgentState
    from core.wrapup import CallOutcome

    handle = open_cache(tmp_path / "cache.sqlite3")
    seed_demo(Repository(handle))
    store = WorkspaceStore(handle)
    lead_id = store.candidates(dt.datetime.now(dt.timezone.utc))[0].lead_id
    phone_id = store.lead_brief(lead_id).phone_ids[0]
    call_id = uuid.uuid4().hex
    store.record_call_started(CallStart(call_id, lead_id, phone_id, "out", dt.datetime.now(dt.timezone.utc)),
                              store.number_for_dial(phone_id))
    drafts = DraftStore(tmp_path / "wrapup-draft.json")
    WrapupService(drafts, store.save_disposition, store.codes_for_lead).begin(
        CallOutcome(call_id, lead_id, phone_id, "out", True, 200, 42))
    # "Restart": new services on the same files.
    agent = AgentStateMachine()
    wrapup = WrapupService(drafts, store.save_disposition, store.codes_for_lead)
    ctl = WorkspaceController(store, None, agent, wrapup, PowerDialer())
    ctl.restore()
    assert agent.state is AgentState.WRAP_UP and wrapup.blocking
    assert not ctl.dial_next()  # nothing dials before the wrap-up is saved
    con = sqlite3.connect(tmp_path / "cache.sqlite3")
    assert con.execute("select talk_seconds, answered_at is not null from call_records where id=?",
                       (call_id,)).fetchone() == (42, 1)
    con.close()
    handle.close()
