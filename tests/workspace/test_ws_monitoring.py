"""The agent's side of monitoring in the shipped workspace: the softphone starts WITH a grant
verifier built from the pulled monitor key, follows a key change, and the status bar shows a
TL on the call as the campaign's policy says."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.lead_service import LeadService
from app.settings import Settings
from app.workspace.runtime import WorkspaceRuntime
from cache.sync_state import MONITOR_PUBLIC_KEY, put_state
from core import grant_token
from core.grant_token import GrantError
from softphone.types import MonitorInfo


def _put_key(handle, key: Ed25519PrivateKey) -> str:
    b64 = grant_token.public_key_b64(key)
    with handle.write() as s:
        put_state(s, MONITOR_PUBLIC_KEY, b64)
    return b64


@pytest.fixture
def workspace(qtbot, cache, tmp_path, qapp):
    from ui.main_window import MainWindow
    from ui.workspace.wiring import WorkspaceUi

    handle, repo, _cid = cache
    settings = Settings()
    settings.extra = {"workspace": {"demo_behaviour": "answer", "demo_answer_delay_s": 0.3, "audio_backend": "tone"}}
    leads = LeadService(repo)
    window = MainWindow(leads)
    qtbot.addWidget(window)
    runtime = WorkspaceRuntime(handle, settings, tmp_path, demo=True)
    ui = WorkspaceUi(window, runtime, settings.shortcuts)
    yield window, runtime, ui, handle
    runtime.stop()
    leads.shutdown()


def test_the_softphone_starts_with_the_pulled_key(workspace) -> None:
    _window, runtime, _ui, handle = workspace
    key = Ed25519PrivateKey.generate()
    _put_key(handle, key)
    runtime.start()
    assert runtime.wait_phone(20), "the softphone did not start"
    engine = runtime.phone
    # The engine's gate holds the runtime's verifier (not None: monitoring is possible).
    assert engine.call_soon(lambda: engine._core.gate.verifier).result(5) is runtime.monitor_verifier
    assert runtime.monitor_verifier.configured and runtime.monitor_verifier.sip_user == "agent"
    tok = grant_token.sign(key, agent="agent", tl="tl-1", mode="listen")
    assert runtime.monitor_verifier.verify(tok).mode == "listen"
    with pytest.raises(GrantError, match="replayed"):
        runtime.monitor_verifier.verify(tok)

    # The server's key changes (next pull): old grants refused, new ones accepted, and what was
    # spent stays spent.
    new = Ed25519PrivateKey.generate()
    _put_key(handle, new)
    assert runtime.refresh_monitor_key() is True
    assert runtime.refresh_monitor_key() is False  # unchanged
    with pytest.raises(GrantError, match="signature"):
        runtime.monitor_verifier.verify(grant_token.sign(key, agent="agent", tl="tl-1", mode="listen"))
    assert runtime.monitor_verifier.verify(grant_token.sign(new, agent="agent", tl="tl-1", mode="barge")).mode \
        == "barge"


def test_no_key_yet_refuses_every_grant(workspace) -> None:
    _window, runtime, _ui, _handle = workspace
    runtime.start()
    assert runtime.wait_phone(20)
    assert not runtime.monitor_verifier.configured
    with pytest.raises(GrantError, match="not configured"):
        runtime.monitor_verifier.verify(grant_token.sign(Ed25519PrivateKey.generate(), agent="agent", tl="t",
                                                         mode="listen"))


@pytest.mark.parametrize(("policy", "shown"), [
    (None, {"listen": False, "whisper": True, "barge": True}),        # default: auto
    ("auto", {"listen": False, "whisper": True, "barge": True}),
    ("show", {"listen": True, "whisper": True, "barge": True}),
    ("hide", {"listen": False, "whisper": False, "barge": False}),
])
def test_status_bar_indicator_follows_the_campaign_policy(workspace, qtbot, policy, shown) -> None:
    window, runtime, ui, _handle = workspace
    runtime._monitor_indicator_policy = lambda: policy  # the campaign of the call in progress
    notice, indicator = runtime.monitor_notice, ui.monitor_indicator
    assert indicator is not None and indicator.parent() is not None
    window.show()
    qtbot.waitExposed(window)
    notice._policy_of_call = lambda: policy
    for mode in ("listen", "whisper", "barge"):
        notice.on_monitor(MonitorInfo("leg-1", "agent", mode, True, "tl-1"))
        assert indicator.isVisible() is shown[mode], (policy, mode)
        if shown[mode]:
            assert indicator.text()
    notice.on_monitor(MonitorInfo("leg-1", "agent", "barge", False, "tl-1", reason="ended"))
    assert not indicator.isVisible()
    # A refused request never shows anything.
    notice.on_monitor(MonitorInfo("leg-2", "agent", "", False, reason="refused: bad signature"))
    assert not indicator.isVisible()


def test_policy_comes_from_the_campaign_rules(workspace) -> None:
    _window, runtime, _ui, handle = workspace
    from sqlalchemy import select, update

    from cache import models as m

    with handle.write() as s:
        campaign_id, rules = s.execute(select(m.Campaign.id, m.Campaign.rules)).first()
        s.execute(update(m.Campaign).where(m.Campaign.id == campaign_id)
                  .values(rules={**(rules or {}), "monitor_indicator": "show"}))
    runtime.store._rules.clear()
    with handle.session() as s:
        lead_id = s.scalar(select(m.Lead.id).where(m.Lead.campaign_id == campaign_id))

    class Active:
        pass

    active = Active()
    active.lead_id = lead_id
    runtime.controller.active = active
    try:
        assert runtime._monitor_indicator_policy() == "show"
    finally:
        runtime.controller.active = None


def test_grants_are_judged_on_the_servers_clock(workspace) -> None:
    """This desktop's clock runs 2 minutes ahead of the server's: a grant the server signed a
    second ago would look expired on the local clock. The pull's clock offset puts it right."""
    import time

    from cache.sync_state import CLOCK_OFFSET

    _window, runtime, _ui, handle = workspace
    key = Ed25519PrivateKey.generate()
    _put_key(handle, key)
    with handle.write() as s:
        put_state(s, CLOCK_OFFSET, "-120.000")  # server clock − local clock
    runtime.refresh_monitor_key("agent")
    server_now = time.time() - 120
    assert runtime.monitor_verifier.verify(
        grant_token.sign(key, agent="agent", tl="t", mode="listen", now=server_now)).mode == "listen"
    with pytest.raises(GrantError, match="expired"):
        runtime.monitor_verifier.verify(grant_token.sign(key, agent="agent", tl="t", mode="listen", now=server_now),
                                        now=time.time())  # judged on the local clock
