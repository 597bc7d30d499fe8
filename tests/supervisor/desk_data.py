"""Real events for the TL's desk tests: calls and dispositions pushed by agents over HTTP,
as the agent's sync loop pushes them (the demo server has no call history of its own)."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sync.client import ApiClient

ZONE = ZoneInfo("Asia/Shanghai")


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def my_leads(api: ApiClient) -> list[str]:
    """The ids of the leads assigned to the logged-in agent (one full pull)."""
    ids: list[str] = []
    cursor = None
    while True:
        page = api.pull(cursor)
        ids += [c.id for c in page.changes if c.entity == "lead" and c.data is not None]
        cursor = page.next_cursor
        if not page.has_more:
            return ids


def push_calls(api: ApiClient, day: dt.date, calls: list[tuple[int, int, str | None]], *,
               hour: int = 10) -> list[str]:
    """Push one ``call_ended`` per ``(minute offset, talk seconds, disposition code)`` on the
    local ``day`` (from ``hour``:00), each with its disposition 20 s after the hang-up; talk 0
    = not answered. Returns the call ids. Every event must be accepted."""
    leads = my_leads(api)
    assert leads, "the agent has no leads"
    base = dt.datetime.combine(day, dt.time(hour), tzinfo=ZONE)
    events, ids = [], []
    for i, (minute, talk, code) in enumerate(calls):
        lead = leads[i % len(leads)]
        start = base + dt.timedelta(minutes=minute)
        answered = talk > 0
        end = start + dt.timedelta(seconds=10 + talk)
        cid = f"rep-{uuid.uuid4().hex[:12]}"
        ids.append(cid)
        events.append({"id": str(uuid.uuid4()), "type": "call_ended", "occurred_at": iso(end), "lead_id": lead,
                       "payload": {"call_id": cid, "dialed_at": iso(start),
                                   "answered_at": iso(start + dt.timedelta(seconds=10)) if answered else None,
                                   "ended_at": iso(end), "talk_seconds": talk}})
        if code:
            payload: dict = {"code": code, "call_id": cid}
            if code in ("CALLBACK", "INTERESTED"):
                payload["callback_at"] = iso(base + dt.timedelta(days=1))
            if code == "INSURED_ELSEWHERE":
                payload["note"] = "已在别家续保"
            events.append({"id": str(uuid.uuid4()), "type": "disposition_recorded",
                           "occurred_at": iso(end + dt.timedelta(seconds=20)), "lead_id": lead, "payload": payload})
    results = api.push(events)
    bad = [r for r in results if r.status != "accepted"]
    assert not bad and len(results) == len(events), bad
    return ids
