"""MonitorService without SIP: the order of what it asks the server and the phone, the PBX
feature-code strategy, the board's buttons, failures as message codes. (With real SIP:
tests/supervisor_sip/.)"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtCore import QObject, Signal

from app.settings import Settings
from app.supervisor.monitor_service import MonitorService
from app.workspace.monitoring import AgentMonitorNotice, MonitorKeyVerifier, indicator_visible
from core import grant_token
from core import messages as msg
from core.grant_token import GrantError
from softphone.types import CallInfo, CallState, MonitorInfo
from sync.client import RequestRejected
from tests.sip.monitor_parties import LocalGrants


def _done(value: Any = None) -> cf.Future:
    f: cf.Future = cf.Future()
    f.set_result(value)
    return f


@dataclass
class FakePhone(QObject):
    """What the service uses of SipEngine; the test plays the network (answer / end)."""

    calls: list[tuple] = field(default_factory=list)
    running: bool = True

    call_state_changed = Signal(object)

    def __post_init__(self) -> None:
        QObject.__init__(self)
        self._n = 0
        self._lock = threading.Lock()

    def monitor_start(self, target: str, token: str | None) -> cf.Future:
        with self._lock:
            self._n += 1
            cid = f"leg{self._n}"
        self.calls.append(("dial", target, token, cid))
        return _done(cid)

    def monitor_change(self, call_id: str, token: str) -> cf.Future:
        self.calls.append(("reinvite", call_id, token))
        return _done()

    def mute(self, on: bool, call_id: str | None = None) -> cf.Future:
        self.calls.append(("mute", call_id, on))
        return _done()

    def hangup(self, call_id: str | None = None) -> cf.Future:
        self.calls.append(("hangup", call_id))
        return _done()

    def report(self, call_id: str, state: CallState, code: int = 200) -> None:
        self.call_state_changed.emit(CallInfo(call_id, "out", state, "3001", sip_code=code,
                                              answered_at=time.time() if state is CallState.ANSWERED else None))

    def dialled(self) -> list[tuple]:
        return [c for c in self.calls if c[0] == "dial"]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _start(qtbot, svc: MonitorService, phone: FakePhone, mode: str = "listen") -> str:
    svc.start("agent-1", "1001", mode, agent_name="李娜")
    qtbot.waitUntil(lambda: svc.session is not None and svc.session.call_id is not None, timeout=5000)
    leg = svc.session.call_id
    with qtbot.waitSignal(svc.started, timeout=5000):
        phone.report(leg, CallState.ANSWERED)
    qtbot.waitUntil(lambda: svc.session.session_id is not None, timeout=5000)
    return leg


def test_bridge_start_change_end_in_order(qtbot, key) -> None:
    phone, grants = FakePhone(), LocalGrants(key, sip_users={"agent-1": "1001"})
    svc = MonitorService(phone, grants, domain="sip.example")
    leg = _start(qtbot, svc, phone)
    dial = phone.dialled()[0]
    assert dial[1] == "sip:1001@sip.example" and grant_token.SIP_HEADER  # the agent's bridge, with the grant
    assert dial[2] and ("mute", leg, True) in phone.calls  # muted from the first frame in 监听
    with qtbot.waitSignal(svc.changed, timeout=5000, check_params_cb=lambda v: v.mode == "whisper"):
        svc.change("whisper")
    reinvite = [c for c in phone.calls if c[0] == "reinvite"]
    assert reinvite and reinvite[0][1] == leg and reinvite[0][2] != dial[2]  # a fresh grant for the new mode
    assert ("mute", leg, False) in phone.calls and not svc.session.mic_muted
    svc.change("whisper")  # same mode: nothing happens
    svc.end()
    assert ("hangup", leg) in phone.calls
    with qtbot.waitSignal(svc.ended, timeout=5000) as ended:
        phone.report(leg, CallState.ENDED)
    assert ended.args[1] == msg.Message.of(msg.MONITOR_ENDED)
    grants.calls.wait_for(lambda c: c[0] == "end", 5)
    assert [c[0] for c in grants.calls.items] == ["grant", "start", "mode", "end"]
    assert grants.calls.items[-1][2] == "tl_hangup"


def test_pbx_codes_dial_the_templates(qtbot, key) -> None:
    settings = Settings()
    settings.monitor_strategy = "pbx_codes"
    settings.dial_templates = {"listen": "*555{ext}", "whisper": "*556{ext}", "barge": "*557{ext}"}
    phone, grants = FakePhone(), LocalGrants(key, sip_users={"agent-1": "1001"})
    svc = MonitorService.from_settings(phone, grants, settings)
    assert svc.strategy == "pbx_codes"
    leg = _start(qtbot, svc, phone)
    assert phone.dialled()[0][1:3] == ("*5551001", None)  # no grant header: the PBX does the spying
    # A PBX code knows no mode change: a new call to the new code, the old leg hung up.
    with qtbot.waitSignal(svc.changed, timeout=5000, check_params_cb=lambda v: v.mode == "barge"):
        svc.change("barge")
    new_leg = svc.session.call_id
    assert new_leg != leg and phone.dialled()[1][1] == "*5571001" and ("hangup", leg) in phone.calls
    phone.report(leg, CallState.ENDED)  # the old leg's end is not the session's
    qtbot.wait(50)
    assert svc.session is not None and svc.session.mode == "barge"
    # Still authorised and audited by the server.
    assert [c[0] for c in grants.calls.items] == ["grant", "start", "mode"]
    with qtbot.waitSignal(svc.ended, timeout=5000) as ended:
        phone.report(new_leg, CallState.ENDED)  # the PBX ended it: the agent's call is over
    assert ended.args[1].code == msg.MONITOR_CALL_ENDED


def test_settings_defaults_are_the_bridge(qtbot, key) -> None:
    svc = MonitorService.from_settings(FakePhone(), LocalGrants(key), Settings())
    assert svc.strategy == "bridge" and svc.codes.target("listen", "1001") == "*2221001"


def test_refusals_become_message_codes(qtbot, key) -> None:
    phone = FakePhone()

    class Refusing(LocalGrants):
        def request_grant(self, agent_id: str, mode: str) -> Any:
            raise RequestRejected(409, "agent is not on a call", "not_on_call")

    svc = MonitorService(phone, Refusing(key))
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        svc.start("agent-1", "1001", "listen", agent_name="李娜")
    assert failed.args[0] == msg.Message.of(msg.MONITOR_NOT_ON_CALL, agent="李娜")
    assert not phone.dialled() and svc.session is None

    svc = MonitorService(phone, LocalGrants(key, sip_users={"agent-1": "1001"}))
    svc.start("agent-1", "1001", "listen")
    qtbot.waitUntil(lambda: svc.session is not None and svc.session.call_id is not None, timeout=5000)
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        phone.report(svc.session.call_id, CallState.ENDED, code=403)  # the agent's softphone said no
    assert failed.args[0] == msg.Message.of(msg.MONITOR_REFUSED, status=403)

    svc.set_phone(None)
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        svc.start("agent-1", "1001", "listen")
    assert failed.args[0].code == msg.MONITOR_PHONE_NOT_READY


def test_one_session_at_a_time_and_early_mode_changes(qtbot, key) -> None:
    phone, grants = FakePhone(), LocalGrants(key, sip_users={"agent-1": "1001", "agent-2": "1002"})
    svc = MonitorService(phone, grants)
    svc.start("agent-1", "1001", "listen", agent_name="李娜")
    svc.change("barge")  # before the leg is answered: applied once it is
    qtbot.waitUntil(lambda: svc.session.call_id is not None, timeout=5000)
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        svc.start("agent-2", "1002", "listen")
    assert failed.args[0] == msg.Message.of(msg.MONITOR_BUSY, agent="李娜")
    with qtbot.waitSignal(svc.changed, timeout=5000, check_params_cb=lambda v: v.mode == "barge"):
        phone.report(svc.session.call_id, CallState.ANSWERED)
    # The board's button for the same agent = a mode change within the session.
    with qtbot.waitSignal(svc.changed, timeout=5000, check_params_cb=lambda v: v.mode == "whisper"):
        svc.start("agent-1", "1001", "whisper")
    assert len(phone.dialled()) == 1


def test_the_boards_buttons(qtbot, key) -> None:
    class Row:
        sip_user, display_name, username = "1001", "李娜", "lina"

    class Board:
        def __init__(self) -> None:
            self.rows = {"agent-1": Row()}

    class Floor(QObject):
        monitor_requested = Signal(str, str)

        def __init__(self) -> None:
            super().__init__()
            self.board = Board()

    floor, phone = Floor(), FakePhone()
    svc = MonitorService(phone, LocalGrants(key, sip_users={"agent-1": "1001"}))
    svc.connect_floor(floor)
    with qtbot.waitSignal(svc.starting, timeout=5000) as starting:
        floor.monitor_requested.emit("agent-1", "listen")
    assert starting.args[0].agent_name == "李娜" and starting.args[0].sip_user == "1001"
    qtbot.waitUntil(lambda: svc.session.call_id is not None, timeout=5000)
    leg = svc.session.call_id
    floor.monitor_requested.emit("agent-1", "end")
    assert ("hangup", leg) in phone.calls
    with qtbot.waitSignal(svc.ended, timeout=5000):
        phone.report(leg, CallState.ENDED)


# -- the agent's side ------------------------------------------------------------------------
def test_key_verifier_swaps_keys_and_keeps_spent_tokens(key) -> None:
    v = MonitorKeyVerifier()
    with pytest.raises(GrantError, match="not configured"):
        v.verify("x")
    b64 = grant_token.public_key_b64(key)
    assert v.refresh(b64, "1001") and not v.refresh(b64, "1001")
    tok = grant_token.sign(key, agent="1001", tl="t", mode="listen")
    v.verify(tok)
    assert v.refresh(b64, "1002")  # another SIP user (re-login): same key, still one use per token
    with pytest.raises(GrantError, match="another agent"):
        v.verify(grant_token.sign(key, agent="1001", tl="t", mode="listen"))
    v.refresh(b64, "1001")
    with pytest.raises(GrantError, match="replayed"):
        v.verify(tok)
    assert not MonitorKeyVerifier("not-a-key", "1001").configured


def test_indicator_policy() -> None:
    assert [indicator_visible(None, m) for m in ("listen", "whisper", "barge")] == [False, True, True]
    assert [indicator_visible("show", m) for m in ("listen", "whisper", "barge")] == [True, True, True]
    assert [indicator_visible("hide", m) for m in ("listen", "whisper", "barge")] == [False, False, False]
    assert indicator_visible("nonsense", "listen") is False


def test_agent_notice_follows_the_engine(qapp) -> None:
    notice = AgentMonitorNotice(lambda: None)
    seen: list = []
    notice.changed.connect(seen.append)
    notice.on_monitor(MonitorInfo("leg", "agent", "listen", True, "tl"))
    notice.on_monitor(MonitorInfo("leg", "agent", "whisper", True, "tl"))
    notice.on_monitor(MonitorInfo("leg", "agent", "whisper", False, "tl", reason="ended"))
    assert [(s.active, s.mode, s.visible) for s in seen] == [(True, "listen", False), (True, "whisper", True),
                                                              (False, "", False)]
    assert seen[0].since == seen[1].since  # one session, one start time


def test_the_tls_own_call_loop_ignores_the_monitoring_leg(qapp) -> None:
    """The leg runs on the TL's own phone: the call bar and the wrap-up loop must not take it
    for a customer call."""
    from app.workspace.call_status import CallStatus

    status = CallStatus(None)
    leg = CallInfo("leg1", "out", CallState.ANSWERED, "100****", answered_at=time.time(), monitor_role="tl")
    status.on_call_state(leg)
    assert status.view.idle


def test_attached_to_the_board_with_its_banner(qtbot, key) -> None:
    """app.supervisor.monitor_attach: a service per board, the TL's phone when it comes up,
    the banner above the board, the board's buttons connected."""
    from app.supervisor.monitor_attach import attach_monitoring
    from ui.supervisor.monitor_banner import MonitorBanner

    class Runtime(QObject):
        phone_ready = Signal(bool, str)

        def __init__(self) -> None:
            super().__init__()
            self.phone = None

    class App(QObject):
        settings = Settings()

        def __init__(self) -> None:
            super().__init__()
            self.cleanups: list = []

        def on_shutdown(self, name, fn) -> None:
            self.cleanups.append(fn)

    class Sync(QObject):
        identity_changed = Signal(object)
        identity = None

        @staticmethod
        def api_client():
            return None

    class Floor(QObject):
        monitor_requested = Signal(str, str)

    class BoardUi:
        def __init__(self) -> None:
            self.banners: list = []

        def add_banner(self, widget) -> None:
            self.banners.append(widget)

    class FloorUi:
        def __init__(self) -> None:
            self.board = BoardUi()

    class Mode:
        def on_floor(self, fn) -> None:
            self.fn = fn

    app, runtime, mode, sync = App(), Runtime(), Mode(), Sync()
    attachment = attach_monitoring(app, runtime, sync, mode)
    floor, floor_ui = Floor(), FloorUi()
    mode.fn(floor, floor_ui)
    svc = attachment.service
    assert svc is not None and svc.strategy == "bridge"
    banner = floor_ui.board.banners[0]
    assert isinstance(banner, MonitorBanner)
    qtbot.addWidget(banner)
    # No phone yet: the board's button says so.
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        floor.monitor_requested.emit("agent-1", "listen")
    assert failed.args[0].code == msg.MONITOR_PHONE_NOT_READY
    phone = FakePhone()
    runtime.phone = phone
    runtime.phone_ready.emit(True, "")
    assert svc.phone is phone
    # Logged out (no session to borrow): the server step fails cleanly, no call placed.
    with qtbot.waitSignal(svc.failed, timeout=5000) as failed:
        floor.monitor_requested.emit("agent-1", "listen")
    assert failed.args[0].code == msg.SYNC_AUTH and not phone.dialled()
    sync.identity_changed.emit(None)  # logged out: the service (and any session) goes
    assert attachment.service is None
    mode.fn(floor, floor_ui)  # the next TL's board
    assert attachment.service is not None
    for fn in reversed(app.cleanups):
        fn()
    assert attachment.service is None
