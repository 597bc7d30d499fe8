"""Upload call recordings, resumably; delete the local file after a confirmed upload
and the retention period.

Protocol (docs/sync-api.md): ``HEAD`` says how many bytes the server holds,
``PATCH`` appends a chunk at that offset, ``complete`` checks size and SHA-256.
A connection lost mid-upload resumes from the server's offset, not from 0.
A checksum mismatch (422) starts the file over once per round.

Which recordings are uploaded is remembered in ``sync_state`` under
``recording:<call_id>`` (the upload time), so no cache schema change is needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from cache import models as m
from cache.sync_state import RECORDING_PREFIX
from cache.sync_store import SyncStore
from core import timeutil
from core.checksum import file_sha256
from sync.client import ApiClient, RequestRejected

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
DEFAULT_RETENTION_DAYS = 7
_STATE_PREFIX = RECORDING_PREFIX
_MAX_STEPS = 6  # status → send → complete cycles per file and round (bounded)


@dataclass(frozen=True)
class UploadReport:
    uploaded: int = 0
    bytes_sent: int = 0
    deleted_local: int = 0
    failed: int = 0


class RecordingUploader:
    def __init__(self, client: ApiClient, store: SyncStore, *,
                 utcnow: Callable[[], dt.datetime] | None = None, chunk: int = CHUNK) -> None:
        self.client = client
        self.store = store
        self.chunk = chunk
        self._utcnow = utcnow or timeutil.utcnow

    def retention(self) -> dt.timedelta:
        days = self.store.settings().get("recording_retention_days", DEFAULT_RETENTION_DAYS)
        try:
            return dt.timedelta(days=float(days))
        except (TypeError, ValueError):
            return dt.timedelta(days=DEFAULT_RETENTION_DAYS)

    def _candidates(self) -> list[tuple[str, str]]:
        with self.store.handle.session() as s:
            rows = s.execute(
                select(m.CallRecord.id, m.CallRecord.recording_path)
                .where(m.CallRecord.recording_path.is_not(None), m.CallRecord.ended_at.is_not(None))
                .order_by(m.CallRecord.dialed_at)
            ).all()
        return [(r.id, r.recording_path) for r in rows]

    def run(self, max_files: int = 20) -> UploadReport:
        """Upload what is pending, then delete what is past retention. Raises SyncError when offline."""
        uploaded = sent = deleted = failed = 0
        keep = self.retention()
        for call_id, path_text in self._candidates():
            path = Path(path_text)
            done_at = self.store.get_state(_STATE_PREFIX + call_id)
            if done_at:
                if self._utcnow() - (timeutil.parse_iso(done_at) or self._utcnow()) >= keep:
                    deleted += self._delete_local(call_id, path)
                continue
            if uploaded + failed >= max_files:
                continue
            if not path.is_file():
                log.warning("recording of call %s is missing on disk; nothing to upload", call_id[:8])
                failed += 1
                continue
            try:
                sent += self.upload(call_id, path)
            except RequestRejected as exc:
                log.error("recording of call %s refused: %s", call_id[:8], exc)
                failed += 1
                continue
            self.store.set_state(_STATE_PREFIX + call_id, timeutil.format_iso(self._utcnow()))
            uploaded += 1
        return UploadReport(uploaded, sent, deleted, failed)

    def upload(self, call_id: str, path: Path) -> int:
        """Upload one file from the server's offset; returns bytes sent. Raises on failure.

        Every step is safe to repeat: a chunk whose answer was lost makes the next
        PATCH fail with 409 (offset mismatch) and we ask the server where it is; a
        repeated ``complete`` with the same checksum is answered 200 again.
        """
        size = path.stat().st_size
        digest = file_sha256(path)
        sent = 0
        for _attempt in range(_MAX_STEPS):
            offset, complete = self.client.recording_status(call_id)
            if not complete:
                if offset > size:
                    offset = 0  # cannot be ours; the checksum step will make the server start over
                try:
                    sent += self._send_from(call_id, path, offset, size)
                except RequestRejected as exc:
                    if exc.status == 409:
                        continue  # the server is elsewhere (a lost answer): ask again
                    raise
            try:
                self.client.recording_complete(call_id, digest, size)
                return sent
            except RequestRejected as exc:
                if exc.status == 422:
                    # The server dropped what it had (checksum mismatch): upload again from 0.
                    log.warning("recording of call %s failed its checksum; uploading again", call_id[:8])
                    continue
                raise
        raise RequestRejected(409, "the upload did not converge", "upload_retry_limit")

    def _send_from(self, call_id: str, path: Path, offset: int, size: int) -> int:
        sent = 0
        with path.open("rb") as f:
            f.seek(offset)
            while offset < size:
                chunk = f.read(self.chunk)
                offset = self.client.recording_patch(call_id, offset, chunk)
                sent += len(chunk)
                f.seek(offset)
        return sent

    def _delete_local(self, call_id: str, path: Path) -> int:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete an uploaded recording (%s)", type(exc).__name__)
            return 0
        with self.store.handle.write() as s:
            s.execute(update(m.CallRecord).where(m.CallRecord.id == call_id).values(recording_path=None))
            s.execute(m.SyncState.__table__.delete().where(m.SyncState.key == _STATE_PREFIX + call_id))
        return 1
