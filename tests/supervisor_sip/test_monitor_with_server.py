"""Monitoring end to end with the real server: the TL's app asks for grants, the agent's app
verifies them with the key it pulled, and the audit lists every step.

- server: ``seatmate-server`` (demo data: TL zhangwei = SIP 1001, agent lina = SIP 1002);
- lina's app side: a real cache, a real sync round (the pull stores the monitor key), her
  softphone in a child process with the verifier built from that cache exactly as
  ``WorkspaceRuntime`` builds it (``app.workspace.monitoring``);
- zhangwei's app side: ``SupervisorClient`` + ``MonitorService`` + his softphone here.
"""

from __future__ import annotations

import time
import uuid

import pytest

from app.supervisor.monitor_service import MonitorService
from app.workspace.monitoring import MonitorKeyVerifier, read_monitor_key
from cache.db import open_cache
from cache.sync_store import SyncStore
from core import messages as msg
from core.grant_token import GrantError
from sync.client import ApiClient, MemoryVault
from sync.engine import SyncEngine
from sync.supervisor import SupervisorClient
from tests.server_mode import PASSWORD, demo_server
from tests.sip.agent import AGENT_HZ, CUSTOMER_HZ, TL_HZ, USERS
from tests.sip.peer import band_levels

pytestmark = pytest.mark.sip

FREQS = [float(CUSTOMER_HZ), float(AGENT_HZ), float(TL_HZ)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("monitor-server")) as srv:
        yield srv


@pytest.fixture
def lina(server, tmp_path):
    """lina's app side: cache + client, logged in, one sync round done (the key is pulled)."""
    handle = open_cache(tmp_path / "lina.sqlite3")
    store = SyncStore(handle)
    client = ApiClient(server.url, MemoryVault(), device_id=store.device_id(), timeout=10, connect_timeout=5)
    identity = client.login("lina", PASSWORD)
    store.save_identity(identity.to_json(), server.url)
    SyncEngine(client, store).run_round()
    yield handle, client, identity
    client.close()
    handle.close()


@pytest.fixture
def zhangwei(server):
    api = ApiClient(server.url, MemoryVault(), timeout=10, connect_timeout=5)
    api.login("zhangwei", PASSWORD)
    yield SupervisorClient(api)
    api.close()


def test_the_agents_verifier_accepts_the_servers_grant_once(lina, zhangwei) -> None:
    """No SIP: the verifier the agent's runtime builds from the pulled key."""
    handle, client, identity = lina
    key = read_monitor_key(handle)
    assert key
    verifier = MonitorKeyVerifier(key, identity.sip_user)
    client.presence("on_call", call_id=str(uuid.uuid4()))
    grant = zhangwei.request_grant(identity.user_id, "listen")
    assert grant.agent_sip_user == identity.sip_user == "1002"
    g = verifier.verify(grant.token)
    assert g.mode == "listen"
    with pytest.raises(GrantError, match="replayed"):
        verifier.verify(grant.token)
    # Another agent's verifier (another SIP user) refuses it; so does one without a key yet.
    with pytest.raises(GrantError, match="another agent"):
        MonitorKeyVerifier(key, "1003").verify(zhangwei.request_grant(identity.user_id, "listen").token)
    with pytest.raises(GrantError, match="not configured"):
        MonitorKeyVerifier(None, "1002").verify(grant.token)
    client.presence("ready")


def test_monitoring_session_with_the_real_server(server, lina, zhangwei, kamailio, agent_child, tl_phone, peers,
                                                 qtbot) -> None:
    handle, client, identity = lina
    # lina's softphone, with the verifier from her pulled key (as WorkspaceRuntime does it).
    key = read_monitor_key(handle)
    agent_child.start_agent("1002", kamailio.domain, USERS["1002"], key)
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    # Presence names the agent's call as her softphone knows it: the server binds the grants to it.
    client.presence("on_call", call_id=agent_child.dial_answered("2001"))

    tl_phone.start(tl_phone.settings(user="1001"), mic_hz=TL_HZ)
    tl_phone.wait_registered()
    svc = MonitorService(tl_phone.engine, zhangwei, domain=kamailio.domain)

    m = agent_child.events.mark()
    with qtbot.waitSignal(svc.started, timeout=10_000):
        svc.start(identity.user_id, "1002", "listen", agent_name="李娜")
    agent_child.wait("monitor", start=m, active=True, mode="listen")
    qtbot.waitUntil(lambda: svc.session is not None and svc.session.session_id is not None, timeout=5000)
    time.sleep(0.3)
    assert tl_phone.audio is not None
    heard = band_levels(tl_phone.audio.capture(0.8), FREQS)
    assert heard[float(CUSTOMER_HZ)] > 0.05 and heard[float(AGENT_HZ)] > 0.05, heard

    for mode in ("whisper", "barge", "listen"):
        m = agent_child.events.mark()
        svc.change(mode)
        qtbot.waitUntil(lambda mode=mode: svc.session.mode == mode, timeout=10_000)
        agent_child.wait("monitor", start=m, active=True, mode=mode)
    session_id = svc.session.session_id
    time.sleep(1.1)  # so the session lasts a measurable second
    with qtbot.waitSignal(svc.ended, timeout=10_000) as ended:
        svc.end()
    assert ended.args[1].code == msg.MONITOR_ENDED

    # The audit, as the TL lists it (newest first). The end is reported right after the leg ends.
    def rows() -> list:
        return [e for e in zhangwei.audit(agent_id=identity.user_id).items if e.session_id == session_id]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e.action == "monitor_end" for e in rows()):
        time.sleep(0.1)
    steps = [e for e in reversed(rows()) if e.action != "monitor_grant"]
    assert [e.action for e in steps] == ["monitor_start", "monitor_mode", "monitor_mode", "monitor_mode",
                                         "monitor_end"], steps
    modes = [(e.detail.get("from"), e.detail.get("to")) for e in steps if e.action == "monitor_mode"]
    assert modes == [("listen", "whisper"), ("whisper", "barge"), ("barge", "listen")]
    end = steps[-1]
    assert end.detail.get("reason") == "tl_hangup" and end.duration_s >= 1, end
    assert all(e.actor_name == "张伟" and e.agent_name == "李娜" for e in steps)
    # A fresh grant for each new mode (the agent's bridge checks each re-INVITE's).
    assert len([e for e in rows() if e.action == "monitor_grant"]) == 3
    cust.send("hangup")
    client.presence("ready")


def test_a_tl_of_another_team_gets_no_grant(server, lina, qtbot) -> None:
    """The server refuses; the service says so and places no call."""
    _handle, client, identity = lina
    server.cli("create-team", "续保二组")
    server.cli("create-user", "other_tl", "--role", "tl", "--team", "续保二组", input="tl-pass-2026\ntl-pass-2026\n")
    api = ApiClient(server.url, MemoryVault(), timeout=10, connect_timeout=5)
    try:
        api.login("other_tl", "tl-pass-2026")
        client.presence("on_call", call_id=str(uuid.uuid4()))

        class NoPhone:
            running = True

            class _Sig:
                def connect(self, _fn) -> None: ...

            call_state_changed = _Sig()

            def monitor_start(self, *_a):  # pragma: no cover - must not be reached
                raise AssertionError("no call may be placed without a grant")

        svc = MonitorService(NoPhone(), SupervisorClient(api))
        with qtbot.waitSignal(svc.failed, timeout=10_000) as failed:
            svc.start(identity.user_id, "1002", "listen")
        assert failed.args[0].code == msg.MONITOR_SERVER_REFUSED
        assert failed.args[0].params["status"] == 403
    finally:
        api.close()
        client.presence("ready")
