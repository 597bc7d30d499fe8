"""Save docs/screenshots/floor-monitoring.png (zh_CN, offscreen): the TL's window while they
whisper to an agent, on the live demo (needs Kamailio, pjsua2 and gnome-keyring, like the sip tests):

    QT_QPA_PLATFORM=offscreen dbus-run-session -- .venv/bin/python -m tests.supervisor_sip.make_monitoring_screenshot

The same set-up as test_monitor_full_app.py (tests/supervisor_sip/full_app.py): a real
``seatmate-server`` with the demo data, a private Kamailio, lina's softphone in a child process
on a call with a customer, the real app logged in as the demo TL (zhangwei); 监听 on lina's
row, then 耳语 from the banner, and the window is grabbed with the banner above the board.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    from sync.credentials import store_secret
    from tests.faults.harness import ServerProcess, secret_service
    from tests.sip.agent import USERS
    from tests.sip.kamailio import Kamailio
    from tests.sip.monitor_parties import EngineChild
    from tests.sip.peer import PeerProcess
    from tests.supervisor_sip.full_app import Waiter, board_ready, lina_on_a_call, start_tl_app, stop_app

    waiter = Waiter()
    started: list = []
    with tempfile.TemporaryDirectory(prefix="seatmate-monitor-shot-") as name:
        tmp = Path(name)
        srv = ServerProcess(tmp / "server")
        srv.cli("demo")
        srv.start()
        kamailio = Kamailio(USERS)
        kamailio.start()
        agent_child = EngineChild().start()
        started.append(agent_child)

        def peers(user: str, *args: str) -> PeerProcess:
            p = PeerProcess("--user", user, "--register", kamailio.uri, "--password", USERS[user], *args).start()
            started.append(p)
            p.wait("reg", active=True, timeout=15)
            return p

        lina = handle = app = None
        try:
            with secret_service(tmp / "keyring"):
                store_secret("sip:1001", USERS["1001"])
                ident, lina, handle, _cust = lina_on_a_call(tmp, srv.url, kamailio.domain, agent_child, peers)
                data = tmp / "tl"
                app = start_tl_app(waiter, data, srv.url, kamailio.domain)
                board = board_ready(waiter, app, ident.user_id)
                banner = app.monitoring.banner
                board.trigger("listen")
                waiter.waitUntil(lambda: banner.isVisible() and banner.mode.text() == "监听中", timeout=15_000)
                banner.buttons["whisper"].click()
                waiter.waitUntil(lambda: banner.mode.text() == "正在对坐席耳语" and "打开" in banner.mic.text(),
                                 timeout=15_000)
                time.sleep(3.2)  # a few seconds on the banner's clock
                waiter.waitUntil(lambda: banner.since.text() != "", timeout=3000)
                app.window.resize(1280, 800)
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    waiter.waitUntil(lambda: True)
                    time.sleep(0.05)
                out.mkdir(parents=True, exist_ok=True)
                app.window.grab().save(str(out / "floor-monitoring.png"))
                print(f"saved {out}/floor-monitoring.png: {banner.who.text()} | {banner.mode.text()} | "
                      f"{banner.since.text()} | {banner.mic.text()}")
                banner.buttons["end"].click()
                waiter.waitUntil(lambda: app.monitoring.service.session is None, timeout=15_000)
                stop_app(app, data)
                app = None
        finally:
            if app is not None:
                stop_app(app, tmp / "tl")
            for p in reversed(started):
                p.stop()
            if lina is not None:
                lina.close()
            if handle is not None:
                handle.close()
            kamailio.stop()
            srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
