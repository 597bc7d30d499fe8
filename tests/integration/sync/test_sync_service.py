"""The Qt sync service on its own thread, against the real server (signals as the status bar sees them)."""

from __future__ import annotations

from PySide6.QtCore import QThread

from cache.db import open_cache
from cache.repository import Repository
from sync.service import SyncService, backoff_delay
from tests.faults.proxy import Fault, FaultProxy, Plan
from tests.integration.sync.conftest import PASSWORD


class _Cut(Plan):
    on = False

    def choose(self, method, path):
        return Fault("reset") if self.on else None


def _service(handle, **kw) -> SyncService:
    return SyncService(handle, interval_s=kw.pop("interval_s", 30.0), backoff_base_s=0.1, max_backoff_s=0.4,
                       timeout_s=2.0, **kw)


def test_login_once_sync_now_offline_and_back(qtbot, tmp_path, server, keyring_service):
    cut = _Cut()
    proxy = FaultProxy(server.port, cut).start()
    handle = open_cache(tmp_path / "cache.sqlite3")
    svc = _service(handle)
    online: list[bool] = []
    pending: list[int] = []
    svc.online_changed.connect(online.append)
    threads: list = []
    # A plain lambda, as the app's status bar wiring uses: it must run on the GUI thread.
    svc.pending_count_changed.connect(lambda _n: threads.append(QThread.currentThread()))
    svc.pending_count_changed.connect(pending.append)
    try:
        svc.start()
        with qtbot.waitSignal(svc.changes_applied, timeout=15000) as applied, \
                qtbot.waitSignal(svc.login_finished, timeout=15000) as login:
            svc.login(proxy.url, "liuyang", PASSWORD)
        assert login.args == [True, "刘洋"]
        assert applied.args[0].upserted["lead"] == 20
        assert svc.worker_thread is not QThread.currentThread()  # the work runs on the sync thread
        assert svc.thread() is QThread.currentThread()  # its signals arrive on ours (the GUI's)
        lead_id = sorted(Repository(handle).search_lead_ids(""))[0]

        # A disposition while the server is unreachable: offline, counted as pending.
        cut.on = True
        with handle.write() as s:
            Repository.append_event(s, "note_added", lead_id, {"text": "客户说下周再联系"})
        with qtbot.waitSignal(svc.sync_failed, timeout=10000):
            svc.sync_now()
        qtbot.waitUntil(lambda: online and online[-1] is False, timeout=5000)
        qtbot.waitUntil(lambda: pending and pending[-1] == 1, timeout=5000)

        # The network comes back: backoff retries find it, the outbox drains, we are online.
        cut.on = False
        qtbot.waitUntil(lambda: online[-1] is True and pending[-1] == 0, timeout=15000)
        assert threads and all(th is QThread.currentThread() for th in threads)
    finally:
        svc.stop()

    # Next start: no password asked; the cached identity and the keyring session are enough.
    svc2 = _service(handle, presence=False)
    try:
        with qtbot.waitSignal(svc2.identity_changed, timeout=10000) as ident, \
                qtbot.waitSignal(svc2.round_finished, timeout=15000):
            svc2.start()
        assert ident.args[0].username == "liuyang"
    finally:
        svc2.stop()
        proxy.stop()
        handle.close()


def test_backoff_grows_with_jitter_and_is_capped():
    import random

    rng = random.Random(1)
    delays = [backoff_delay(n, 2.0, 60.0, rng) for n in range(1, 10)]
    assert 1.0 <= delays[0] <= 2.0 and 4.0 <= delays[2] <= 8.0
    assert all(30.0 <= d <= 60.0 for d in delays[5:])
    assert len({round(backoff_delay(3, 2.0, 60.0, rng), 6) for _ in range(20)}) > 1  # jittered


class _Stall(Plan):
    on = False

    def choose(self, method, path):
        return Fault("stall") if self.on and path.endswith("/sync/pull") else None


def test_stop_does_not_hang_on_a_dead_network(qtbot, tmp_path, server, keyring_service):
    import time

    stall = _Stall()
    proxy = FaultProxy(server.port, stall, stall_s=30).start()
    handle = open_cache(tmp_path / "cache.sqlite3")
    svc = SyncService(handle, timeout_s=20.0, presence=False)
    try:
        svc.start()
        with qtbot.waitSignal(svc.login_finished, timeout=15000):
            svc.login(proxy.url, "lina", PASSWORD)
        qtbot.waitSignal(svc.round_finished, timeout=15000).wait()
        stall.on = True
        svc.sync_now()
        qtbot.wait(300)  # the pull is now hanging in the proxy
        t0 = time.monotonic()
        svc.stop(wait_ms=500)
        assert svc._thread.isFinished()
        assert time.monotonic() - t0 < 3
    finally:
        proxy.stop()
        handle.close()
