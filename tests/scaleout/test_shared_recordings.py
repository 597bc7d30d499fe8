"""Recordings on storage every instance shares (``--recordings-dir``): an upload started
on instance A is continued on B after A died (the app's own client calls: HEAD offset,
PATCH chunks, complete), and every instance serves the finished file."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import httpx

from sync.client import ApiClient, MemoryVault
from tests.scaleout.topology import Topology
from tests.server.helpers import PASSWORD, make_team

CHUNK = 256 * 1024


def test_upload_started_on_a_is_resumed_through_the_proxy_on_b_after_a_died(floor: Topology):
    team = make_team(floor.servers[0], n_tsr=1, leads_each=1)
    agent, tl = team.tsrs[0], team.tl
    a = floor.instance_urls[0]
    data = os.urandom(5 * CHUNK + 1234)  # ~1.3 MB: 6 chunks
    call_id = f"scaleout-{uuid.uuid4().hex[:12]}"
    on_a = ApiClient(a, MemoryVault())
    on_a.login(agent, PASSWORD)
    offset = 0
    for _ in range(3):  # half of it, straight to instance A
        offset = on_a.recording_patch(call_id, offset, data[offset:offset + CHUNK])
    assert offset == 3 * CHUNK
    on_a.close()
    floor.kill(0)  # A is gone, with the upload half done

    t0 = time.monotonic()
    via_proxy = ApiClient(floor.proxy_url, MemoryVault())
    via_proxy.login(agent, PASSWORD)
    resumed_at, complete = via_proxy.recording_status(call_id)  # answered by B
    assert (resumed_at, complete) == (3 * CHUNK, False)
    offset = resumed_at
    while offset < len(data):
        offset = via_proxy.recording_patch(call_id, offset, data[offset:offset + CHUNK])
    via_proxy.recording_complete(call_id, hashlib.sha256(data).hexdigest(), len(data))
    print(f"\nupload resumed at {resumed_at} of {len(data)} bytes on the surviving instance, "
          f"finished in {time.monotonic() - t0:.2f} s")
    via_proxy.close()
    # Only the bytes, nothing twice: one file in the shared directory, byte-identical.
    stored = [p for p in floor.recordings_dir.iterdir() if p.is_file()]
    assert any(p.read_bytes() == data for p in stored)

    floor.restart(0)
    headers = floor.servers[0].headers(tl, PASSWORD)  # the agent's TL may fetch it
    for url in (*floor.instance_urls, floor.proxy_url):
        r = httpx.get(f"{url}/api/v1/recordings/{call_id}", headers=headers, timeout=30)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
        assert r.content == data, url
