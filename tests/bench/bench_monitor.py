"""Benchmark: click 监听 → the first frame of the customer's voice at the TL (loopback).

Run:  .venv/bin/python -m tests.bench.bench_monitor [--runs 10]

Real parts, all on 127.0.0.1: the server (``seatmate-server``, demo data: TL zhangwei =
SIP 1001, agent lina = SIP 1002), a private Kamailio, the customer (a pjsua2 peer
answering with a 440 Hz tone), lina's Seatmate softphone in a child process (her grant
verifier built from the key her sync pulled) in a call with the customer, and the TL's
Seatmate softphone in this process driven by ``app.supervisor.MonitorService``.

Per run: ``MonitorService.start(lina, "listen")`` (what the board's 监听 button calls) at
t0; the TL's speaker probe looks at every 20 ms frame it receives and notes the first one
in which 440 Hz carries > 30 % of the energy. That includes the grant request to the
server, the INVITE through Kamailio, the agent's verification and silent answer, the
media set-up and the bridge. The session is ended before the next run.

Reference row (same run, same machines): a plain call set-up from the same TL softphone
— dial a second customer (2002, same tone) → first 440 Hz frame.

Target (issue 11): ≤ 1 s on loopback. Rows merged into bench-results/supervisor.json
({"metric", "value", "unit"}, "peer" on the reference rows); rows of other benchmarks
in that file are kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PREFIX = "monitor_"
TARGET_MS = 1000.0


def _wait(app, predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.002)
    app.processEvents()
    return predicate()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--codec", default="default",
                    help="default: the engines' own codec order (speex first); or e.g. pcmu (G.711)")
    ap.add_argument("--out", default=str(ROOT / "bench-results" / "supervisor.json"))
    args = ap.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from app.supervisor.monitor_service import MonitorService
    from app.workspace.monitoring import read_monitor_key
    from cache.db import open_cache
    from cache.sync_store import SyncStore
    from softphone.engine import SipEngine
    from softphone.types import CallState
    from sync.client import ApiClient, MemoryVault
    from sync.engine import SyncEngine
    from sync.supervisor import SupervisorClient
    from tests.bench.results import merge_results
    from tests.faults.harness import ServerProcess
    from tests.sip.agent import CUSTOMER_HZ, TL_HZ, USERS, Agent
    from tests.sip.kamailio import Kamailio
    from tests.sip.monitor_parties import EngineChild, FirstToneProbe, use_probe
    from tests.sip.peer import PeerProcess

    app = QApplication.instance() or QApplication(["bench-monitor"])
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    cleanups = []
    monitor_ms: list[float] = []
    started_ms: list[float] = []
    plain_ms: list[float] = []
    monitor_steady_ms: list[float] = []
    codec = "?"
    try:
        srv = ServerProcess(work / "server")
        srv.cli("demo")
        srv.start()
        cleanups.append(srv.stop)
        kam = Kamailio(USERS)
        kam.start()
        cleanups.append(kam.stop)

        # lina: cache + sync (pulls the key), presence on a call.
        handle = open_cache(work / "lina.sqlite3")
        cleanups.append(handle.close)
        store = SyncStore(handle)
        lina = ApiClient(srv.url, MemoryVault(), device_id=store.device_id(), timeout=10, connect_timeout=5)
        cleanups.append(lina.close)
        ident = lina.login("lina", "demo-2026")
        store.save_identity(ident.to_json(), srv.url)
        SyncEngine(lina, store).run_round()

        def peer(user: str) -> PeerProcess:
            p = PeerProcess("--user", user, "--register", kam.uri, "--password", USERS[user],
                            "--tone", str(CUSTOMER_HZ), "--auto-answer", "200").start()
            cleanups.append(p.stop)
            p.wait("reg", active=True, timeout=15)
            return p

        peer("2001")
        peer("2002")
        agent = EngineChild().start()
        cleanups.append(agent.stop)
        agent.start_agent("1002", kam.domain, USERS["1002"], read_monitor_key(handle))
        agent_call = agent.dial_answered("2001")  # presence names it: grants are bound to it

        tl = Agent(SipEngine(), kam)
        probe = FirstToneProbe(TL_HZ, float(CUSTOMER_HZ))
        tl.start(tl.settings(user="1001"), mic_hz=TL_HZ)
        cleanups.append(tl.stop)
        tl.wait_registered()
        # The speaker probe that times the first frame (swapped on the SIP thread, which owns the ports).
        tl.run(lambda: use_probe(tl.engine._core.audio, probe))
        if args.codec != "default":
            # The TL offers only this codec (the agent's engine answers with it).
            def only(codec: str = args.codec) -> None:
                import pjsua2 as pj

                ep = pj.Endpoint.instance()
                for c in ep.codecEnum2():
                    ep.codecSetPriority(c.codecId, 255 if c.codecId.lower().startswith(codec) else 0)

            tl.run(only)

        zw = ApiClient(srv.url, MemoryVault(), timeout=10, connect_timeout=5)
        cleanups.append(zw.close)
        zw.login("zhangwei", "demo-2026")
        svc = MonitorService(tl.engine, SupervisorClient(zw), domain=kam.domain)
        cleanups.append(svc.shutdown)
        started_at: list[float] = []
        svc.started.connect(lambda _v: started_at.append(time.monotonic()))

        for i in range(args.runs):
            lina.presence("on_call", call_id=agent_call)
            # -- monitoring: click 监听 → first customer frame at the TL
            started_at.clear()
            probe.arm()
            t0 = time.monotonic()
            svc.start(ident.user_id, "1002", "listen", agent_name="李娜")
            if not _wait(app, probe.first_event.is_set, 10):
                raise RuntimeError(f"run {i}: the TL heard no customer audio within 10 s")
            monitor_ms.append((probe.first_at - t0) * 1000)
            _wait(app, lambda: bool(started_at), 5)
            if started_at:
                started_ms.append((started_at[0] - t0) * 1000)
            _wait(app, lambda: svc.session is not None and svc.session.session_id is not None, 5)
            if i == 0:
                codec = tl.run(lambda cid=svc.session.call_id: tl.engine._core.calls[cid].getStreamInfo(0).codecName)
            time.sleep(1.6)  # the trace's 150 frames (3 s from the first sound) fill meanwhile
            steady = probe.steady_ms()
            monitor_steady_ms.append(steady if steady is not None else float("nan"))
            probe.disarm()
            svc.end()
            if not _wait(app, lambda: svc.session is None, 10):
                raise RuntimeError(f"run {i}: the session did not end")
            time.sleep(0.3)
            # -- reference: a plain call from the same softphone, dial → first customer frame
            probe.arm()
            m = tl.events.mark()
            t0 = time.monotonic()
            call_id = tl.engine.dial("2002").result(5)
            if not probe.first_event.wait(10):
                raise RuntimeError(f"run {i}: the plain call brought no audio within 10 s")
            plain_ms.append((probe.first_at - t0) * 1000)
            probe.disarm()
            tl.engine.hangup(call_id).result(5)
            tl.wait_call(CallState.ENDED, call_id, start=m)
            time.sleep(0.3)
            print(f"run {i + 1}/{args.runs}: monitor {monitor_ms[-1]:.0f} ms (answered {started_ms[-1]:.0f} ms, "
                  f"customer steadily audible from {monitor_steady_ms[-1]:.0f} ms), "
                  f"plain call {plain_ms[-1]:.0f} ms", flush=True)
        lina.presence("ready")
    finally:
        for fn in reversed(cleanups):
            try:
                fn()
            except Exception as exc:  # report, go on cleaning
                print(f"cleanup: {type(exc).__name__}: {exc}", file=sys.stderr)

    def p50(xs: list[float]) -> float:
        return round(statistics.median(xs), 1)

    tag = "" if args.codec == "default" else f"{args.codec}_"
    peer = {"peer": "plain call set-up from the same softphone: dial → first customer audio frame"}
    steady = [x for x in monitor_steady_ms if x == x]
    rows = [
        {"metric": "monitor_click_to_first_audio_p50_ms", "value": p50(monitor_ms), "unit": "ms"},
        {"metric": "monitor_click_to_first_audio_max_ms", "value": round(max(monitor_ms), 1), "unit": "ms"},
        {"metric": "monitor_click_to_session_started_p50_ms", "value": p50(started_ms), "unit": "ms"},
        {"metric": "monitor_click_to_customer_steady_p50_ms", "value": p50(steady) if steady else None,
         "unit": "ms"},
        {"metric": "monitor_click_to_customer_steady_max_ms", "value": round(max(steady), 1) if steady else None,
         "unit": "ms"},
        {"metric": "monitor_plain_call_dial_to_first_audio_p50_ms", "value": p50(plain_ms), "unit": "ms", **peer},
        {"metric": "monitor_plain_call_dial_to_first_audio_max_ms", "value": round(max(plain_ms), 1), "unit": "ms",
         **peer},
        {"metric": "monitor_runs", "value": len(monitor_ms), "unit": "runs"},
    ]
    for r in rows:
        r["metric"] = PREFIX + tag + r["metric"][len(PREFIX):]
        r["codec"] = codec
    print(f"\nmonitor leg codec: {codec}\n| metric | value |\n|---|---|")
    for r in rows:
        print(f"| {r['metric']}{' (reference)' if 'peer' in r else ''} | {r['value']} {r['unit']} |")
    out = Path(args.out)
    merge_results(rows, out)
    print(f"\nmerged into {out}")
    ok = max(monitor_ms) <= TARGET_MS
    print(f"target ≤ {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
