"""Child process for the crash test: hang up a call, start editing the wrap-up, then wait to be killed."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from pathlib import Path

from PySide6.QtCore import QCoreApplication

sys.path.insert(0, str(Path(__file__).parent))

from ws_seed import seed_demo

from app.workspace.store import CallStart, WorkspaceStore
from app.workspace.wrapup import DraftStore, WrapupService
from cache.db import open_cache
from cache.repository import Repository
from core.wrapup import CallOutcome


def main() -> None:
    data = Path(sys.argv[1])
    app = QCoreApplication([])  # noqa: F841
    handle = open_cache(data / "cache.sqlite3")
    seed_demo(Repository(handle))
    store = WorkspaceStore(handle)
    lead_id = store.candidates(dt.datetime.now(dt.timezone.utc))[0].lead_id
    phone_id = store.lead_brief(lead_id).phone_ids[0]
    call_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.timezone.utc)
    store.record_call_started(CallStart(call_id, lead_id, phone_id, "out", now - dt.timedelta(seconds=70)),
                              store.number_for_dial(phone_id))
    store.record_call_ended(call_id, ringing_at=None, answered_at=now - dt.timedelta(seconds=60), ended_at=now,
                            sip_status=200, talk_seconds=60)
    svc = WrapupService(DraftStore(data / "wrapup-draft.json"), store.save_disposition, store.codes_for_lead)
    svc.begin(CallOutcome(call_id, lead_id, phone_id, "out", True, 200, 60))
    svc.set_code("INSURED_ELSEWHERE")
    svc.set_note("客户说已在人保投保")
    print(f"editing {call_id}", flush=True)
    time.sleep(120)  # killed long before this


if __name__ == "__main__":
    main()
