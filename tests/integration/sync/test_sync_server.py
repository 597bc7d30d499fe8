"""The sync client against the real server over HTTP on loopback."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from cache import models as m
from sync.client import AuthError, NetworkError
from tests.faults.proxy import Fault, FaultProxy, Plan
from tests.integration.sync.conftest import calls_made


def test_login_pull_push_and_server_state_comes_back(make_agent, server):
    agent = make_agent("lina")
    identity = agent.login()
    assert (identity.username, identity.role) == ("lina", "tsr")
    first = agent.engine.run_round()
    assert first.changes.upserted["lead"] == 20 and first.pending == 0
    leads = agent.leads()
    with agent.handle.session() as s:
        assert s.scalar(select(func.count()).select_from(m.DispositionCode)) >= 10
        assert s.scalar(select(func.count()).select_from(m.Script)) == 1
    assert agent.store.get_state("monitor_public_key")

    before = calls_made(server.url, "lina")
    ids = sorted(leads)
    cb = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    agent.record_call(ids[0], "REFUSED")
    agent.record_call(ids[1], "CALLBACK", callback_at=cb)
    assert agent.store.pending_count() == 6
    result = agent.engine.run_round()
    assert (result.pushed, result.acknowledged, result.rejected, result.pending) == (6, 6, 0, 0)
    # The server derived the leads' state from the events and sent it back.
    leads = agent.leads()
    assert (leads[ids[0]].status, leads[ids[0]].last_disposition) == ("done", "REFUSED")
    assert (leads[ids[1]].status, leads[ids[1]].next_callback_at) == ("callback", cb)
    assert calls_made(server.url, "lina") == before + 2


def test_offline_then_reconnect_everything_arrives_once(make_agent, server):
    # The agent's network path goes through a proxy we can cut, like an office WAN.
    cut = _Switch()
    proxy = FaultProxy(server.port, cut).start()
    try:
        agent = make_agent("wangfang", url=proxy.url, timeout=2.0)
        agent.login()
        agent.engine.run_round()
        before = calls_made(server.url, "wangfang")
        ids = sorted(agent.leads())
        cut.on = True
        made = []
        for i in range(5):
            made += agent.record_call(ids[i], "NO_ANSWER", talk=0)
            with pytest.raises(NetworkError):
                agent.engine.run_round()
        assert agent.store.pending_count() == 15
        # "Restart the app" while offline: a new client, same cache file, same keyring session.
        path = agent.handle.path
        agent.close()
        agent = make_agent("wangfang", url=proxy.url, path=path, timeout=2.0)
        assert agent.store.identity_json()["username"] == "wangfang"  # works offline with the cached identity
        assert agent.store.pending_count() == 15
        cut.on = False
        result = agent.engine.run_round()
        assert (result.acknowledged, result.pending) == (15, 0)
        assert agent.engine.run_round().pushed == 0  # nothing sent twice
        assert calls_made(server.url, "wangfang") == before + 5
    finally:
        proxy.stop()


def test_rejected_event_stays_visible_and_never_blocks(make_agent, server):
    agent = make_agent("liuyang")
    agent.login()
    agent.engine.run_round()
    ids = sorted(agent.leads())
    bad = agent.record_call(ids[0], "NOT_A_CODE")
    good = agent.record_call(ids[1], "REFUSED")
    result = agent.engine.run_round()
    assert result.rejected == 1 and result.pending == 0
    [rej] = agent.store.rejected_events()
    assert rej.id == bad[2] and "NOT_A_CODE" in rej.reason
    with agent.handle.session() as s:
        statuses = dict(s.execute(select(m.OutboxEvent.id, m.OutboxEvent.status)).all())
    assert statuses[bad[0]] == statuses[good[2]] == "accepted"
    # Pushed again (e.g. after a lost answer), a rejected event stays rejected, nothing else changes.
    assert agent.engine.run_round().pushed == 0


def test_session_survives_restart_and_expired_access_token_is_refreshed(make_agent, server):
    agent = make_agent("lina", name="lina-a")
    agent.login()
    agent.engine.run_round()
    # A second process on the same machine: no password, the session comes from the keyring.
    again = make_agent("lina", name="lina-b")
    assert again.engine.run_round().changes.upserted["lead"] == 20
    # An access token the server does not accept → one refresh (rotation), then success.
    again.client._access = "not-a-valid-token"
    again.engine.run_round()
    assert again.client.stats.by_path.get("/api/v1/auth/refresh") == 1


def test_wrong_password_is_an_auth_error(make_agent):
    agent = make_agent("lina", name="lina-wrong", keyring=False)
    with pytest.raises(AuthError):
        agent.login("definitely-wrong")


class _Switch(Plan):
    """Drops every request while on: the server is unreachable."""

    on = False

    def choose(self, method, path):
        return Fault("reset") if self.on else None


def test_idle_round_is_one_small_request(make_agent, server):
    """Nothing changed: one request, ≤ 2 KB on the wire (counted by a pass-through proxy)."""
    proxy = FaultProxy(server.port).start()
    try:
        agent = make_agent("lina", name="lina-idle", url=proxy.url)
        agent.login()
        agent.engine.run_round()
        agent.engine.run_round()
        before = (proxy.stats.requests, proxy.stats.bytes_from_client + proxy.stats.bytes_to_client)
        agent.engine.run_round()
        requests = proxy.stats.requests - before[0]
        wire = proxy.stats.bytes_from_client + proxy.stats.bytes_to_client - before[1]
    finally:
        proxy.stop()
    assert requests == 1
    assert 0 < wire <= 2048


class _LoseFirstRefreshAnswer(Plan):
    def __init__(self):
        self.done = False

    def choose(self, method, path):
        if path.endswith("/auth/refresh") and not self.done:
            self.done = True
            return Fault("reset_after")
        return None


def test_lost_refresh_answer_never_loses_events(make_agent, server):
    """The server rotated the refresh token but its answer was lost. The client retries
    with the same token (the server's grace for a retry), stays logged in, and the
    queued events arrive exactly once, without asking the agent for the password."""
    proxy = FaultProxy(server.port, _LoseFirstRefreshAnswer()).start()
    try:
        agent = make_agent("liuyang", name="liuyang-refresh", url=proxy.url, keyring=False)
        agent.login()
        agent.engine.run_round()
        before = calls_made(server.url, "liuyang")
        agent.record_call(sorted(agent.leads())[2], "REFUSED")
        agent.client._access = None
        agent.client.vault.save(type(agent.client.vault.load())(agent.client.vault.load().refresh))  # access gone
        with pytest.raises(NetworkError):
            agent.engine.run_round()
        result = agent.engine.run_round()  # no AuthError: no re-login
        assert (result.pending, result.rejected) == (0, 0)
        assert calls_made(server.url, "liuyang") == before + 1
    finally:
        proxy.stop()


def test_a_batch_too_big_for_the_server_is_split_never_stuck(make_agent, server):
    """The server refuses bodies over 20 MB (413): the client halves the batch until it
    fits; events too big on their own come back rejected with the reason, visibly."""
    from cache.repository import Repository

    agent = make_agent("wangfang", name="wangfang-big")
    agent.login()
    agent.engine.run_round()
    lead = sorted(agent.leads())[3]
    with agent.handle.write() as s:
        for i in range(1000):
            # 22 KB each: 1000 of them are ~22 MB in one push.
            Repository.append_event(s, "note_added", lead, {"text": f"长备注 {i}", "attachment": "x" * 22_000})
    result = agent.engine.run_round()
    assert result.pending == 0 and result.pushed >= 1000
    assert agent.client.stats.by_path["/api/v1/sync/push"] >= 3  # 1000 → 413 → 2 × 500
    rejected = agent.store.rejected_events(limit=2000)
    assert len(rejected) + result.acknowledged == 1000
    assert all(r.reason for r in rejected)
