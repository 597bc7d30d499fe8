"""Resumable recording upload (HEAD offset / PATCH chunk / POST complete) and download."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from core.timeutil import utcnow
from server.api.common import ERRORS, ApiError, Caller, Ctx, In, run_write
from server.models import Call, Recording, User
from server.security import Principal

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"], responses=ERRORS)

MAX_CHUNK = 16 * 1024 * 1024
MAX_SIZE = 1024 * 1024 * 1024
CallId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class CompleteIn(In):
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    size: int = Field(ge=0, le=MAX_SIZE)


class CompleteOut(BaseModel):
    call_id: str
    size: int
    sha256: str
    status: str


def _file(ctx, call_id: str) -> Path:
    # Hashed name: a call id never becomes a path component.
    return ctx.config.recordings_dir / (hashlib.sha256(call_id.encode()).hexdigest() + ".bin")


def _owned(s, p: Principal, call_id: str, create: bool) -> Recording | None:
    """The caller's upload for call_id; 403 if the call or upload is someone else's.
    ``create`` (a chunk): the row is locked, so two instances given the same chunk (a
    proxy's retry after a timeout) write it one after the other, and the second gets 409."""
    rec = s.get(Recording, call_id, with_for_update=create)
    call = s.get(Call, call_id)
    owner = rec.user_id if rec else (call.user_id if call else None)
    if owner is not None and owner != p.user_id:
        raise ApiError(403, "forbidden", "recording belongs to another agent")
    if rec is None and create:
        rec = Recording(call_id=call_id, user_id=p.user_id, received=0)
        s.add(rec)
        s.flush()
    return rec


@router.head("/{call_id}", responses={200: {"description": "Upload-Offset header: bytes received"}})
def head_upload(call_id: CallId, p: Caller, ctx: Ctx) -> Response:
    with ctx.reader() as s:
        rec = _owned(s, p, call_id, create=False)
    if rec is None:
        raise ApiError(404, "not_found", "no upload for this call")
    headers = {"Upload-Offset": str(rec.received), "Upload-Complete": "1" if rec.status == "complete" else "0"}
    return Response(status_code=200, headers=headers)


@router.patch("/{call_id}", status_code=204, response_class=Response,
              responses={204: {"description": "chunk stored; Upload-Offset header: bytes received"}})
async def patch_upload(call_id: CallId, request: Request, p: Caller, ctx: Ctx,
                       upload_offset: Annotated[int, Header(ge=0, le=MAX_SIZE)]) -> Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_CHUNK):
        raise ApiError(413, "too_large", f"chunks are at most {MAX_CHUNK} bytes")
    chunks: list[bytes] = []
    total = 0
    async for part in request.stream():
        total += len(part)
        if total > MAX_CHUNK:
            raise ApiError(413, "too_large", f"chunks are at most {MAX_CHUNK} bytes")
        chunks.append(part)
    data = b"".join(chunks)
    if upload_offset + len(data) > MAX_SIZE:
        raise ApiError(413, "too_large", "recording too large")

    def store(s) -> int:
        rec = _owned(s, p, call_id, create=True)
        if rec.status == "complete":
            raise ApiError(409, "complete", "upload already complete", {"Upload-Offset": str(rec.received)})
        if upload_offset != rec.received:
            raise ApiError(409, "offset_mismatch", f"expected Upload-Offset {rec.received}",
                           {"Upload-Offset": str(rec.received)})
        path = _file(ctx, call_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.lseek(fd, upload_offset, os.SEEK_SET)
            os.write(fd, data)
            os.ftruncate(fd, upload_offset + len(data))
            os.fsync(fd)
        finally:
            os.close(fd)
        rec.received = upload_offset + len(data)
        return rec.received

    received = await run_in_threadpool(run_write, ctx, store)
    return Response(status_code=204, headers={"Upload-Offset": str(received)})


@router.post("/{call_id}/complete", response_model=CompleteOut)
def complete_upload(call_id: CallId, body: CompleteIn, p: Caller, ctx: Ctx) -> dict[str, Any]:
    def finish(s) -> dict[str, Any] | ApiError:
        rec = _owned(s, p, call_id, create=False)
        if rec is None:
            raise ApiError(404, "not_found", "no upload for this call")
        want = body.sha256.lower()
        if rec.status == "complete":
            if rec.sha256 == want and rec.size == body.size:
                return {"call_id": call_id, "size": rec.size, "sha256": rec.sha256, "status": "complete"}
            raise ApiError(409, "complete", "upload already complete with another checksum")
        path = _file(ctx, call_id)
        h = hashlib.sha256()
        size = 0
        if path.exists():
            with path.open("rb") as f:
                while block := f.read(1024 * 1024):
                    h.update(block)
                    size += len(block)
        if size != body.size or h.hexdigest() != want:
            # Start over: a corrupt upload must not be resumed on top of.
            rec.received = 0
            path.unlink(missing_ok=True)
            return ApiError(422, "checksum_mismatch",
                            f"size or sha256 does not match what was received ({size} bytes); upload again")
        rec.status, rec.size, rec.sha256, rec.completed_at = "complete", size, want, utcnow()
        return {"call_id": call_id, "size": size, "sha256": want, "status": "complete"}

    result = run_write(ctx, finish)
    if isinstance(result, ApiError):
        raise result
    return result


@router.get("/{call_id}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the recording"}})
def download(call_id: CallId, p: Caller, ctx: Ctx) -> FileResponse:
    with ctx.reader() as s:
        rec = s.get(Recording, call_id)
        owner = s.get(User, rec.user_id) if rec else None
    # Only the agent, a TL of the agent's team, or an admin; others get 404 (no probing).
    allowed = owner is not None and (
        p.role == "admin" or p.user_id == owner.id
        or (p.role == "tl" and p.team_id is not None and p.team_id == owner.team_id))
    if not allowed or rec.status != "complete":
        raise ApiError(404, "not_found", "no such recording")
    return FileResponse(_file(ctx, call_id), media_type="application/octet-stream",
                        filename=f"{call_id}.wav")
