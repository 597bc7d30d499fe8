"""The TL's desk screens on the seeded 50-agent × 30-day server (SQLite), time to what is on screen:
``.venv/bin/python -m tests.bench.bench_desk_ui``.

Same seed as tests/bench/bench_reports.py (a team of 50 agents, 30 days, 100,000 calls), plus
one real stereo WAV recording (5 min, 8 kHz, 9.6 MB) of one of the team's calls. Real server
over loopback, real widgets offscreen:

- ``report``: the 日报表 window (ui/supervisor/report_view.py through TeamLeadService) on the
  30-day range: a click on 刷新 → the report's rows in the agents table and its viewport painted
  after them (charts drawn on the way: ``ReportView._on_report`` runs before ``loaded``).
  Median of 5 after one warm-up (target ≤ 1 s).
- ``seek``: the coaching window (ui/supervisor/coaching_view.py through CoachingService) with
  the recording already fetched (Range requests, waveform decoded): a seek to a random moment
  → ``QMediaPlayer.positionChanged`` reporting that moment, and → the waveform's position
  marker repainted there, with the player paused (a TL scrubbing before pressing play); and
  with it playing → the first position past the target (the decoder going on from there).
  p50 / p95 of 30 (target ≤ 200 ms). Offscreen there is no audio device (Qt's FFmpeg backend
  says "No audio device detected" and plays on its clock): the player is usable, but this is not
  seek-to-sound on a sound card.

Merges its rows into bench-results/supervisor.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import statistics
import tempfile
import time
import wave
from pathlib import Path

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.bench_reports import AGENTS, PASSWORD, RESULTS, TL, seed
from tests.bench.results import merge_results
from tests.server.live import start_server

WAV_SECONDS, WAV_RATE = 300, 8000
WAV_CALL = "b0000001"  # rep00's second call on the first day


def _stereo_wav() -> bytes:
    import numpy as np

    t = np.arange(WAV_SECONDS * WAV_RATE) / WAV_RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * t / 20) > 0)
    right = 0.3 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * t / 20) <= 0)
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(WAV_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


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


def run(runs: int = 5, seeks: int = 30) -> list[dict]:
    from PySide6.QtCore import QDate, QEvent, QObject, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.supervisor.coaching_service import CoachingService
    from app.supervisor.tl_service import TeamLeadService
    from sync.client import ApiClient, MemoryVault
    from tests.bench.paint_watch import PaintWatch
    from ui.supervisor.coaching_view import CoachingDialog
    from ui.supervisor.report_view import ReportView

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="seatmate-bench-desk-ui-"))
    db_url = f"sqlite:///{tmp / 'server.sqlite3'}"
    t = time.perf_counter()
    _camp, _rec, first, last = seed(db_url, tmp / "data")
    _add_wav(db_url, tmp / "data")
    print(f"[sqlite] seeded in {time.perf_counter() - t:.1f} s", flush=True)
    srv = start_server(db_url, tmp / "data", demo=False)
    rows: list[dict] = []
    api = ApiClient(srv.url, MemoryVault(), timeout=60)
    try:
        api.login(TL, PASSWORD)
        # -- the report window: click 刷新 → the table painted with the report
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
            print(f"  report click → painted: {[round(x) for x in times]} ms", flush=True)
        finally:
            service.stop()
            view.close()
        rows.append({"metric": "report_ui_sqlite_50agents_30days_click_to_painted_ms",
                     "value": round(statistics.median(times), 1), "unit": "ms"})

        # -- the coaching window: seek on a fetched recording → the player's position, the marker
        coaching = CoachingService(lambda: api, lambda *_a: "")
        dialog = CoachingDialog(coaching, today=last)
        dialog.resize(1400, 900)
        dialog.show()
        got: dict[str, object] = {}
        coaching.recordings_loaded.connect(lambda page: got.__setitem__("page", page))
        coaching.audio_ready.connect(lambda rec: got.__setitem__("rec", rec))
        try:
            d = first
            dialog.date_from.setDate(QDate(d.year, d.month, d.day))
            dialog.date_to.setDate(QDate(d.year, d.month, d.day))
            dialog.search()
            _wait(app, lambda: "page" in got, 60, "recordings")
            t = time.perf_counter()
            assert dialog.select_call(WAV_CALL), dialog.recordings.items
            _wait(app, lambda: "rec" in got, 120, "recording fetched")
            fetch_ms = (time.perf_counter() - t) * 1000
            rec = got["rec"]
            print(f"  recording fetched and decoded in {fetch_ms:.0f} ms ({rec.size} bytes)", flush=True)
            player = dialog.player
            player.toggle()  # makes the QMediaPlayer and loads the file; paused at once
            player.toggle()
            qmp = player.player
            _wait(app, lambda: qmp.mediaStatus().name in ("LoadedMedia", "BufferedMedia", "EndOfMedia")
                  or qmp.error().name != "NoError", 20, "media loaded")
            usable = qmp.error().name == "NoError" and qmp.duration() > 0
            print(f"  QMediaPlayer: status {qmp.mediaStatus().name}, error {qmp.error().name!r}, "
                  f"duration {qmp.duration()} ms, state {qmp.playbackState().name}", flush=True)
            if not usable:
                raise RuntimeError("the media player cannot load the recording here")
            marks: list[tuple[int, float]] = []
            qmp.positionChanged.connect(lambda ms: marks.append((ms, time.perf_counter())))

            class WavePaint(QObject):
                last = 0.0

                def eventFilter(self, obj, event):
                    if event.type() == QEvent.Type.Paint:
                        WavePaint.last = time.perf_counter()
                    return False

            wave_watch = WavePaint(dialog.waveform)
            dialog.waveform.installEventFilter(wave_watch)
            rnd = random.Random(5)

            def seek_once(target: float, playing: bool) -> tuple[float, float]:
                """A seek as a click on the waveform does it → (ms to the player's position
                there, ms to the marker painted there). Playing: the position must also have
                moved on from there (the decoder renders from the new place)."""
                want = int(target * 1000)
                app.processEvents()
                n = len(marks)
                t0 = time.perf_counter()
                dialog.waveform.seek_requested.emit(target)

                def there(ms: int) -> bool:
                    return want < ms <= want + 1000 if playing else abs(ms - want) <= 100
                _wait(app, lambda: any(there(ms) for ms, _ in marks[n:]), 5, "positionChanged")
                at = next(ts for ms, ts in marks[n:] if there(ms))
                deadline = time.perf_counter() + 0.5  # the event loop paints the marker
                while WavePaint.last <= t0 and time.perf_counter() < deadline:
                    app.processEvents()
                    time.sleep(0.0002)
                if WavePaint.last <= t0:
                    dialog.waveform.repaint()
                return (at - t0) * 1000, (WavePaint.last - t0) * 1000

            qmp.pause()
            _wait(app, lambda: qmp.playbackState().name == "PausedState", 5, "paused")
            to_player, to_marker = [], []
            for _ in range(seeks):
                target = rnd.uniform(5, WAV_SECONDS - 5)
                a, b = seek_once(target, playing=False)
                assert abs(dialog.waveform.position - target) < 0.01
                to_player.append(a)
                to_marker.append(b)
            qmp.play()
            _wait(app, lambda: qmp.playbackState().name == "PlayingState", 5, "playing")
            playing = [seek_once(rnd.uniform(5, WAV_SECONDS - 5), playing=True)[0] for _ in range(seeks)]
            qmp.pause()
            print(f"  paused: seek → positionChanged p50 {statistics.median(to_player):.1f} ms, "
                  f"→ marker painted p50 {statistics.median(to_marker):.1f} ms; playing: seek → position "
                  f"moving on from there p50 {statistics.median(playing):.1f} ms", flush=True)
        finally:
            player_obj = dialog.player
            player_obj.stop()
            coaching.stop()
            dialog.close()
        rows += [
            {"metric": "recording_ui_sqlite_seek_to_player_position_p50_ms",
             "value": round(statistics.median(to_player), 1), "unit": "ms"},
            {"metric": "recording_ui_sqlite_seek_to_player_position_p95_ms",
             "value": round(_pct(to_player, 0.95), 1), "unit": "ms"},
            {"metric": "recording_ui_sqlite_seek_playing_to_position_moving_p50_ms",
             "value": round(statistics.median(playing), 1), "unit": "ms"},
            {"metric": "recording_ui_sqlite_seek_playing_to_position_moving_p95_ms",
             "value": round(_pct(playing, 0.95), 1), "unit": "ms"},
            {"metric": "recording_ui_sqlite_seek_to_marker_painted_p50_ms",
             "value": round(statistics.median(to_marker), 1), "unit": "ms"},
            {"metric": "recording_ui_sqlite_fetch_5min_wav_ms", "value": round(fetch_ms, 1), "unit": "ms"},
        ]
    finally:
        api.close()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for row in rows:
        print(f"  {row['metric']}: {row['value']} {row['unit']}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = run()
    if not args.no_write:
        merge_results(rows, RESULTS)


if __name__ == "__main__":
    main()
