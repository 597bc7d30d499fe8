"""Coaching on recordings (辅导表, issue #13): the team's recorded calls, the recording itself
(streamed to the player with HTTP Range requests by :class:`~app.supervisor.recording_stream.
RecordingStream`, never downloaded whole; its waveform computed by the server), the campaign's
form, the call's evaluations, and a new evaluation saved as an *event* through the app's outbox
(offline-safe; the server computes the score with ``core.coaching.score``, which the form shows
as it is filled in).

A QObject on the GUI thread; every request runs on one ``app.background`` worker (a second one
fetches the waveform; the recording's bytes come on the streams' fetcher thread, one HTTP client
kept from one recording to the next, so neither a long list nor a slow network holds up the other).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import Worker
from app.supervisor.common import ApiSource, BorrowedClient, TokenBorrower, failure_message
from app.supervisor.recording_stream import RangeFetcher, RecordingStream
from core import coaching as rules
from core import messages as msg
from core import wav
from core.messages import Message
from sync.client import RequestRejected
from sync.coaching import RangeChunk, TeamLeadClient, acknowledgement_event, dispute_event, evaluation_event

log = logging.getLogger(__name__)

#: (event type, lead id or None, payload) → the event id, written to the local outbox.
EventSink = Callable[[str, str | None, dict[str, Any]], str]
PEAKS = 1200  # waveform buckets per channel


@dataclass(frozen=True)
class Recording:
    """A recording ready to play: its first range arrived (the WAV header), the rest streams.
    ``stream`` is what app/supervisor/recording_player.py plays (it reads the samples from it)."""

    call_id: str
    size: int
    duration_s: float
    channels: int
    stream: RecordingStream


@dataclass(frozen=True)
class Peaks:
    """The waveform of a recording (server-computed), per channel 0..1: agent left, customer right."""

    call_id: str
    duration_s: float
    left: tuple[float, ...]
    right: tuple[float, ...]


class _RangeReader:
    """The streams' Range requests, on the fetcher thread's own client."""

    def __init__(self, client: BorrowedClient) -> None:
        self._client, self._tl = client, TeamLeadClient(client)

    def read(self, call_id: str, start: int, length: int) -> RangeChunk:
        return self._tl.read_range(call_id, start, length)

    def close(self) -> None:
        self._client.close()


def recording_failure(exc: BaseException) -> Message:
    """Why a recording cannot be played, in message codes: 403 is said plainly."""
    if isinstance(exc, RequestRejected) and exc.status == 403:
        return Message.of(msg.RECORDING_FORBIDDEN)
    if isinstance(exc, wav.WavError):
        return Message.of(msg.RECORDING_NOT_PLAYABLE)
    return failure_message(exc)


class CoachingService(QObject):
    recordings_loaded = Signal(object)  # dict: {"total", "items": [...]} (docs/coaching.md §2)
    form_loaded = Signal(str, object)  # campaign id, core.coaching.CoachingForm
    evaluations_loaded = Signal(str, object)  # call id, list[dict]
    audio_ready = Signal(object)  # Recording (its first range arrived: playable)
    peaks_ready = Signal(object)  # Peaks
    evaluation_saved = Signal(str, str)  # call id, event id (queued in the outbox)
    my_evaluations_loaded = Signal(object)  # list[dict]: the agent's own (current ones)
    answer_saved = Signal(str, str)  # evaluation id, "acknowledged" | "disputed" (queued in the outbox)
    failed = Signal(object)  # core.messages.Message

    def __init__(self, api_source: ApiSource, event_sink: EventSink, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tokens = TokenBorrower(api_source)
        self._sink = event_sink
        self._worker = Worker("coaching")
        self._audio = Worker("coaching-audio")
        self._clients: dict[str, BorrowedClient] = {}  # per worker thread
        self.forms: dict[str, rules.CoachingForm] = {}
        self.stream: RecordingStream | None = None
        # Streams let go of: kept referenced a while (a Range answer in flight for one is
        # dropped when it lands; the player reads only the current one).
        self._retired: deque[RecordingStream] = deque(maxlen=3)
        self._gains = (1.0, 1.0)
        tokens = self._tokens
        self._fetcher = RangeFetcher(
            lambda: _RangeReader(BorrowedClient(tokens.api().base_url, tokens, timeout=30)))

    def stop(self) -> None:
        self._retire()
        self._fetcher.stop()
        self._worker.stop()
        self._audio.stop()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _tl(self, key: str) -> TeamLeadClient:
        if key not in self._clients:
            self._clients[key] = BorrowedClient(self._tokens.api().base_url, self._tokens, timeout=30)
        return TeamLeadClient(self._clients[key])

    def _fail(self, exc: BaseException) -> None:
        log.info("coaching request failed: %s", exc)
        self.failed.emit(failure_message(exc))

    # -- the list ---------------------------------------------------------------------------------
    def load_recordings(self, **filters: Any) -> None:
        """``agent_id``, ``date_from``/``date_to`` (YYYY-MM-DD), ``disposition``, ``min_seconds``,
        ``max_seconds``, ``evaluated`` (None: both), ``limit``, ``offset``."""
        self._worker.submit(lambda: self._tl("w").recordings(**filters), self.recordings_loaded.emit, self._fail,
                            latest="recordings")
        self._fetcher.warm()  # its HTTP client is ready by the time a recording is opened

    def load_form(self, campaign_id: str) -> None:
        def got(form: rules.CoachingForm) -> None:
            self.forms[campaign_id] = form
            self.form_loaded.emit(campaign_id, form)

        self._worker.submit(lambda: self._tl("w").coaching_form(campaign_id), got, self._fail)

    def load_evaluations(self, call_id: str) -> None:
        self._worker.submit(lambda: self._tl("w").evaluations(call_id=call_id),
                            lambda evs: self.evaluations_loaded.emit(call_id, evs), self._fail,
                            latest="evaluations")

    # -- the recording --------------------------------------------------------------------------------
    def open_recording(self, call_id: str) -> None:
        """Start streaming ``call_id``: ``audio_ready`` once its first range (the header and the
        first seconds) arrived, ``peaks_ready`` with the waveform; ``failed`` (403 said plainly)
        otherwise. The previous recording's stream stops fetching (let go of it in the player first)."""
        self._retire()
        stream = RecordingStream(call_id, on_ready=self._stream_ready,
                                 on_failed=lambda exc: self._stream_failed(call_id, exc))
        stream.set_gains(*self._gains)
        self.stream = stream
        self._fetcher.attach(stream)

        def peaks_job() -> Peaks:
            data = self._tl("a").recording_peaks(call_id, PEAKS)
            chans = [tuple(float(x) for x in ch) for ch in data.get("peaks") or []]
            left = chans[0] if chans else ()
            return Peaks(call_id, float(data.get("duration_s") or 0.0), left, chans[1] if len(chans) > 1 else left)

        def peaks_failed(exc: BaseException) -> None:
            # The stream says why a recording cannot be played; a missing waveform alone is not fatal.
            log.info("no waveform for call %s: %s", call_id[:8], exc)

        self._audio.submit(peaks_job, self.peaks_ready.emit, peaks_failed, latest="peaks")

    def _retire(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.shutdown()  # a request in flight for it is dropped when it lands
            self._retired.append(stream)

    def _stream_ready(self, stream: RecordingStream) -> None:
        if stream is not self.stream or stream.fmt is None:
            return
        self.audio_ready.emit(Recording(stream.call_id, stream.size(), stream.duration_s, stream.fmt.channels,
                                        stream))

    def _stream_failed(self, call_id: str, exc: BaseException) -> None:
        if self.stream is None or self.stream.call_id != call_id:
            return
        log.info("recording of call %s cannot be streamed: %s", call_id[:8], exc)
        self.failed.emit(recording_failure(exc))

    def set_gains(self, agent: float, customer: float) -> None:
        """Per-channel volume (0..1): agent (left), customer (right), applied to the samples the
        stream serves from now on (and to the next recording opened)."""
        self._gains = (agent, customer)
        if self.stream is not None:
            self.stream.set_gains(agent, customer)

    # -- saving ----------------------------------------------------------------------------------------
    def save_evaluation(self, agent_id: str, call_id: str, campaign_id: str, items: Sequence[rules.ItemAnswer],
                        overall_comment: str = "", *, source: str = "recording",
                        supersedes: str | None = None) -> None:
        """Queue the evaluation event in the outbox (the sync loop pushes it)."""
        etype, payload = evaluation_event(agent_id, call_id, campaign_id, list(items),
                                          overall_comment=overall_comment, source=source, supersedes=supersedes)
        self._worker.submit(lambda: self._sink(etype, None, payload),
                            lambda eid: self.evaluation_saved.emit(call_id, eid), self._fail)

    # -- the agent's side: their own evaluations --------------------------------------------------------
    def load_my_evaluations(self) -> None:
        """The logged-in agent's evaluations (the server gives a TSR only their own), newest first."""
        def job() -> list[dict[str, Any]]:
            evs = [e for e in self._tl("w").evaluations() if not e.get("superseded_by")]
            return sorted(evs, key=lambda e: e.get("evaluated_at") or "", reverse=True)

        self._worker.submit(job, self.my_evaluations_loaded.emit, self._fail, latest="mine")
        self._fetcher.warm()  # the agent plays the moments next

    def acknowledge(self, evaluation_id: str, comment: str = "") -> None:
        etype, payload = acknowledgement_event(evaluation_id, comment)
        self._worker.submit(lambda: self._sink(etype, None, payload),
                            lambda _eid: self.answer_saved.emit(evaluation_id, rules.ACK_ACKNOWLEDGED), self._fail)

    def dispute(self, evaluation_id: str, comment: str) -> None:
        """A dispute needs a comment (ValueError without one)."""
        etype, payload = dispute_event(evaluation_id, comment)
        self._worker.submit(lambda: self._sink(etype, None, payload),
                            lambda _eid: self.answer_saved.emit(evaluation_id, rules.ACK_DISPUTED), self._fail)
