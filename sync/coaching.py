"""The client of supervisor mode, part 2 (docs/coaching.md): coaching, the recordings browser
and player stream, the question inbox, lead distribution and the daily report.

Blocking httpx through an :class:`~sync.client.ApiClient` (its tokens, refresh and error
mapping), like :mod:`sync.supervisor`; one owner thread. Coaching evaluations and the agent's
answers are *events*: :func:`evaluation_event`, :func:`acknowledgement_event` and
:func:`dispute_event` build their payloads for the outbox (the sync loop pushes them; the
evaluations come back by pull as ``coaching_evaluation``), so they are offline-safe.

    tl = TeamLeadClient(api)
    page = tl.recordings(date_from="2026-12-04", evaluated=False)
    part = tl.read_range(call_id, start=seek_byte, length=256 * 1024)   # one Range request
    peaks = tl.recording_peaks(call_id)   # the waveform, computed by the server
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core import coaching as rules
from core.contract import EventType
from sync.client import ApiClient, NetworkError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RangeChunk:
    """One part of a recording: bytes ``start``..``start + len(data) - 1`` of ``size``."""

    start: int
    data: bytes
    size: int


def evaluation_event(agent_id: str, call_id: str, campaign_id: str, items: Sequence[rules.ItemAnswer], *,
                     overall_comment: str = "", source: str = "recording",
                     supersedes: str | None = None) -> tuple[str, dict[str, Any]]:
    """(event type, payload) of a TL's evaluation; ``supersedes`` corrects an earlier one.
    The score is not sent: the server computes it with core.coaching.score (so does the UI)."""
    payload: dict[str, Any] = {
        "agent_id": agent_id, "call_id": call_id, "campaign_id": campaign_id, "source": source,
        "items": [{"item": i.item, "answer": i.answer, "comment": i.comment,
                   **({"at_s": i.at_s} if i.at_s is not None else {})} for i in items],
        "overall_comment": overall_comment}
    if supersedes:
        payload["supersedes"] = supersedes
    return EventType.COACHING_EVALUATION_RECORDED, payload


def acknowledgement_event(evaluation_id: str, comment: str = "") -> tuple[str, dict[str, Any]]:
    return EventType.COACHING_ACKNOWLEDGED, {"evaluation_id": evaluation_id, "comment": comment}


def dispute_event(evaluation_id: str, comment: str) -> tuple[str, dict[str, Any]]:
    if not comment.strip():
        raise ValueError("a dispute needs a comment")
    return EventType.COACHING_DISPUTED, {"evaluation_id": evaluation_id, "comment": comment}


class TeamLeadClient:
    """The TL's (and, for their own data, the agent's) calls of docs/coaching.md."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def _call(self, method: str, path: str, what: str, *, body: Any = None,
              params: dict[str, Any] | None = None) -> Any:
        return self.api.call_json(method, path, what, body=body, params=params)

    # -- coaching ---------------------------------------------------------------------

    def coaching_form(self, campaign_id: str) -> rules.CoachingForm:
        data = self._call("GET", f"/coaching/forms/{campaign_id}", "coaching form")
        try:
            return rules.parse_form(data)
        except rules.FormError as exc:
            raise NetworkError(f"coaching form: unexpected answer ({exc})") from exc

    def evaluations(self, *, agent_id: str | None = None, call_id: str | None = None,
                    team_id: str | None = None, include_superseded: bool = False) -> list[dict[str, Any]]:
        data = self._call("GET", "/coaching/evaluations", "evaluations", params={
            "agent_id": agent_id, "call_id": call_id, "team_id": team_id,
            "include_superseded": include_superseded or None})
        return list(data["evaluations"])

    # -- recordings ---------------------------------------------------------------------

    def recordings(self, *, team_id: str | None = None, agent_id: str | None = None, date_from: str | None = None,
                   date_to: str | None = None, disposition: str | None = None, min_seconds: int | None = None,
                   max_seconds: int | None = None, evaluated: bool | None = None, limit: int = 50,
                   offset: int = 0) -> dict[str, Any]:
        """A page of the team's recorded calls: ``{"total", "limit", "offset", "items"}``."""
        return self._call("GET", "/recordings", "recordings", params={
            "team_id": team_id, "agent_id": agent_id, "date_from": date_from, "date_to": date_to,
            "disposition": disposition, "min_seconds": min_seconds, "max_seconds": max_seconds,
            "evaluated": evaluated, "limit": limit, "offset": offset})

    def read_range(self, call_id: str, start: int, length: int = CHUNK) -> RangeChunk:
        """One Range request: up to ``length`` bytes from ``start`` (a seek is one of these)."""
        end = start + max(1, length) - 1
        r = self.api._request("GET", f"/recordings/{call_id}/stream", headers={"Range": f"bytes={start}-{end}"})
        if r.status_code != 206:
            raise NetworkError(f"recording {call_id}: expected 206 Partial Content, got {r.status_code}")
        try:
            span, size = r.headers["content-range"].removeprefix("bytes ").split("/")
            first = int(span.split("-")[0])
            return RangeChunk(first, r.content, int(size))
        except (KeyError, ValueError) as exc:
            raise NetworkError(f"recording {call_id}: bad Content-Range ({exc})") from exc

    def stream_recording(self, call_id: str, start: int = 0, chunk: int = CHUNK) -> Iterator[bytes]:
        """The recording from byte ``start`` to the end, as chunks of Range requests."""
        pos = start
        while True:
            part = self.read_range(call_id, pos, chunk)
            if not part.data:
                return
            yield part.data
            pos = part.start + len(part.data)
            if pos >= part.size:
                return

    def recording_peaks(self, call_id: str, buckets: int = 1200) -> dict[str, Any]:
        """The waveform computed by the server: ``{"size", "channels", "rate", "duration_s",
        "peaks": [[left…], [right…]]}`` (0..1 per bucket), a few KB instead of the file."""
        return self._call("GET", f"/recordings/{call_id}/peaks", "recording peaks", params={"buckets": buckets})

    def playbacks(self, call_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/recordings/{call_id}/playbacks", "playbacks")["playbacks"])

    # -- question inbox -------------------------------------------------------------------

    def questions(self, campaign_id: str | None = None, status: str = "open", team_id: str | None = None,
                  threshold: float | None = None) -> list[dict[str, Any]]:
        data = self._call("GET", "/supervisor/questions", "questions", params={
            "campaign_id": campaign_id, "status": status, "team_id": team_id, "threshold": threshold})
        return list(data["groups"])

    def answer_questions(self, campaign_id: str, question_ids: Sequence[str], question: str, answer: str,
                         team_id: str | None = None) -> dict[str, Any]:
        """A new script version with the answer under 异议处理; the questions are answered."""
        return self._call("POST", "/supervisor/questions/answer", "answer", body={
            "campaign_id": campaign_id, "question_ids": list(question_ids), "question": question,
            "answer": answer, **({"team_id": team_id} if team_id else {})})

    # -- lead distribution -------------------------------------------------------------------

    def distribution(self, campaign_id: str, team_id: str | None = None, period_days: int = 30) -> dict[str, Any]:
        return self._call("GET", "/supervisor/distribution", "distribution", params={
            "campaign_id": campaign_id, "team_id": team_id, "period_days": period_days})

    def _distribute(self, kind: str, campaign_id: str, count: int, mode: str, floor: int, period_days: int,
                    agent_ids: Sequence[str] | None, team_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"campaign_id": campaign_id, "count": count, "mode": mode, "floor": floor,
                                "period_days": period_days}
        if agent_ids is not None:
            body["agent_ids"] = list(agent_ids)
        if team_id:
            body["team_id"] = team_id
        return self._call("POST", f"/supervisor/distribution/{kind}", f"distribution {kind}", body=body)

    def preview_distribution(self, campaign_id: str, count: int, mode: str = "even", floor: int = 0,
                             period_days: int = 30, agent_ids: Sequence[str] | None = None,
                             team_id: str | None = None) -> dict[str, Any]:
        return self._distribute("preview", campaign_id, count, mode, floor, period_days, agent_ids, team_id)

    def distribute(self, campaign_id: str, count: int, mode: str = "even", floor: int = 0,
                   period_days: int = 30, agent_ids: Sequence[str] | None = None,
                   team_id: str | None = None) -> dict[str, Any]:
        return self._distribute("commit", campaign_id, count, mode, floor, period_days, agent_ids, team_id)

    def reclaim(self, agent_id: str, campaign_id: str | None = None, redistribute: bool = True,
                mode: str = "even", team_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"agent_id": agent_id, "redistribute": redistribute, "mode": mode}
        if campaign_id:
            body["campaign_id"] = campaign_id
        if team_id:
            body["team_id"] = team_id
        return self._call("POST", "/supervisor/distribution/reclaim", "reclaim", body=body)

    # -- daily report ---------------------------------------------------------------------------

    def report(self, date_from: str | None = None, date_to: str | None = None,
               team_id: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/reports/summary", "report", params={
            "date_from": date_from, "date_to": date_to, "team_id": team_id})

    def export_report(self, fmt: str, date_from: str | None = None, date_to: str | None = None,
                      team_id: str | None = None) -> bytes:
        """The same report as ``csv`` or ``xlsx`` bytes (what the server CLI writes too)."""
        if fmt not in ("csv", "xlsx"):
            raise ValueError("fmt is csv or xlsx")
        params = {k: v for k, v in {"date_from": date_from, "date_to": date_to, "team_id": team_id,
                                    "format": fmt}.items() if v is not None}
        return self.api._request("GET", "/reports/summary", params=params).content
