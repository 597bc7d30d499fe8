"""Kill an instance mid-load: real sync clients (the fault campaign's client_worker: a real
cache, the app's SyncEngine, the OS keyring) record calls and sync through nginx while one
of the two instances is SIGKILLed and later started again. nginx passes what the dead
instance dropped to the other one (a push may be resent: events are applied once by id);
the audit (tests/faults/audit.py) then finds every event once on the server, by content
and by replay, and the outboxes empty."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from server.db import make_engine, make_sessionmakers
from server.models import Event
from tests.faults.audit import audit, take_baseline
from tests.faults.campaign import Worker
from tests.faults.harness import secret_service
from tests.processes import wait_until
from tests.scaleout.topology import Topology

USERS = (("lina", "demo-2026"), ("wangfang", "demo-2026"))  # demo TSRs (no other test here uses them)
LOAD_AFTER_KILL_S = 2.0


def _events_on_server(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        _, reader = make_sessionmakers(engine)
        with reader() as s:
            return int(s.execute(select(func.count()).select_from(Event)).scalar() or 0)
    finally:
        engine.dispose()


def _access_lines(floor: Topology, since: float) -> list[str]:
    lines = floor.proxy.access_log.read_text(errors="replace").splitlines()
    return [ln for ln in lines if float(ln.split(" ", 1)[0]) >= since]


def test_instance_killed_mid_load_clients_fail_over_with_nothing_lost_or_applied_twice(floor: Topology, tmp_path):
    base = take_baseline(floor.db_url, [u for u, _ in USERS])
    start_events = _events_on_server(floor.db_url)
    dead, alive = floor.ports[0], floor.ports[1]
    with secret_service(tmp_path / "keyring"):
        workers = [Worker(tmp_path, user, password, 0, floor.proxy_url, timeout=2.0, seed=11 + i)
                   for i, (user, password) in enumerate(USERS)]
        try:
            for w in workers:
                w.start()
            # Both clients are working through nginx: events arrive on the server.
            wait_until(lambda: _events_on_server(floor.db_url) - start_events >= 20, 60,
                       description="20 events pushed through nginx")
            # Kill just as a client starts a sync round (it prints "created" right before pushing).
            mark = workers[0].mark()
            workers[0].wait_for(r"^created", 10, since=mark)
            killed_at = time.time()
            floor.kill(0)
            at_kill = _events_on_server(floor.db_url)
            time.sleep(LOAD_AFTER_KILL_S)
            during = _events_on_server(floor.db_url)
            floor.restart(0)  # back on its port; nginx sends it work again after fail_timeout
            time.sleep(1.0)
            for w in workers:
                w.stop_file.touch()
            for w in workers:
                code = w.wait_exit(60)
                assert code == 0 and "drained 0" in w.tail(), f"{w.user} did not drain:\n{w.tail()}"
        finally:
            for w in workers:
                w.kill()
    result = audit(floor.db_url, {w.user: w.cache for w in workers}, base)
    after = _access_lines(floor, killed_at)
    pushes = [ln for ln in after if "/api/v1/sync/push" in ln]
    failed_over = [ln for ln in after if f":{dead}, " in ln]  # tried on the dead one, answered by the other
    client_errors = [ln for ln in after if ln.split(" ")[1] >= "500"]
    print(f"\nfailover: {result.events_created} events made by 2 clients, {result.events_on_server} on the server, "
          f"lost {result.lost}, applied twice {result.applied_twice}, pending {result.pending_left}; "
          f"after the kill: {len(pushes)} pushes through nginx, {len(failed_over)} requests retried on the "
          f"other instance, {len(client_errors)} 5xx seen by clients; "
          f"{during - at_kill} events in during the {LOAD_AFTER_KILL_S:.0f} s with one instance")
    assert result.events_created > 0
    assert result.lost == 0 and result.applied_twice == 0, "\n".join(result.details[:20])
    assert result.pending_left == 0 and result.rejected == 0, "\n".join(result.details[:20])
    assert result.events_on_server == result.events_created, "\n".join(result.details[:20])
    assert result.state_mismatches == 0 and result.kpi_mismatches == 0, "\n".join(result.details[:20])
    # The clients kept working while instance 0 was down: their pushes went to the other one.
    assert any(f"up=127.0.0.1:{alive} " in ln for ln in pushes), pushes[:5]
    assert during > at_kill
