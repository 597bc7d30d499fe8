"""Save the TL's board screenshots (zh_CN, offscreen) into docs/screenshots/, on the live demo:

    .venv/bin/python -m tests.supervisor.make_screenshots

A real ``seatmate-server`` with the demo data, ``seatmate-server simulate-floor`` working
its five simulated agents (so this is also a check that the demo TL sees a living
floor), 李娜 on a call and 王芳 on a break posted over HTTP, and the board logged in as
the demo TL (zhangwei). Saves floor-board.png (the table), floor-cards.png (the card
view) and floor-alert.png (thresholds passed: red rows and the alert strip).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.processes import stop_popen
from tests.server_mode import PASSWORD
from tests.supervisor.shots import out_dir, spin, zh_cn_app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = out_dir(argv)

    from app.supervisor.floor_service import FloorService
    from core.floor_alerts import Thresholds
    from sync.client import ApiClient, MemoryVault
    from tests.faults.harness import ServerProcess, server_cli
    from ui.supervisor.board_view import TeamBoard

    zh_cn_app()

    with tempfile.TemporaryDirectory(prefix="seatmate-floor-shot-") as tmp:
        srv = ServerProcess(Path(tmp) / "server")
        srv.cli("demo")
        srv.start()
        sim = subprocess.Popen([*server_cli(), "simulate-floor", "--db", srv.db_url, "--data-dir", str(srv.data_dir),
                                "--url", srv.url, "--speed", "6", "--seed", "7", "--duration", "120"],
                               env=srv.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        apis: list[ApiClient] = []
        try:
            def login(user: str) -> ApiClient:
                api = ApiClient(srv.url, MemoryVault(), timeout=10)
                api.login(user, PASSWORD)
                apis.append(api)
                return api

            tl, lina, wangfang, liuyang = login("zhangwei"), login("lina"), login("wangfang"), login("liuyang")
            lina.presence("ready")
            liuyang.presence("ready")
            wangfang.presence("paused", reason="用餐")
            lina._request("POST", "/presence", json_body={"state": "on_call", "call_id": "shot-call",
                                                          "number_e164": "+8613812345678"})
            service = FloorService(lambda: tl)
            board = TeamBoard(service)
            board.resize(1280, 560)
            board.show()
            service.start()
            deadline = time.time() + 60
            while time.time() < deadline:
                spin(0.5)
                states = {r.presence.state for r in service.board.rows.values()}
                if service.live and {"on_call", "ready", "paused"} <= states and len(states) >= 4:
                    break
            deadline = time.time() + 40  # a few calls made and pushed: 通次 / 通时 move
            while time.time() < deadline and sum(r.today.calls_made for r in service.board.rows.values()) < 8:
                spin(0.5)
            lina._request("POST", "/presence", json_body={"state": "on_call", "call_id": "shot-call",
                                                          "number_e164": "+8613812345678"})
            wangfang.presence("paused", reason="用餐")
            liuyang.presence("ready")
            spin(1.5)
            board.select_agent(next(r.agent_id for r in service.board.rows.values() if r.username == "lina"))
            spin(0.3)
            out.mkdir(parents=True, exist_ok=True)
            board.grab().save(str(out / "floor-board.png"))
            board.toggle_view()
            spin(0.3)
            board.grab().save(str(out / "floor-cards.png"))
            board.toggle_view()
            service.set_thresholds(Thresholds(long_call_s=8, long_pause_s=8, long_wrapup_s=60, idle_ready_s=0))
            deadline = time.time() + 20
            while time.time() < deadline and len(service.alerts) < 2:
                spin(0.5)
            spin(1.2)
            board.grab().save(str(out / "floor-alert.png"))
            print(f"saved {out}/floor-board.png, floor-cards.png, floor-alert.png "
                  f"({len(service.board.rows)} agents, {len(service.alerts)} alerts)")
            service.stop()
            board.close()
        finally:
            for api in apis:
                api.close()
            stop_popen(sim, 15)
            srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
