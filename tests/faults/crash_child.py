"""The app's write paths as a child process, for the crash campaign (tests/faults/crash_campaign.py).

No Qt window, no SIP: the workspace store, the wrap-up draft file and the sync
engine on a real cache file against a real server, as the app drives them
after every call — call started/ended, the draft saved while the agent picks
a code and types a note, the disposition saved (with its callback or its
do-not-call entry), sometimes a note, and a sync round (push → settle, pull →
apply a page). ``cache.crashpoint`` (armed by ``SEATMATE_CRASH_AT``) SIGKILLs
the process inside one of those transactions or draft writes.

On start it does what the app does after a crash: a wrap-up draft left on
disk is saved again (same disposition id: saved once, or found saved), then
the outbox is drained (``drained`` once no event is pending).

Lines on stdout (written with ``os.write``, so a SIGKILL loses none that was
printed): ``confirmed <disposition id> <marker>`` only after
``save_disposition`` returned, ``note <event id>``, ``drained``, ``done``.

``--zygote``: read JSON jobs on stdin, fork one child per job (the imports are
paid once), answer ``exit <job> <status>`` when it has died. The zygote has no
threads, so forking it is safe.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import re
import sys
import uuid
from pathlib import Path

from sqlalchemy import select

from app.workspace.store import CallStart, WorkspaceStore
from app.workspace.wrapup import DraftStore
from cache import crashpoint
from cache import models as m
from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core.pinyin import name_keys
from core.wrapup import WrapupDraft
from sync.client import ApiClient, AuthError, SyncError, TokenSet
from sync.engine import SyncEngine

MARKER = re.compile(r"cc-[0-9a-f]{16}")
EVERYDAY = ("SALE", "REFUSED", "INSURED_ELSEWHERE", "NO_ANSWER", "BUSY", "POWERED_OFF", "CALLBACK", "INTERESTED")


def say(text: str) -> None:
    os.write(1, (text + "\n").encode())


class FileVault:
    """The session in a file next to the cache (the test stands in for the OS keyring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenSet | None:
        try:
            return TokenSet.from_json(self.path.read_text())
        except (OSError, ValueError):
            return None

    def save(self, tokens: TokenSet) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(tokens.to_json())
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _finish(draft: WrapupDraft, rule, rng: random.Random) -> WrapupDraft:
    """What the agent types last: the note (with a unique marker) and the callback time."""
    callback_at = None
    if rule.requires_callback:
        callback_at = draft.started_at + dt.timedelta(days=1, minutes=rng.randrange(0, 600))
    return dataclasses.replace(draft, note=f"崩溃测试 cc-{uuid.uuid4().hex[:16]}", callback_at=callback_at)


def _pick_code(rng: random.Random, site: str | None) -> str:
    if site == "dnc" and rng.random() < 0.5:
        return "DNC"
    if site == "callback" and rng.random() < 0.6:
        return rng.choice(("CALLBACK", "INTERESTED"))
    if rng.random() < 0.03:
        return "DNC"
    return rng.choice(EVERYDAY)


def _sync(engine: SyncEngine, client: ApiClient, store: SyncStore, args: argparse.Namespace) -> None:
    try:
        engine.run_round()
    except AuthError:
        store.save_identity(client.login(args.user, args.password).to_json(), args.server)
        engine.run_round()


def drive(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    site = crashpoint.armed_site()
    handle = open_cache(args.cache)
    store = WorkspaceStore(handle)
    repo = Repository(handle)
    sync_store = SyncStore(handle)
    client = ApiClient(args.server, FileVault(args.cache.with_name("session.json")),
                       device_id=sync_store.device_id(), timeout=30, connect_timeout=10)
    if sync_store.identity_json() is None or client.vault.load() is None:
        sync_store.save_identity(client.login(args.user, args.password).to_json(), args.server)
    engine = SyncEngine(client, sync_store, push_batch=rng.choice((5, 20, 100)))
    drafts = DraftStore(args.draft)

    # After a crash: the draft comes back and is saved (found saved if the commit had happened).
    left = drafts.load()
    if left is not None and left.code:
        rule = next(r for r in store.codes_for_lead(left.lead_id) if r.code == left.code)
        marker = MARKER.search(left.note)
        if marker is None:  # killed before the agent had typed the note: finish the wrap-up
            left = _finish(left, rule, rng)
            marker = MARKER.search(left.note)
            drafts.save(left)
        saved = store.save_disposition(left, rule)
        say(f"confirmed {saved.disposition_id} {marker.group(0)} recovered")
        drafts.clear()
    elif left is not None:
        drafts.clear()

    for _ in range(10):
        try:
            _sync(engine, client, sync_store, args)
        except SyncError as exc:
            say(f"sync-failed {exc}")
            continue
        if sync_store.pending_count() == 0:
            say("drained")
            break
    if args.drain_only:
        return 0 if sync_store.pending_count() == 0 else 3

    with handle.session() as s:
        leads = list(s.scalars(select(m.Lead.id).order_by(m.Lead.id)))
    if not leads:
        say("no-leads")
        return 4

    for _op in range(args.ops):
        lead_id = rng.choice(leads)
        brief = store.lead_brief(lead_id)  # phone ids change when a pull rewrites a lead's numbers
        if brief is None or not brief.phone_ids:
            continue
        phone_id = brief.phone_ids[0]
        code = _pick_code(rng, site)
        rule = next((r for r in store.codes_for_lead(lead_id) if r.code == code), None)
        if rule is None:
            continue
        answered = rule.group == "connected"
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        talk = rng.randrange(20, 200) if answered else 0
        call_id = str(uuid.uuid4())
        dialed = now - dt.timedelta(seconds=talk + 15)
        store.record_call_started(CallStart(call_id, lead_id, phone_id, "out", dialed),
                                  store.number_for_dial(phone_id))
        store.record_call_ended(call_id, ringing_at=dialed + dt.timedelta(seconds=2),
                                answered_at=dialed + dt.timedelta(seconds=10) if answered else None,
                                ended_at=now, sip_status=200 if answered else (486 if code == "BUSY" else 480),
                                talk_seconds=talk)
        draft = WrapupDraft(call_id=call_id, lead_id=lead_id, started_at=now, phone_id=phone_id,
                            answered=answered, sip_status=200 if answered else 480, talk_seconds=talk)
        drafts.save(draft)
        draft = dataclasses.replace(draft, code=code)
        drafts.save(draft)
        draft = _finish(draft, rule, rng)
        drafts.save(draft)
        saved = store.save_disposition(draft, rule)
        say(f"confirmed {saved.disposition_id} {MARKER.search(draft.note).group(0)}")
        drafts.clear()
        if rng.random() < 0.3:
            say(f"note {repo.add_note(lead_id, f'cc-note {uuid.uuid4().hex}')}")
        try:
            _sync(engine, client, sync_store, args)
        except SyncError as exc:
            say(f"sync-failed {exc}")
    say("done")
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--draft", type=Path)
    ap.add_argument("--server")
    ap.add_argument("--user", default="lina")
    ap.add_argument("--password", default="demo-2026")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ops", type=int, default=40)
    ap.add_argument("--drain-only", action="store_true")
    ap.add_argument("--zygote", action="store_true")
    return ap


def zygote() -> int:
    """Fork one driver per job line: {"job", "argv", "env", "out"}; answer "exit <job> <status>"."""
    name_keys("张三")  # load the pinyin dictionary once, before forking
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                fd = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.environ.update(job.get("env") or {})
                for key in [k for k in os.environ if k.startswith("SEATMATE_CRASH") and k not in (job.get("env") or {})]:
                    del os.environ[key]
                code = drive(_parser().parse_args(job["argv"]))
            except BaseException as exc:  # reported in the job output, then the exit code
                import traceback

                os.write(2, f"child failed: {exc!r}\n{traceback.format_exc()}".encode())
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(f"exit {job['job']} {status}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.zygote:
        return zygote()
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
