"""Coaching on recordings (辅导表, issue #13): the team's recorded calls, the recording itself
(fetched with HTTP Range requests into a temporary file, its waveform computed from the
samples), the campaign's form, the call's evaluations, and a new evaluation saved as an
*event* through the app's outbox (offline-safe; the server computes the score with
``core.coaching.score``, which the form shows as it is filled in).

A QObject on the GUI thread; every request runs on one ``app.background`` worker (a second
one fetches audio, so a long download never holds up the list or the form).
"""

from __future__ import annotations

import logging
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import Worker, on_gui
from app.supervisor.common import ApiSource, BorrowedClient, TokenBorrower, failure_message
from core import coaching as rules
from sync.coaching import CHUNK, TeamLeadClient, acknowledgement_event, dispute_event, evaluation_event

log = logging.getLogger(__name__)

#: (event type, lead id or None, payload) → the event id, written to the local outbox.
EventSink = Callable[[str, str | None, dict[str, Any]], str]
PEAKS = 1200  # waveform buckets per channel


@dataclass(frozen=True)
class Recording:
    """A recording on this computer: the file, its length and its waveform (per channel, peaks
    0..1 in ``PEAKS`` buckets; agent left, customer right)."""

    call_id: str
    path: str
    size: int
    duration_s: float
    channels: int
    left: tuple[float, ...]
    right: tuple[float, ...]


def waveform(path: Path, buckets: int = PEAKS) -> tuple[float, int, tuple[float, ...], tuple[float, ...]]:
    """(duration, channels, left peaks, right peaks) of a 16-bit PCM WAV."""
    import numpy as np

    with wave.open(str(path), "rb") as w:
        channels, rate, width, frames = w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(frames)
    if width != 2:
        raise ValueError(f"{width * 8}-bit WAV: only 16-bit PCM is drawn")
    data = np.frombuffer(raw, dtype="<i2")
    n = len(data) // channels
    data = data[: n * channels].reshape(n, channels) if n else np.zeros((0, channels), dtype="<i2")
    duration = n / float(rate) if rate else 0.0

    def peaks(col: Any) -> tuple[float, ...]:
        if n == 0:
            return ()
        edges = np.linspace(0, n, min(buckets, n) + 1).astype(int)
        absv = np.abs(col.astype(np.int32))
        out = np.maximum.reduceat(absv, edges[:-1]) / 32768.0
        return tuple(float(x) for x in out)

    left = peaks(data[:, 0]) if channels else ()
    right = peaks(data[:, 1]) if channels > 1 else left
    return duration, channels, left, right


class CoachingService(QObject):
    recordings_loaded = Signal(object)  # dict: {"total", "items": [...]} (docs/coaching.md §2)
    form_loaded = Signal(str, object)  # campaign id, core.coaching.CoachingForm
    evaluations_loaded = Signal(str, object)  # call id, list[dict]
    audio_progress = Signal(str, int, int)  # call id, bytes so far, size
    audio_ready = Signal(object)  # Recording
    evaluation_saved = Signal(str, str)  # call id, event id (queued in the outbox)
    remixed = Signal(str, str)  # call id, path of the copy with the channel volumes applied
    my_evaluations_loaded = Signal(object)  # list[dict]: the agent's own (current ones)
    answer_saved = Signal(str, str)  # evaluation id, "acknowledged" | "disputed" (queued in the outbox)
    failed = Signal(object)  # core.messages.Message

    def __init__(self, api_source: ApiSource, event_sink: EventSink, *, parent: QObject | None = None,
                 temp_dir: str | None = None) -> None:
        super().__init__(parent)
        self._tokens = TokenBorrower(api_source)
        self._sink = event_sink
        self._worker = Worker("coaching")
        self._audio = Worker("coaching-audio")
        self._clients: dict[str, BorrowedClient] = {}  # per worker thread
        self._tmp = tempfile.TemporaryDirectory(prefix="seatmate-rec-", dir=temp_dir)
        self.forms: dict[str, rules.CoachingForm] = {}

    def stop(self) -> None:
        self._worker.stop()
        self._audio.stop()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._tmp.cleanup()

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
    def fetch(self, call_id: str) -> None:
        """Range requests of ``CHUNK`` bytes into a temporary file (progress after each), then
        the waveform; ``audio_ready`` with the file to play."""
        path = Path(self._tmp.name) / f"{call_id}.wav"

        def job() -> Recording:
            tl = self._tl("a")
            pos, size = 0, None
            with open(path, "wb") as fh:
                while size is None or pos < size:
                    if self._audio.superseded():
                        raise InterruptedError("another recording was opened")
                    part = tl.read_range(call_id, pos, CHUNK)
                    size = part.size
                    if not part.data:
                        break
                    fh.seek(part.start)
                    fh.write(part.data)
                    pos = part.start + len(part.data)
                    on_gui(self.audio_progress.emit, call_id, pos, size)
            duration, channels, left, right = waveform(path)
            return Recording(call_id, str(path), size or 0, duration, channels, left, right)

        def bad(exc: BaseException) -> None:
            if not isinstance(exc, InterruptedError):
                self._fail(exc)

        self._audio.submit(job, self.audio_ready.emit, bad, latest="audio")

    def remix(self, rec: Recording, agent_volume: float, customer_volume: float) -> None:
        """Per-channel volume: QMediaPlayer mixes a stereo file itself, so the player gets a copy
        with the agent's (left) and the customer's (right) channel scaled (0..1 each); the
        original stays (the waveform is drawn from it)."""
        src = Path(rec.path)
        dst = src.with_name(f"{rec.call_id}.mix.wav")

        def job() -> str:
            import numpy as np

            with wave.open(str(src), "rb") as w:
                params = w.getparams()
                raw = w.readframes(params.nframes)
            if params.nchannels != 2 or params.sampwidth != 2:
                return str(src)
            data = np.frombuffer(raw, dtype="<i2").reshape(-1, 2).astype(np.float32)
            data *= np.array([agent_volume, customer_volume], dtype=np.float32)
            tmp = dst.with_suffix(".part")
            with wave.open(str(tmp), "wb") as w:
                w.setparams(params)
                w.writeframes(np.clip(data, -32768, 32767).astype("<i2").tobytes())
            tmp.replace(dst)
            return str(dst)

        self._audio.submit(job, lambda path: self.remixed.emit(rec.call_id, path), self._fail, latest="remix")

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

    def acknowledge(self, evaluation_id: str, comment: str = "") -> None:
        etype, payload = acknowledgement_event(evaluation_id, comment)
        self._worker.submit(lambda: self._sink(etype, None, payload),
                            lambda _eid: self.answer_saved.emit(evaluation_id, rules.ACK_ACKNOWLEDGED), self._fail)

    def dispute(self, evaluation_id: str, comment: str) -> None:
        """A dispute needs a comment (ValueError without one)."""
        etype, payload = dispute_event(evaluation_id, comment)
        self._worker.submit(lambda: self._sink(etype, None, payload),
                            lambda _eid: self.answer_saved.emit(evaluation_id, rules.ACK_DISPUTED), self._fail)
