"""Logging in from the app against the real server (loopback), working offline, reconnecting.

One real ``seatmate-server serve`` (demo data) for the module, a real gnome-keyring,
real cache files, the real Application and window offscreen. The agent's path:
wrong password, throttling, an unreachable server, the right password → leads
arrive; the server goes away → a call and its disposition are recorded through the
workspace's services; the app restarts on the same data dir → it starts at once
with the cached identity (no dialog), offline; the server comes back → the call is
counted once in the TL's daily report; a rejected record is listed with its reason;
logging out clears the customer data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cache import models as m
from core.messages import Message
from tests.faults.harness import free_port, secret_service
from tests.server_mode import PASSWORD, demo_server
from ui import messages

# Server mode without a SIP account: the softphone logs (ERROR) that it did not start.
pytestmark = pytest.mark.allow_log_warnings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("login-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def keyring_up(tmp_path_factory):
    with secret_service(tmp_path_factory.mktemp("login-keyring")):
        yield


def _start(qtbot, data: Path, server_url: str | None = None):
    from app.application import Application

    app = Application(argparse.Namespace(data_dir=str(data), number=None, lang="zh_CN", command=None,
                                         server=server_url))
    assert app.start() is None
    qtbot.addWidget(app.window)
    qtbot.waitUntil(lambda: getattr(app, "session", None) is not None, timeout=20_000)
    return app


def _stop(app, data: Path) -> None:
    app._shutdown()
    for handler in list(logging.getLogger().handlers):
        if str(data) in str(getattr(handler, "baseFilename", "")):
            logging.getLogger().removeHandler(handler)
            handler.close()


def _click_ok(dialog) -> None:
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()


def _attempt(qtbot, app, user: str, password: str):
    dialog = app.login_dialog
    dialog.user.setText(user)
    dialog.password.setText(password)
    with qtbot.waitSignal(app.session.login_result, timeout=20_000) as got:
        _click_ok(dialog)
    return got.args[0]


def _count(app, model, *where) -> int:
    with app.cache.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _calls_made(server_url: str, username: str) -> tuple[int, int]:
    """(calls made, conversions) of one agent today, from the TL's daily report (日报表)."""
    import zoneinfo

    from sync.client import ApiClient, MemoryVault

    tl = ApiClient(server_url, MemoryVault())
    try:
        tl.login("zhangwei", PASSWORD)
        day = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()
        report = tl.get("/reports/daily", {"date": day, "format": "json"})
    finally:
        tl.close()
    row = next(a for a in report["agents"] if a["username"] == username)
    return row["calls_made"], row["conversions"]


def _record_offline_call(app) -> str:
    """A call and its disposition, through the workspace's own services (no phone needed)."""
    from app.workspace.store import CallStart
    from core.wrapup import CallOutcome

    runtime = app.workspace.runtime
    lead_id = app.window.model.lead_id(0)
    now = dt.datetime.now(dt.timezone.utc)
    call_id = str(uuid.uuid4())
    with app.cache.session() as s:
        phone = s.execute(select(m.LeadPhone.id, m.LeadPhone.number_e164).where(m.LeadPhone.lead_id == lead_id)
                          .order_by(m.LeadPhone.position)).first()
    runtime.store.record_call_started(CallStart(call_id, lead_id, phone.id, "out", now - dt.timedelta(seconds=70)),
                                      phone.number_e164)
    runtime.store.record_call_ended(call_id, ringing_at=now - dt.timedelta(seconds=68),
                                    answered_at=now - dt.timedelta(seconds=60), ended_at=now,
                                    sip_status=200, talk_seconds=60)
    runtime.wrapup.begin(CallOutcome(call_id, lead_id, answered=True, sip_status=200, talk_seconds=60, ended_at=now))
    runtime.wrapup.set_code(next(r.code for r in runtime.wrapup.rules if r.is_conversion))
    assert runtime.wrapup.save() is not None
    return call_id


def test_login_offline_restart_reconnect_rejected_logout(qtbot, qapp, tmp_path, server, keyring_up) -> None:
    data = tmp_path / "agent"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "workspace": {"audio_backend": "tone", "window_clock": "10:30"}}), encoding="utf-8")

    # -- first start: `seatmate --server URL`, no cached identity → the dialog asks ---------------
    app = _start(qtbot, data, server.url)
    try:
        dialog = app.login_dialog
        qtbot.waitUntil(dialog.isVisible, timeout=10_000)
        assert dialog.server.text() == server.url
        assert app.window.findChild(type(app.account.menu), "accountMenu").title() == "账号(&A)"
        # Unreachable server: clear words, nothing stored.
        dialog.server.setText(f"http://127.0.0.1:{free_port()}")
        outcome = _attempt(qtbot, app, "lina", PASSWORD)
        assert outcome.kind == "unreachable" and dialog.error.text() == "无法连接服务器，请检查网络和服务器地址"
        dialog.server.setText(server.url)
        # Throttled after five wrong passwords for one user name (429 with Retry-After).
        for _ in range(5):
            outcome = _attempt(qtbot, app, "wangfang", "not-it")
            assert dialog.error.text() == "用户名或密码错误", dialog.error.text()
        outcome = _attempt(qtbot, app, "wangfang", "not-it")
        assert outcome.kind == "throttled"
        assert re.fullmatch(r"尝试次数过多，请 [1-5] 分钟后再试", dialog.error.text()), dialog.error.text()
        assert dialog.isVisible() and not dialog.progress.isVisible()
        # Wrong, then right password for lina: the dialog closes, the leads arrive.
        outcome = _attempt(qtbot, app, "lina", "wrong")
        assert dialog.error.text() == "用户名或密码错误"
        outcome = _attempt(qtbot, app, "lina", PASSWORD)
        assert outcome.ok and outcome.display_name and outcome.message is None, outcome
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 20, timeout=20_000)
        assert not app.account.login_action.isEnabled() and app.account.logout_action.isEnabled()
        saved = (data / "config" / "settings.json").read_text(encoding="utf-8")
        assert server.url in saved and '"lina"' in saved and PASSWORD not in saved  # remembered, never the password
        assert PASSWORD.encode() not in app.paths.cache_db.read_bytes()

        # -- the server goes away: a call is recorded offline ------------------------------------
        qtbot.waitUntil(lambda: app.session.pending == 0, timeout=20_000)  # the login's own events are sent
        server.stop()
        call_id = _record_offline_call(app)
        qtbot.waitUntil(lambda: app.session.pending >= 3, timeout=10_000)
        qtbot.waitUntil(lambda: "离线" in app.window.status.sync.text(), timeout=15_000)
    finally:
        _stop(app, data)

    # -- restart on the same data dir, no --server: the cached identity, no dialog, offline ------------
    app = _start(qtbot, data)
    try:
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 19, timeout=20_000)  # 1 sold: in 已完成
        assert _count(app, m.Lead) == 20
        qtbot.wait(300)
        assert not app.login_dialog.isVisible()
        assert app.session.state().logged_in and app.session.state().username == "lina"
        assert _count(app, m.OutboxEvent, m.OutboxEvent.status == "pending") >= 3
        # -- the server comes back: everything arrives, once --------------------------------------
        server.start()
        app.sync.sync_now()
        qtbot.waitUntil(lambda: _count(app, m.OutboxEvent, m.OutboxEvent.status == "pending") == 0, timeout=20_000)
        qtbot.waitUntil(lambda: "在线" in app.window.status.sync.text(), timeout=10_000)
        assert _calls_made(server.url, "lina") == (1, 1)
        assert _count(app, m.OutboxEvent, m.OutboxEvent.payload["call_id"].as_string() == call_id) == 3

        # -- a record the server refuses: listed with its reason, the queue goes on ------------------
        from cache.repository import Repository

        with app.cache.write() as s:
            Repository.append_event(s, "disposition_recorded", app.window.model.lead_id(1), {"code": "NO_SUCH_CODE"})
        app.sync.sync_now()
        indicator = app.account.indicator
        qtbot.waitUntil(indicator.isVisible, timeout=20_000)
        assert indicator.text() == "1 条被拒"
        indicator.click()
        panel = app.account.rejected_dialog
        qtbot.waitUntil(panel.isVisible, timeout=5000)
        assert len(panel.reasons()) == 1 and "NO_SUCH_CODE" in panel.reasons()[0], panel.reasons()
        assert panel.table.item(0, 1).text() == "通话结果"
        panel.hide()

        # -- log out: nothing unsynced → confirm → the customer data leaves the workstation ------------
        assert app.session.unsynced() == {"events": 0, "recordings": 0, "draft": 0}
        app.account.logout_action.trigger()
        box = app.account.confirm
        qtbot.waitUntil(box.isVisible, timeout=5000)
        with qtbot.waitSignal(app.session.logout_finished, timeout=20_000) as done:
            box.button(box.StandardButton.Yes).click()
        assert done.args[0].ok, done.args[0]
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 0, timeout=10_000)
        for model in (m.Lead, m.LeadPhone, m.CallRecord, m.Disposition, m.OutboxEvent, m.Campaign):
            assert _count(app, model) == 0, model.__tablename__
        assert not app.session.state().logged_in
        qtbot.waitUntil(app.login_dialog.isVisible, timeout=5000)  # ready for the next agent
        from sync import credentials
        from sync.auth import refresh_key

        assert credentials.get_secret(refresh_key(server.url, "lina")) is None
    finally:
        _stop(app, data)


def test_auth_required_reopens_the_dialog_and_keeps_queued_work(qtbot, qapp, tmp_path, server, keyring_up) -> None:
    """The session is revoked on the server (logout elsewhere): the dialog asks again; queued work stays."""
    from sync.auth import KeyringVault
    from sync.client import ApiClient

    data = tmp_path / "agent2"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(json.dumps({
        "server_url": server.url, "workspace": {"audio_backend": "tone"}}), encoding="utf-8")
    app = _start(qtbot, data)
    try:
        qtbot.waitUntil(app.login_dialog.isVisible, timeout=10_000)
        assert _attempt(qtbot, app, "liuyang", PASSWORD).ok
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 20, timeout=20_000)
        # Revoke this session on the server with its own refresh token (as another logout would).
        other = ApiClient(server.url, KeyringVault(server.url, "liuyang"))
        try:
            other.logout()
        finally:
            other.close()
        with app.cache.write() as s:
            from cache.repository import Repository

            Repository.append_event(s, "unscripted_question", None, {"text": "保费能分期吗？"})
        app.sync.sync_now()
        qtbot.waitUntil(app.login_dialog.isVisible, timeout=20_000)
        assert "重新登录" in app.login_dialog.error.text(), app.login_dialog.error.text()
        assert _count(app, m.OutboxEvent, m.OutboxEvent.status == "pending") >= 1  # nothing dropped
        assert _attempt(qtbot, app, "liuyang", PASSWORD).ok
        qtbot.waitUntil(lambda: _count(app, m.OutboxEvent, m.OutboxEvent.status == "pending") == 0, timeout=20_000)

        # Logging out with unsynced work: refused unless exported; the export holds the event.
        with app.cache.write() as s:
            from cache.repository import Repository

            event_id = Repository.append_event(s, "unscripted_question", None, {"text": "能开发票吗？"})
        refused = app.session.logout(export=False)
        assert refused is not None and not refused.ok and messages.text(refused.message) == "还有 1 条记录未上传"
        assert _count(app, m.Lead) == 20
        app.account.logout_action.trigger()
        box = app.account.confirm
        qtbot.waitUntil(box.isVisible, timeout=5000)
        assert "1 条记录未上传" in box.text() and box.button(box.StandardButton.Yes).text() == "导出并退出登录"
        with qtbot.waitSignal(app.session.logout_finished, timeout=20_000) as done:
            box.button(box.StandardButton.Yes).click()
        outcome = done.args[0]
        assert outcome.ok and outcome.export_path, outcome
        exported = json.loads(Path(outcome.export_path).read_text(encoding="utf-8"))
        assert event_id in {e["id"] for e in exported["events"]}
        assert _count(app, m.Lead) == 0 and _count(app, m.OutboxEvent) == 0
    finally:
        _stop(app, data)


def test_widgets_never_import_sync_or_httpx() -> None:
    offenders = []
    for path in (ROOT / "ui").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+(sync|httpx)\b", text, re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_login_failures_are_sorted_by_what_the_user_can_do() -> None:
    from app.session_service import describe_login_failure, normalise_url

    throttled = describe_login_failure("POST /auth/login: server answered 429 (retry after 125 s)")
    assert throttled.kind == "throttled" and throttled.retry_after_s == 125
    assert throttled.message == Message.of("login.throttled", minutes=3)
    assert describe_login_failure("POST /auth/login: server answered 429").retry_after_s == 300
    assert describe_login_failure("wrong username or password").kind == "bad_credentials"
    assert describe_login_failure("POST /auth/login: ConnectError: [Errno 111] Connection refused").kind == "unreachable"
    assert describe_login_failure("POST /auth/login: timed out (ReadTimeout)").kind == "unreachable"
    conflict = describe_login_failure("3 events recorded by lina on this computer have not been sent yet; "
                                      "lina must log in once to send them")
    assert conflict.kind == "conflict" and conflict.message == Message.of("login.conflict", count=3, user="lina")
    assert normalise_url("192.168.1.10:8765") == "http://192.168.1.10:8765"
    assert normalise_url("https://seatmate.example.cn/") == "https://seatmate.example.cn"
    assert normalise_url("not an address") is None and normalise_url("") is None
