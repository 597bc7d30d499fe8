"""The live board across instances: a TL's board (the app's own stream client,
sync.supervisor.board_stream + core.supervisor.BoardState) open on instance A sees a
state change an agent posts to instance B within a second, through PostgreSQL
LISTEN/NOTIFY (server/floor.py); and an open board costs the database nothing per
connection (the old stream polled every 0.5 s per board)."""

from __future__ import annotations

import queue
import statistics
import time

import httpx
import psycopg

from core.supervisor import BoardState
from core.timeutil import utcnow
from server.floor import CHANNEL
from sync.client import ApiClient, MemoryVault
from sync.supervisor import StreamEvent, board_stream, wait_until
from tests.scaleout.topology import Topology
from tests.server.helpers import PASSWORD, make_team

STATES = ("ready", "paused", "ready", "wrap_up", "ready", "paused")


def _client(url: str, username: str, password: str = PASSWORD) -> ApiClient:
    api = ApiClient(url, MemoryVault())
    api.login(username, password)
    return api


def _latencies(board_url: str, agent_url: str, team, label: str) -> list[float]:
    """Open the board on board_url, post each state to agent_url; seconds until the board shows it."""
    tl_api, agent_api = _client(board_url, team.tl), _client(agent_url, team.tsrs[0])
    agent_id = team.user_ids[team.tsrs[0]]
    board = BoardState()
    changed: queue.Queue[tuple[set[str], float]] = queue.Queue()

    def on_event(ev: StreamEvent) -> None:
        if ev.data is not None:
            changed.put((board.apply(ev.name, ev.data, utcnow()), time.monotonic()))

    stream = board_stream(tl_api, on_event).start()
    out: list[float] = []
    try:
        assert wait_until(lambda: board.connected and agent_id in board.rows, 10), "board never got its snapshot"
        for state in STATES:
            t0 = time.monotonic()
            agent_api.presence(state, reason="会议" if state == "paused" else None)
            deadline = t0 + 3.0
            while True:
                ids, at = changed.get(timeout=max(0.01, deadline - time.monotonic()))
                if agent_id in ids and board.rows[agent_id].presence.state == state:
                    out.append(at - t0)
                    break
    finally:
        stream.stop()
        tl_api.close()
        agent_api.close()
    print(f"\n{label}: board sees the change after " + ", ".join(f"{x * 1000:.0f}" for x in out)
          + f" ms (median {statistics.median(out) * 1000:.0f} ms, max {max(out) * 1000:.0f} ms)")
    return out


def test_board_on_instance_a_sees_presence_posted_to_instance_b_within_a_second(floor: Topology):
    team = make_team(floor.servers[0], n_tsr=2, leads_each=1)
    a, b = floor.instance_urls
    cross = _latencies(a, b, team, "board on A, agent posts to B")
    assert len(cross) == len(STATES) and max(cross) < 1.0, cross
    # Both through nginx (least_conn puts the board and the agent on whichever instance).
    proxied = _latencies(floor.proxy_url, floor.proxy_url, team, "board and agent through nginx")
    assert len(proxied) == len(STATES) and max(proxied) < 1.0, proxied


def _queries(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    r = httpx.get(url + "/api/v1/admin/diagnostics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["db_queries"], body["floor"]


def _idle_rate(url: str, headers: dict[str, str], seconds: float) -> float:
    q0, _ = _queries(url, headers)
    time.sleep(seconds)
    q1, _ = _queries(url, headers)
    return (q1 - q0 - 1) / seconds  # minus the diagnostics request's own auth refresh, at most one


def _listen_connections(db_url: str) -> int:
    dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        (n,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND query = %s", (f"LISTEN {CHANNEL}",)).fetchone()
    return int(n)


def test_open_boards_cost_no_database_queries_per_connection(floor: Topology):
    team = make_team(floor.servers[0], n_tsr=2, leads_each=1)
    url = floor.instance_urls[0]
    admin = {"Authorization": "Bearer " + floor.servers[0].login("admin", "admin-demo-2026")["access_token"]}
    apis = [_client(url, team.tl) for _ in range(10)]
    streams = []
    try:
        streams.append(board_stream(apis[0], None).start())
        assert wait_until(lambda: _queries(url, admin)[1]["subscribers"] >= 1, 10)
        time.sleep(0.6)  # past the first snapshot's queries
        one = _idle_rate(url, admin, 2.0)
        streams += [board_stream(api, None).start() for api in apis[1:]]
        assert wait_until(lambda: _queries(url, admin)[1]["subscribers"] >= 10, 10)
        time.sleep(0.6)
        ten = _idle_rate(url, admin, 2.0)
        listeners = _listen_connections(floor.db_url)
    finally:
        for s in streams:
            s.stop()
        for api in apis:
            api.close()
    print(f"\n{listeners} LISTEN connections for 2 instances with 10 boards open; "
          f"idle database queries per second on the instance: 1 board {one:.1f}/s, 10 boards {ten:.1f}/s "
          f"(a 0.5 s poll per board would add {10 / 0.5 - 1 / 0.5:.0f}/s)")
    # One LISTEN connection per instance (each feeds its own streams), not one per board.
    assert listeners == len(floor.servers), listeners
    # Per process, not per board: the offline sweep and the authz refresh, once a second each.
    assert ten <= one + 1.0, (one, ten)
    assert ten <= 3.0, ten
