"""Role and team changes take effect within seconds on every instance, not when the
access token expires (15 min): the admin runs ``seatmate-server update-user``; every
instance reads recently changed users with its once-a-second revocation refresh
(security.RevocationCache) and treats a live token with the user's current role and
team; open streams of that user close and reconnect under the new rules."""

from __future__ import annotations

import queue
import subprocess
import sys
import time

import httpx

from sync.client import ApiClient, MemoryVault
from sync.supervisor import (
    StreamEvent,
    SupervisorClient,
    agent_feed,
    api_token_provider,
    board_stream,
    wait_until,
)
from tests.scaleout.topology import Topology
from tests.server.helpers import PASSWORD, make_team
from tests.server.live import ROOT

EFFECT_S = 6.0  # requests: refreshed every 1 s; open streams: every AUTHZ_RELOAD_S (3 s) + their 1 s check


def _client(url: str, username: str) -> ApiClient:
    api = ApiClient(url, MemoryVault())
    api.login(username, PASSWORD)
    return api


def _admin_cli(floor: Topology, tmp_path, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "server.cli", *args, "--db", floor.db_url,
                        "--data-dir", str(tmp_path / "admin")], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _until_status(url: str, path: str, token: str, status: int, timeout: float) -> float:
    """Seconds until GET path with this (old) token answers ``status``."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = httpx.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if last.status_code == status:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"{path} still answers {last.status_code if last else None} after {timeout} s")


def test_demoted_tl_loses_the_board_within_seconds_on_the_other_instance(floor: Topology, tmp_path):
    team = make_team(floor.servers[0], n_tsr=1, leads_each=1)
    a, b = floor.instance_urls
    tl_api = _client(a, team.tl)  # logged in through instance A
    token = api_token_provider(tl_api)(False)  # the TL's current access token, kept
    events: queue.Queue[StreamEvent] = queue.Queue()
    stream = board_stream(tl_api, events.put).start()
    try:
        assert wait_until(lambda: stream.connects == 1, 10)
        for url in (a, b, floor.proxy_url):
            assert httpx.get(url + "/api/v1/supervisor/board", headers={"Authorization": f"Bearer {token}"},
                             timeout=5).status_code == 200
        t0 = time.monotonic()
        out = _admin_cli(floor, tmp_path, "update-user", team.tl, "--role", "tsr")
        assert "role tsr" in out
        cli_s = time.monotonic() - t0
        # The same token, on the other instance and through the proxy: refused.
        on_b = _until_status(b, "/api/v1/supervisor/board", token, 403, EFFECT_S)
        via_proxy = _until_status(floor.proxy_url, "/api/v1/supervisor/board", token, 403, EFFECT_S)
        # The board that was open on A closes, and its reconnect is refused for good (403).
        assert wait_until(lambda: stream.closed_reason is not None, EFFECT_S), "the open board stayed open"
        closed_s = time.monotonic() - t0
        assert stream.closed_reason.startswith("403"), stream.closed_reason
    finally:
        stream.stop()
        tl_api.close()
    print(f"\ndemoted TL (CLI took {cli_s:.1f} s): board refused on instance B {on_b:.2f} s after the CLI "
          f"returned, via nginx {via_proxy:.2f} s; open board on A closed {closed_s - cli_s:.2f} s after")


def test_tsr_moved_to_another_team_reports_to_the_new_team_within_seconds(floor: Topology, tmp_path):
    old, new = make_team(floor.servers[0], n_tsr=1, leads_each=2), make_team(floor.servers[0], n_tsr=1)
    a, b = floor.instance_urls
    mover = old.tsrs[0]
    agent_id = old.user_ids[mover]
    agent_api = _client(b, mover)  # keeps its token across the move
    token = api_token_provider(agent_api)(False)
    feed_events: queue.Queue[StreamEvent] = queue.Queue()
    feed = agent_feed(agent_api, feed_events.put).start()
    old_tl, new_tl = _client(floor.proxy_url, old.tl), _client(floor.proxy_url, new.tl)
    try:
        assert wait_until(lambda: feed.connects == 1, 10)
        t0 = time.monotonic()
        _admin_cli(floor, tmp_path, "update-user", mover, "--team", new.name)
        cli_done = time.monotonic()
        # Their agent feed (open on B) reconnects under the new team.
        assert wait_until(lambda: feed.connects >= 2, EFFECT_S), "the agent feed was not renewed"
        feed_s = time.monotonic() - cli_done
        # The old TL's board no longer lists them; the new TL's board (on A) does, and a state
        # posted to B with the agent's OLD token arrives there.
        assert agent_id not in SupervisorClient(old_tl).board().rows
        board_events: queue.Queue[StreamEvent] = queue.Queue()
        new_board = board_stream(_client(a, new.tl), board_events.put).start()
        try:
            snap = _next(board_events, "snapshot")
            assert agent_id in {row["agent_id"] for row in snap.data["agents"]}
            t1 = time.monotonic()
            r = httpx.post(b + "/api/v1/presence", json={"state": "paused", "reason": "培训"},
                           headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert r.status_code == 200, r.text
            ev = _next(board_events, "agent", lambda e: e.data.get("agent_id") == agent_id)
            assert ev.data["presence"]["state"] == "paused"
            patch_s = time.monotonic() - t1
        finally:
            new_board.stop()
        # Team messages: the old team's no longer reach them, the new team's do.
        SupervisorClient(old_tl).send_message("旧组通知")
        SupervisorClient(new_tl).send_message("新组通知")
        msg = _next(feed_events, "message")
        assert msg.data["text"] == "新组通知", msg.data  # (the old team's, sent first, never came)
        time.sleep(0.5)
        assert not any(e.name == "message" and e.data["text"] == "旧组通知" for e in _drain(feed_events))
    finally:
        feed.stop()
        for api in (agent_api, old_tl, new_tl):
            api.close()
    print(f"\nTSR moved (CLI {cli_done - t0:.1f} s): agent feed renewed {feed_s:.2f} s after; a state posted "
          f"with the old token reached the new team's board in {patch_s * 1000:.0f} ms")


def _next(q: queue.Queue[StreamEvent], name: str, match=lambda e: True, timeout: float = 5.0) -> StreamEvent:
    deadline = time.monotonic() + timeout
    while True:
        ev = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if ev.name == name and ev.data is not None and match(ev):
            return ev


def _drain(q: queue.Queue[StreamEvent]) -> list[StreamEvent]:
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out
