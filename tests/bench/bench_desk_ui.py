"""The TL's desk screens on the seeded 50-agent × 30-day server, time to what is on screen:
``.venv/bin/python -m tests.bench.bench_desk_ui [--backends sqlite postgresql]``.

Same seed as tests/bench/bench_reports.py (a team of 50 agents, 30 days, 100,000 calls), plus
one real stereo WAV recording (5 min, 8 kHz, 9.6 MB) of one of the team's calls. Real server
over loopback, real widgets offscreen:

- ``report`` (each backend): the 日报表 window (ui/supervisor/report_view.py through
  TeamLeadService) on the 30-day range: a click on 刷新 → the report's rows in the agents table
  and its viewport painted after them (charts drawn on the way: ``ReportView._on_report`` runs
  before ``loaded``). Median of 5 after one warm-up (target ≤ 1 s).
- ``recording`` (SQLite): the coaching window (ui/supervisor/coaching_view.py through
  CoachingService), which streams the recording (app/supervisor/recording_stream.py: Range
  requests as the player reads; app/supervisor/recording_player.py plays them through
  QAudioSink since issue #16, before that ``QMediaPlayer.setSourceDevice``), against the reference
  measured in the same run: the path it replaced, the whole file fetched with 1 MiB Range
  requests into a temporary file, its waveform computed, then ``QMediaPlayer.setSource(file)``.
  * time to first audio: the call opened (what a click on its row does) with play pressed at
    once → ``QMediaPlayer`` reporting a position past 0 while playing. Median of 5 opens, each on
    a cold cache (a new stream / a new download), after one warm-up; the share of the file the
    stream had fetched by then.
  * seek while playing → the first position past the target (the decoder going on from there):
    for the stream, mostly a part not fetched yet (a Range request at the new offset); p50 / p95
    of 30 (target ≤ 200 ms). Both paths wait for Qt's ~100 ms position tick there, so for the
    stream also: seek → the bytes at the new offset served to the decoder (the network part). Paused: seek → ``positionChanged`` there and the waveform's marker
    repainted (a TL scrubbing before pressing play).
  Offscreen there is no audio device (Qt's FFmpeg backend says "No audio device detected" and
  plays on its clock): the player is usable, but this is not seek-to-sound on a sound card.

Records ``os.getloadavg()`` (the machine is shared); merges its rows into bench-results/supervisor.json.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.bench_reports import AGENTS, PASSWORD, RESULTS, TL, seed
from tests.bench.results import merge_results
from tests.server.live import start_postgres, start_server

WAV_SECONDS, WAV_RATE = 300, 8000
WAV_CALL = "b0000001"  # rep00's second call on the first day


def _stereo_wav() -> bytes:
    import numpy as np

    from tests.supervisor.recording_files import stereo_wav

    t = np.arange(WAV_SECONDS * WAV_RATE) / WAV_RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * t / 20) > 0)
    right = 0.3 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * t / 20) <= 0)
    return stereo_wav(left, right, WAV_RATE)


def _add_wav(db_url: str, data_dir: Path) -> None:
    import datetime as dt

    from server import changes
    from server.config import ServerConfig
    from server.db import make_engine, make_sessionmakers
    from server.models import Call, Recording

    engine = make_engine(db_url)
    writer, _ = make_sessionmakers(engine)
    blob = _stereo_wav()
    cfg = ServerConfig(db_url=db_url, data_dir=data_dir)
    (cfg.recordings_dir / (hashlib.sha256(WAV_CALL.encode()).hexdigest() + ".bin")).write_bytes(blob)
    with writer() as s:
        call = s.get(Call, WAV_CALL)
        s.add(Recording(call_id=WAV_CALL, user_id=call.user_id, received=len(blob), size=len(blob),
                        sha256=hashlib.sha256(blob).hexdigest(), status="complete",
                        completed_at=dt.datetime.utcnow()))
        changes.commit(s)
    engine.dispose()


def _wait(app, condition, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        app.processEvents()
        time.sleep(0.0005)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * q + 0.5) - 1)]


def _report(app, api, first, last, runs: int, backend: str) -> list[dict]:
    """The 日报表 window: click 刷新 → the 30-day table painted (median of ``runs`` after a warm-up)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.supervisor.tl_service import TeamLeadService
    from tests.bench.paint_watch import PaintWatch
    from ui.supervisor.report_view import ReportView

    service = TeamLeadService(lambda: api)
    view = ReportView(service, today=last)
    view.resize(1400, 900)
    view.show()
    view.set_range(first, last, load=False)
    watch = PaintWatch(view.agents_view.viewport())
    loaded: list[float] = []
    view.loaded.connect(lambda: loaded.append(time.perf_counter()))
    times = []
    try:
        for i in range(runs + 1):
            app.processEvents()
            n = len(loaded)
            t0 = time.perf_counter()
            QTest.mouseClick(view.refresh_button, Qt.MouseButton.LeftButton)
            _wait(app, lambda n=n: len(loaded) > n, 60, "report")
            deadline = time.perf_counter() + 0.5
            while watch.last_paint <= loaded[-1] and time.perf_counter() < deadline:
                app.processEvents()
            watch.ensure_painted_since(loaded[-1])
            done = max(watch.last_paint, loaded[-1])
            if view.last_error is not None:
                raise RuntimeError(view.last_error)
            if i:
                times.append((done - t0) * 1000)
        model = view.agents_view.model()
        assert model.rowCount() == AGENTS + 2, model.rowCount()  # the report's rows (as bench_reports) and 合计
        print(f"  [{backend}] report click → painted: {[round(x) for x in times]} ms", flush=True)
    finally:
        service.stop()
        view.close()
    return [{"metric": f"report_ui_{backend}_50agents_30days_click_to_painted_ms",
             "value": round(statistics.median(times), 1), "unit": "ms"}]


class _Positions:
    """(ms, perf_counter) of every ``positionChanged`` of a QMediaPlayer."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, float]] = []

    def watch(self, qmp) -> None:
        qmp.positionChanged.connect(lambda ms: self.marks.append((ms, time.perf_counter())))

    def watch_seconds(self, player) -> None:
        """The coaching window's player (app/supervisor/recording_player.py: seconds)."""
        player.position_changed.connect(lambda s: self.marks.append((round(s * 1000), time.perf_counter())))

    def first_after(self, n: int, ok) -> float | None:
        return next((ts for ms, ts in self.marks[n:] if ok(ms)), None)


def _seek_playing(app, qmp, pos: _Positions, seek, targets: list[float]) -> list[float]:
    """ms from ``seek(target)`` to the first position past it (playing: the decoder goes on from there)."""
    out = []
    for target in targets:
        want = int(target * 1000)
        app.processEvents()
        n = len(pos.marks)
        t0 = time.perf_counter()
        seek(target)
        _wait(app, lambda n=n, want=want: pos.first_after(n, lambda ms: want < ms <= want + 1000) is not None,
              10, "position past the seek")
        out.append((pos.first_after(n, lambda ms, want=want: want < ms <= want + 1000) - t0) * 1000)
    return out


def _whole_download(app, api, call_id: str, tmp: Path, opens: int, targets: list[float]) -> dict:
    """The reference: what the coaching window did before streaming (whole file first)."""
    import numpy as np
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

    from core import wav
    from server.api.playback import waveform_peaks
    from sync.coaching import CHUNK, TeamLeadClient

    tl = TeamLeadClient(api)
    qmp, out = QMediaPlayer(), QAudioOutput()
    qmp.setAudioOutput(out)
    pos = _Positions()
    pos.watch(qmp)
    firsts, downloads = [], []
    try:
        for i in range(opens + 1):
            qmp.stop()
            qmp.setSource(QUrl())
            path = tmp / f"whole-{i}.wav"
            app.processEvents()
            t0 = time.perf_counter()
            with open(path, "wb") as fh:
                for chunk in tl.stream_recording(call_id, 0, CHUNK):
                    fh.write(chunk)
            blob = path.read_bytes()
            fmt = wav.parse_header(blob[: wav.HEADER_PROBE], len(blob))
            waveform_peaks(np.frombuffer(blob, dtype="<i2", count=fmt.data_len // 2, offset=fmt.data_start),
                      fmt.channels, 1200)
            t_down = time.perf_counter()
            n = len(pos.marks)
            qmp.setSource(QUrl.fromLocalFile(str(path)))
            qmp.play()
            _wait(app, lambda n=n: pos.first_after(n, lambda ms: ms > 0) is not None, 20, "first audio (whole file)")
            if i:
                firsts.append((pos.first_after(n, lambda ms: ms > 0) - t0) * 1000)
                downloads.append((t_down - t0) * 1000)
        seeks = _seek_playing(app, qmp, pos, lambda t: qmp.setPosition(int(t * 1000)), targets)
    finally:
        qmp.stop()
        qmp.setSource(QUrl())
    return {"first": firsts, "download": downloads, "seek": seeks}


def _recording(app, api, first, tmp: Path, opens: int, seeks: int) -> list[dict]:
    from PySide6.QtCore import QDate, QEvent, QObject

    from app.supervisor.coaching_service import CoachingService
    from ui.supervisor.coaching_view import CoachingDialog

    coaching = CoachingService(lambda: api, lambda *_a: "")
    dialog = CoachingDialog(coaching, today=first)
    dialog.resize(1400, 900)
    dialog.show()
    got: dict[str, object] = {}
    coaching.recordings_loaded.connect(lambda page: got.__setitem__("page", page))
    rnd = random.Random(5)
    targets = [rnd.uniform(5, WAV_SECONDS - 5) for _ in range(seeks)]
    try:
        dialog.date_from.setDate(QDate(first.year, first.month, first.day))
        dialog.date_to.setDate(QDate(first.year, first.month, first.day))
        dialog.search()
        _wait(app, lambda: "page" in got, 60, "recordings")
        row = next(i for i, r in enumerate(dialog.recordings.items) if r["call_id"] == WAV_CALL)
        player = dialog.player
        heard: list[tuple[float, float]] = []
        player.position_changed.connect(lambda s: heard.append((s, time.perf_counter())))

        # -- time to first audio: open (a click on the row) with play pressed at once
        stream_first, first_range, fetched_share = [], [], []
        for i in range(opens + 1):
            player.stop()
            app.processEvents()
            n = len(heard)
            t0 = time.perf_counter()
            dialog.open_call(row)
            player.toggle()  # before the first range is here: it starts when it is
            _wait(app, lambda n=n: player.playing and any(s > 0 for s, _ in heard[n:]), 20, "first audio (stream)")
            at = next(ts for s, ts in heard[n:] if s > 0)
            stream = coaching.stream
            if i:
                stream_first.append((at - t0) * 1000)
                first_range.append((stream.ready_at - t0) * 1000)
                fetched_share.append(100.0 * stream.fetched_bytes / stream.size())
        print(f"  stream: time to first audio {[round(x) for x in stream_first]} ms (its first range after "
              f"{statistics.median(first_range):.1f} ms), {statistics.median(fetched_share):.1f}% of the file "
              f"fetched by then", flush=True)

        # -- seeks while playing (mostly to parts not fetched yet: a Range request each)
        qmp = player.player  # RecordingPlayer (QAudioSink), not a QMediaPlayer since issue #16
        pos = _Positions()
        pos.watch_seconds(qmp)
        requests_before = len(coaching.stream.requests)
        stream = coaching.stream
        to_bytes: list[float] = []

        def seek_and_watch(target: float) -> None:
            """The seek, and when the decoder got the bytes at the new offset (a Range request
            there first unless fetched before), recorded as the player reads on."""
            at = stream.fmt.offset_of(target)
            t0 = time.perf_counter()
            dialog.waveform.seek_requested.emit(target)
            _wait(app, lambda: any(abs(off - at) < 65536 and ts >= t0 for off, _g, _b, ts in list(stream.recent)),
                  10, "bytes at the seek served")
            to_bytes.append((min(ts for off, _g, _b, ts in list(stream.recent)
                                 if abs(off - at) < 65536 and ts >= t0) - t0) * 1000)

        stream_seek = _seek_playing(app, qmp, pos, seek_and_watch, targets)
        seek_requests = len(coaching.stream.requests) - requests_before
        fetched_after = 100.0 * coaching.stream.fetched_bytes / coaching.stream.size()
        print(f"  stream: seek playing → the bytes there served to the decoder p50 "
              f"{statistics.median(to_bytes):.1f} ms, p95 {_pct(to_bytes, 0.95):.1f} ms", flush=True)
        print(f"  stream: seek playing → moving on p50 {statistics.median(stream_seek):.1f} ms "
              f"({seek_requests} Range requests for {seeks} seeks; {fetched_after:.0f}% of the file fetched "
              f"after them)", flush=True)

        # -- seeks while paused: the player's position and the waveform's marker
        class WavePaint(QObject):
            last = 0.0

            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint:
                    WavePaint.last = time.perf_counter()
                return False

        wave_watch = WavePaint(dialog.waveform)
        dialog.waveform.installEventFilter(wave_watch)
        qmp.pause()
        _wait(app, lambda: not qmp.playing, 5, "paused")
        to_player, to_marker = [], []
        for target in targets:
            want = int(target * 1000)
            app.processEvents()
            n = len(pos.marks)
            t0 = time.perf_counter()
            dialog.waveform.seek_requested.emit(target)
            _wait(app, lambda n=n, want=want: pos.first_after(n, lambda ms: abs(ms - want) <= 100) is not None,
                  5, "positionChanged")
            to_player.append((pos.first_after(n, lambda ms, want=want: abs(ms - want) <= 100) - t0) * 1000)
            deadline = time.perf_counter() + 0.5  # the event loop paints the marker
            while WavePaint.last <= t0 and time.perf_counter() < deadline:
                app.processEvents()
                time.sleep(0.0002)
            if WavePaint.last <= t0:
                dialog.waveform.repaint()
            to_marker.append((WavePaint.last - t0) * 1000)
            assert abs(dialog.waveform.position - target) < 0.01
    finally:
        dialog.player.stop()
        dialog.player.load(None)
        coaching.stop()
        dialog.close()

    ref = _whole_download(app, api, WAV_CALL, tmp, opens, targets)
    print(f"  whole download (reference): time to first audio {[round(x) for x in ref['first']]} ms "
          f"(download + waveform {statistics.median(ref['download']):.0f} ms); seek playing → moving on "
          f"p50 {statistics.median(ref['seek']):.1f} ms", flush=True)
    peer = ("the path streaming replaced: the whole file fetched with 1 MiB Range requests, its waveform "
            "computed, then QMediaPlayer.setSource(file); same run, same server")
    return [
        {"metric": "recording_ui_sqlite_stream_time_to_first_audio_p50_ms",
         "value": round(statistics.median(stream_first), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_whole_download_time_to_first_audio_p50_ms",
         "value": round(statistics.median(ref["first"]), 1), "unit": "ms", "peer": peer},
        {"metric": "recording_ui_sqlite_stream_first_range_p50_ms",
         "value": round(statistics.median(first_range), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_stream_fetched_at_first_audio_percent",
         "value": round(statistics.median(fetched_share), 2), "unit": "% of the file"},
        {"metric": "recording_ui_sqlite_stream_seek_to_bytes_served_p50_ms",
         "value": round(statistics.median(to_bytes), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_stream_seek_to_bytes_served_p95_ms",
         "value": round(_pct(to_bytes, 0.95), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_seek_playing_to_position_moving_p50_ms",
         "value": round(statistics.median(stream_seek), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_seek_playing_to_position_moving_p95_ms",
         "value": round(_pct(stream_seek, 0.95), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_whole_download_seek_playing_to_position_moving_p50_ms",
         "value": round(statistics.median(ref["seek"]), 1), "unit": "ms", "peer": peer},
        {"metric": "recording_ui_sqlite_whole_download_seek_playing_to_position_moving_p95_ms",
         "value": round(_pct(ref["seek"], 0.95), 1), "unit": "ms", "peer": peer},
        {"metric": "recording_ui_sqlite_seek_to_player_position_p50_ms",
         "value": round(statistics.median(to_player), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_seek_to_player_position_p95_ms",
         "value": round(_pct(to_player, 0.95), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_seek_to_marker_painted_p50_ms",
         "value": round(statistics.median(to_marker), 1), "unit": "ms"},
        {"metric": "recording_ui_sqlite_fetch_5min_wav_ms",
         "value": round(statistics.median(ref["download"]), 1), "unit": "ms", "peer": peer},
    ]


def run(backends: tuple[str, ...] = ("sqlite", "postgresql"), runs: int = 5, opens: int = 5,
        seeks: int = 30) -> list[dict]:
    from PySide6.QtWidgets import QApplication

    from sync.client import ApiClient, MemoryVault

    app = QApplication.instance() or QApplication([])
    rows: list[dict] = []
    load_start = os.getloadavg()[0]
    pg = start_postgres() if "postgresql" in backends else None
    try:
        for backend in backends:
            tmp = Path(tempfile.mkdtemp(prefix=f"seatmate-bench-desk-ui-{backend}-"))
            db_url = f"sqlite:///{tmp / 'server.sqlite3'}" if backend == "sqlite" else pg.create_database()
            t = time.perf_counter()
            _camp, _rec, first, last = seed(db_url, tmp / "data")
            if backend == "sqlite":
                _add_wav(db_url, tmp / "data")
            print(f"[{backend}] seeded in {time.perf_counter() - t:.1f} s", flush=True)
            srv = start_server(db_url, tmp / "data", demo=False)
            api = ApiClient(srv.url, MemoryVault(), timeout=60)
            try:
                api.login(TL, PASSWORD)
                rows += _report(app, api, first, last, runs, backend)
                if backend == "sqlite":
                    rows += _recording(app, api, first, tmp, opens, seeks)
            finally:
                api.close()
                srv.stop()
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if pg is not None:
            pg.stop()
    rows += [{"metric": "desk_ui_bench_loadavg_1min_start", "value": round(load_start, 2), "unit": "load (2 cores)"},
             {"metric": "desk_ui_bench_loadavg_1min_end", "value": round(os.getloadavg()[0], 2),
              "unit": "load (2 cores)"}]
    for row in rows:
        print(f"  {row['metric']}: {row['value']} {row['unit']}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = run(tuple(args.backends))
    if not args.no_write:
        merge_results(rows, RESULTS)


if __name__ == "__main__":
    main()
