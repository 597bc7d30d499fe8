"""Presence, monitor grants and resumable recording upload against the real server."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid

import pytest

from cache import models as m
from core.grant_token import GrantVerifier, load_public_key
from sync.client import ApiClient, MemoryVault, NetworkError
from sync.presence import PresenceReporter
from sync.recordings import RecordingUploader
from tests.faults.proxy import Fault, FaultProxy, Plan
from tests.integration.sync.conftest import PASSWORD


def test_presence_and_a_grant_the_agent_can_verify(make_agent, server):
    agent = make_agent("lina", name="lina-presence")
    identity = agent.login()
    agent.engine.run_round()
    reporter = PresenceReporter(agent.client)
    assert reporter.set_state("on_call", call_id=str(uuid.uuid4()))
    tl = ApiClient(server.url, MemoryVault())
    try:
        tl.login("zhangwei", PASSWORD)
        grant = tl.request_grant(identity.user_id, "listen")
    finally:
        tl.close()
    assert grant.agent_sip_user == "1002"
    # The agent's softphone verifies it with the key that came with the pull.
    key = load_public_key(agent.store.get_state("monitor_public_key"))
    # The token names the agent by SIP user (what the softphone knows about itself).
    verified = GrantVerifier(key, expected_agent=identity.sip_user).verify(grant.token)
    assert verified.mode == "listen"


class _ResetSecondPatch(Plan):
    """The connection drops after the server stored the 2nd chunk: its answer is lost."""

    def __init__(self):
        self.patches = 0

    def choose(self, method, path):
        if method == "PATCH":
            self.patches += 1
            if self.patches == 2:
                return Fault("reset_after")
        return None


def test_recording_upload_resumes_and_local_file_goes_after_retention(make_agent, server, tmp_path):
    plan = _ResetSecondPatch()
    proxy = FaultProxy(server.port, plan).start()
    try:
        agent = make_agent("wangfang", name="wangfang-rec", url=proxy.url)
        agent.login()
        agent.engine.run_round()
        audio = tmp_path / "call.wav"
        audio.write_bytes(os.urandom(700_000))
        digest = hashlib.sha256(audio.read_bytes()).hexdigest()
        call_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with agent.handle.write() as s:
            s.add(m.CallRecord(id=call_id, dialed_at=now, ended_at=now, recording_path=str(audio)))
        uploader = RecordingUploader(agent.client, agent.store, chunk=256 * 1024)
        with pytest.raises(NetworkError):
            uploader.run()
        held, complete = agent.client.recording_status(call_id)
        assert held == 512 * 1024 and not complete  # two chunks arrived, the second answer was lost
        report = uploader.run()
        assert report.uploaded == 1 and report.bytes_sent == 700_000 - 512 * 1024  # resumed, not restarted
        assert agent.client.recording_status(call_id) == (700_000, True)
        assert audio.exists()  # kept during the retention period
        later = RecordingUploader(agent.client, agent.store,
                                  utcnow=lambda: now + dt.timedelta(days=8))
        assert later.run().deleted_local == 1
        assert not audio.exists()
        with agent.handle.session() as s:
            assert s.get(m.CallRecord, call_id).recording_path is None
        # The server has the exact bytes.
        tl = ApiClient(server.url, MemoryVault())
        try:
            tl.login("zhangwei", PASSWORD)
            response = tl._http.get(f"/api/v1/recordings/{call_id}",
                                    headers={"Authorization": f"Bearer {tl._ensure_access()}"})
        finally:
            tl.close()
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == digest
    finally:
        proxy.stop()
