"""Backup and restore end to end on PostgreSQL (``seatmate-server backup`` / ``restore``).

Two agents work against the real server; the database and the recordings are backed
up while it serves; the agents keep working (dispositions pushed and acknowledged,
a recording uploaded, one disposition still unsent); the server is stopped and
restored from the backup, which forgets everything after it; then the agents' next
sync round must bring the server back to exactly the state it had before the restore:
every disposition once, every call once, the same lead statuses, the recordings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import uuid

from sqlalchemy import func, select

from cache import models as cm
from server import models as sm
from server.db import make_engine
from sync.client import ApiClient, MemoryVault
from sync.recordings import RecordingUploader
from tests.integration.sync.conftest import PASSWORD, Agent, calls_made
from tests.server.live import ROOT, LiveServer, free_port, start_postgres, start_server


def _cli(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return r


def _server_state(db_url: str, event_ids: list[str], call_ids: list[str]) -> dict:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            disp = dict(c.execute(select(sm.Disposition.id, func.count()).where(sm.Disposition.id.in_(event_ids))
                                  .group_by(sm.Disposition.id)).all())
            events = dict(c.execute(select(sm.Event.id, func.count()).where(sm.Event.id.in_(event_ids))
                                    .group_by(sm.Event.id)).all())
            calls = dict(c.execute(select(sm.Call.id, func.count()).where(sm.Call.id.in_(call_ids))
                                   .group_by(sm.Call.id)).all())
            leads = {r.id: (r.status, r.last_disposition, r.next_callback_at, r.last_attempt_at, r.state_event_at)
                     for r in c.execute(select(sm.Lead.id, sm.Lead.status, sm.Lead.last_disposition,
                                               sm.Lead.next_callback_at, sm.Lead.last_attempt_at,
                                               sm.Lead.state_event_at).where(sm.Lead.assigned_to.is_not(None)))}
    finally:
        engine.dispose()
    return {"dispositions": disp, "events": events, "calls": calls, "leads": leads}


def _work(agent: Agent, leads: list[str], codes: list[str], log: dict) -> None:
    cb = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    for lead, code in zip(leads, codes, strict=True):
        ids = agent.record_call(lead, code, talk=0 if code in ("NO_ANSWER", "BUSY") else 60,
                                callback_at=cb if code in ("CALLBACK", "INTERESTED") else None)
        log["dispositions"].append(ids[2])
        with agent.handle.session() as s:
            log["calls"].append(s.get(cm.OutboxEvent, ids[0]).payload["call_id"])


def _recording(agent: Agent, tmp_path, log: dict) -> None:
    call_id = str(uuid.uuid4())
    audio = tmp_path / f"{call_id}.wav"
    audio.write_bytes(os.urandom(300_000))
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with agent.handle.write() as s:
        s.add(cm.CallRecord(id=call_id, dialed_at=now, ended_at=now, recording_path=str(audio)))
    assert RecordingUploader(agent.client, agent.store).run().uploaded == 1
    log["recordings"][call_id] = hashlib.sha256(audio.read_bytes()).hexdigest()


def _recordings_on_server(url: str, call_ids) -> dict[str, str | int]:
    tl = ApiClient(url, MemoryVault())
    out: dict[str, str | int] = {}
    try:
        tl.login("zhangwei", PASSWORD)
        for call_id in call_ids:
            r = tl._http.get(f"/api/v1/recordings/{call_id}", headers={"Authorization": f"Bearer {tl._ensure_access()}"})
            out[call_id] = hashlib.sha256(r.content).hexdigest() if r.status_code == 200 else r.status_code
    finally:
        tl.close()
    return out


def test_backup_keep_working_restore_and_clients_resync_exactly_once(tmp_path):
    pg = start_postgres()
    srv = None
    agents: list[Agent] = []
    try:
        db_url = pg.create_database()
        data = tmp_path / "server"
        port = free_port()
        srv = start_server(db_url, data, extra_args=["--port", str(port)])
        url = srv.url
        lina = Agent(tmp_path / "lina.sqlite3", url, "lina", keyring=False)
        fang = Agent(tmp_path / "wangfang.sqlite3", url, "wangfang", keyring=False)
        agents = [lina, fang]
        log: dict = {"dispositions": [], "calls": [], "recordings": {}}
        for a in agents:
            a.login()
            a.engine.run_round()
        lina_leads, fang_leads = sorted(lina.leads()), sorted(fang.leads())

        # 1. Work before the backup.
        _work(lina, lina_leads[:3], ["REFUSED", "CALLBACK", "SALE"], log)
        _work(fang, fang_leads[:2], ["INTERESTED", "NO_ANSWER"], log)
        for a in agents:
            r = a.engine.run_round()
            assert (r.pending, r.rejected) == (0, 0), a.store.rejected_events()
        _recording(lina, tmp_path, log)
        backup_dir = tmp_path / "backup"
        _cli("backup", str(backup_dir), "--db", db_url, "--data-dir", str(data))
        before_backup = len(log["dispositions"])

        # 2. Keep working: acknowledged by the server, then lost by the restore. Lead 1 gets a
        # second call (its callback is done now), so the restore would also roll its status back.
        _work(lina, [lina_leads[1], lina_leads[3]], ["SALE", "REFUSED"], log)
        _work(fang, fang_leads[2:5], ["CALLBACK", "REFUSED", "BUSY"], log)
        for a in agents:
            r = a.engine.run_round()
            assert (r.pending, r.rejected) == (0, 0), a.store.rejected_events()
        _recording(lina, tmp_path, log)
        # ... and one disposition recorded offline, not yet sent when the restore happens.
        _work(fang, [fang_leads[5]], ["WRONG_PARTY"], log)
        expected = _server_state(db_url, log["dispositions"][:-1], log["calls"][:-1])
        report_before = {a.username: calls_made(url, a.username) for a in agents}
        assert len(expected["dispositions"]) == len(log["dispositions"]) - 1

        # 3. Restore (every instance stopped first, as documented), start again on the same address.
        srv.stop()
        srv = None
        _cli("restore", str(backup_dir), "--yes", "--db", db_url, "--data-dir", str(data))
        lost = _server_state(db_url, log["dispositions"], log["calls"])
        assert len(lost["dispositions"]) == before_backup  # the restore really forgot the later work
        srv = LiveServer(db_url, data, extra_args=["--port", str(port)]).start()
        assert srv.url == url

        # 4. The agents' ordinary sync rounds bring everything back.
        for a in agents:
            result = a.engine.run_round()
            assert result.rejected == 0 and result.pending == 0
            assert RecordingUploader(a.client, a.store).run().failed == 0
        after = _server_state(db_url, log["dispositions"], log["calls"])
        assert set(after["dispositions"]) == set(log["dispositions"])  # nothing lost ...
        assert set(after["dispositions"].values()) == {1}  # ... nothing applied twice
        assert set(after["events"]) == set(log["dispositions"]) and set(after["events"].values()) == {1}
        assert set(after["calls"]) == set(log["calls"]) and set(after["calls"].values()) == {1}
        # The leads are where they were before the restore (plus the offline disposition's lead).
        fresh = fang_leads[5]
        assert {k: v for k, v in after["leads"].items() if k != fresh} == \
            {k: v for k, v in expected["leads"].items() if k != fresh}
        assert after["leads"][fresh][1] == "WRONG_PARTY"
        assert after["leads"][lina_leads[1]][:2] == ("done", "SALE")
        # The TL's daily report counts every call once (the offline one too).
        assert {a.username: calls_made(url, a.username) for a in agents} == \
            {"lina": report_before["lina"], "wangfang": report_before["wangfang"] + 1}
        # The agents' caches agree with the server.
        for a in agents:
            for lead_id, row in a.leads().items():
                assert (row.status, row.last_disposition) == after["leads"][lead_id][:2], lead_id
        assert _recordings_on_server(url, log["recordings"]) == log["recordings"]
        # A second round is idle: nothing is sent again.
        for a in agents:
            again = a.engine.run_round()
            assert (again.pushed, again.pending) == (0, 0)
    finally:
        for a in agents:
            a.close()
        if srv is not None:
            srv.stop()
        pg.stop()
