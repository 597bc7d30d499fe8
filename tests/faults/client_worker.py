"""One agent's sync client as a separate process, for the fault campaign.

It does what the app does, without the GUI: records calls (call_attempted,
call_ended, disposition_recorded, sometimes note_added and callback_scheduled) into a real cache file
through ``Repository.append_event`` — one durable transaction per call — and
runs ``SyncEngine.run_round()`` in a loop with a short backoff. The campaign
SIGKILLs it at random points and starts it again on the same cache file.

When the stop file appears it stops recording, drains the outbox and exits 0.
Lines on stdout: ``created <n>``, ``relogin``, ``drained <pending>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from cache import models as m
from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core.timeutil import format_iso
from sync.auth import KeyringVault
from sync.client import ApiClient, AuthError, SyncError
from sync.engine import SyncEngine

# Codes the demo campaign has that never close a lead (the lead stays usable).
_CODES = ("NO_ANSWER", "BUSY", "REFUSED", "CALLBACK", "INSURED_ELSEWHERE", "POWERED_OFF")


def _say(text: str) -> None:
    print(text, flush=True)


def _record_call(handle, rng: random.Random, leads: list[tuple[str, str, str]], codes: dict) -> int:
    lead_id, campaign_id, number = rng.choice(leads)
    usable = [c for c in codes.get(campaign_id, ()) if c.code in _CODES] or list(codes.get(campaign_id, ()))
    code = rng.choice(usable)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # the (possibly skewed) client clock
    call_id = str(uuid.uuid4())
    # A connected code needs talk time: with none, the server (core.wrapup.fits) refuses it.
    talk = rng.randrange(1, 200) if code.group == "connected" else 0
    dialed = now - dt.timedelta(seconds=talk + 20)
    payload: dict = {"call_id": call_id, "code": code.code}
    if code.requires_callback:
        payload["callback_at"] = format_iso(now + dt.timedelta(days=1))
    if code.requires_note:
        payload["note"] = "客户已在他处投保"
    n = 3
    with handle.write() as s:
        Repository.append_event(s, "call_attempted", lead_id,
                                {"call_id": call_id, "number_e164": number, "direction": "out"}, occurred_at=dialed)
        Repository.append_event(s, "call_ended", lead_id, {
            "call_id": call_id, "dialed_at": format_iso(dialed),
            "answered_at": format_iso(dialed + dt.timedelta(seconds=15)) if talk else None,
            "ended_at": format_iso(now), "sip_status": 200 if talk else 480, "talk_seconds": talk,
        }, occurred_at=now)
        Repository.append_event(s, "disposition_recorded", lead_id, payload, occurred_at=now)
        if rng.random() < 0.3:
            # A note is appended to the lead's text on the server: applied twice, it would show twice.
            Repository.append_event(s, "note_added", lead_id, {"text": f"fc-note {uuid.uuid4().hex}"},
                                    occurred_at=now)
            n += 1
        if rng.random() < 0.1:
            # A separate callback moves the lead's status (core.lead_status), which the audit replays.
            Repository.append_event(s, "callback_scheduled", lead_id, {
                "callback_id": str(uuid.uuid4()),
                "due_at": format_iso(now + dt.timedelta(hours=rng.randrange(1, 48)))}, occurred_at=now)
            n += 1
    return n


def _targets(handle) -> tuple[list[tuple[str, str, str]], dict]:
    with handle.session() as s:
        leads = [(r.id, r.campaign_id, r.number_e164) for r in s.execute(
            select(m.Lead.id, m.Lead.campaign_id, m.LeadPhone.number_e164)
            .join(m.LeadPhone, m.LeadPhone.lead_id == m.Lead.id)
            .where(m.Lead.status != "closed", m.LeadPhone.position == 0))]
        codes: dict = {}
        for c in s.execute(select(m.DispositionCode.campaign_id, m.DispositionCode.code, m.DispositionCode.group,
                                  m.DispositionCode.requires_callback, m.DispositionCode.requires_note)):
            codes.setdefault(c.campaign_id, []).append(c)  # plain rows: they outlive the session
    return leads, codes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--server", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--stop-file", required=True, type=Path)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deadline-s", type=float, default=600)
    ap.add_argument("--calls-per-round", type=int, default=2)
    args = ap.parse_args(argv)

    rng = random.Random(args.seed or time.time_ns())
    handle = open_cache(args.cache)
    store = SyncStore(handle)
    client = ApiClient(args.server, KeyringVault(args.server, args.user), device_id=store.device_id(),
                       timeout=args.timeout, connect_timeout=args.timeout)
    engine = SyncEngine(client, store, push_batch=rng.choice((20, 50, 100)))
    end = time.monotonic() + args.deadline_s
    failures = 0

    def login() -> None:
        identity = client.login(args.user, args.password)
        store.save_identity(identity.to_json(), args.server)

    targets: tuple[list, dict] = ([], {})
    while time.monotonic() < end:
        stopping = args.stop_file.exists()
        try:
            if store.identity_json() is None:
                login()
            if not stopping and targets[0]:
                created = sum(_record_call(handle, rng, targets[0], targets[1])
                              for _ in range(args.calls_per_round))
                _say(f"created {created}")
            engine.run_round()
            failures = 0
            if not targets[0]:
                targets = _targets(handle)
            if stopping and store.pending_count() == 0:
                _say("drained 0")
                return 0
        except AuthError as exc:
            _say(f"relogin {exc}")
            try:
                login()
            except SyncError:
                time.sleep(0.2)
        except SyncError:
            failures += 1
            time.sleep(min(0.5, 0.02 * 2 ** min(failures, 5)) * rng.uniform(0.5, 1.0))
    _say(f"deadline pending={store.pending_count()}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
