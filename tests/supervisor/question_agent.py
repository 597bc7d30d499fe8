"""An agent's app without a window, in a process of its own, for the question round trip.

Its own cache file, the real sync engine against the server, the workspace store's write
(the one the 记录新问题 button ends in: ``WorkspaceController.record_question`` →
``WorkspaceStore.record_event``) and the script as the app reads it from its cache.

``python -m tests.supervisor.question_agent --cache F --server URL --user U --password P``
reads one JSON command per line on stdin and answers each with one ``@@QA {json}`` line:

``{"cmd": "ask", "text": …, "section": …}``  record the question on the agent's first open lead
    and push it (one sync round); answers ``event_id``, ``lead_id``, ``campaign_id``, ``pending``.
``{"cmd": "pull"}``  one sync round; answers the script the cache now holds for that campaign
    (``version``, ``body``) and its objection answers (``title``, ``body``, ``new``: the marker's
    date or null).
``{"cmd": "quit"}``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.workspace.store import WorkspaceStore
from cache import models as m
from cache.db import open_cache
from cache.repository import Repository
from cache.sync_store import SyncStore
from core import script_doc
from core.contract import OPEN_STATUSES, EventType
from core.questions import marked_new
from sync.client import ApiClient, MemoryVault
from sync.engine import SyncEngine

PREFIX = "@@QA "


def say(**fields: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps(fields, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--server", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    args = ap.parse_args(argv)

    handle = open_cache(args.cache)
    sync_store = SyncStore(handle)
    client = ApiClient(args.server, MemoryVault(), device_id=sync_store.device_id(), timeout=10)
    sync_store.save_identity(client.login(args.user, args.password).to_json(), args.server)
    engine = SyncEngine(client, sync_store)
    workspace = WorkspaceStore(handle)
    repository = Repository(handle)
    engine.run_round()  # the first sync: leads, campaigns, scripts
    campaign_id: str | None = None
    say(ready=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "ask":
            with handle.session() as s:
                lead_id, campaign_id = s.execute(
                    select(m.Lead.id, m.Lead.campaign_id).where(m.Lead.status.in_(OPEN_STATUSES))
                    .order_by(m.Lead.id).limit(1)).one()
            payload = {"text": cmd["text"]}
            if cmd.get("section"):
                payload["script_section"] = cmd["section"]
            event_id = workspace.record_event(EventType.UNSCRIPTED_QUESTION, lead_id, payload)
            result = engine.run_round()
            say(event_id=event_id, lead_id=lead_id, campaign_id=campaign_id, pushed=result.pushed,
                rejected=result.rejected, pending=sync_store.pending_count())
        elif cmd["cmd"] == "pull":
            result = engine.run_round()
            view = repository.script_for(campaign_id) if campaign_id else None
            doc = script_doc.parse(view.body_markdown, view.title) if view else None
            say(pulled_pages=result.pulled_pages, version=view.version if view else None,
                body=view.body_markdown if view else None,
                objections=[{"title": o.title, "body": o.body, "new": marked_new(o.body)}
                            for o in (doc.objections if doc else ())])
        elif cmd["cmd"] == "quit":
            say(bye=True)
            break
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
