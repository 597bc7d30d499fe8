"""The TL's recording player streams from the real server (loopback) with Range requests, in the
real coaching window offscreen: a 10-minute stereo WAV (19 MB) starts playing while less than a
quarter of it was fetched (the server's playback log says which bytes it served); a click on a
coaching item's marker plays from there with a Range request at that offset; 2× speed advances
the recording twice as fast; the agent's channel muted → the samples the stream serves carry
the customer's channel only; a user who may not play the recording (403) is told so. The player
is QAudioSink (no QMediaPlayer/FFmpeg); on a machine without a sound device it plays on its
clock."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.supervisor.coaching_service import CoachingService
from app.supervisor.recording_stream import BLOCK
from core import messages as msg
from core import wav
from sync.client import RequestRejected
from sync.coaching import TeamLeadClient
from tests.supervisor.desk_data import push_calls
from tests.supervisor.recording_files import stereo_wav, upload
from tests.supervisor.test_coaching_recording import _campaign
from ui import messages
from ui.supervisor.coaching_view import CoachingDialog

DAY = dt.date(2026, 12, 1)
SECONDS, RATE = 600, 8000
HEADER = 44
# Qt Multimedia on a machine without sound says so, then plays on its clock (one marker: pytest-qt
# reads the closest qt_log_ignore only, so the group's QFont pattern is repeated here).
NO_SOUND_CARD = pytest.mark.qt_log_ignore("QFont::setPointSizeF", r"pipewire-0\.3", "PulseAudioService",
                                          "No audio device detected")


def _ten_minutes() -> bytes:
    """Agent (left): 440 Hz all along; customer (right): silent the first minute, then 300 Hz."""
    t = np.arange(SECONDS * RATE) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = np.where(t >= 60, 0.3 * np.sin(2 * np.pi * 300 * t), 0.0)
    return stereo_wav(left, right, RATE)


def _upload(api, call_id: str, data: bytes) -> None:
    upload(api, call_id, data, 8 << 20)


def _served(api, call_id: str) -> list[tuple[int, int]]:
    """(first, last) of every range the server logged for this recording."""
    return [(p["range_start"], p["range_end"]) for p in TeamLeadClient(api).playbacks(call_id)]


@pytest.fixture(scope="module")
def long_call(server):
    from sync.client import ApiClient, MemoryVault
    from tests.server_mode import PASSWORD

    lina = ApiClient(server.url, MemoryVault(), timeout=30)
    lina.login("lina", PASSWORD)
    try:
        call = push_calls(lina, DAY, [(0, SECONDS, "SALE")])[0]
        data = _ten_minutes()
        _upload(lina, call, data)
    finally:
        lina.close()
    return call, data


@NO_SOUND_CARD
def test_streamed_playback_seek_to_marker_and_channel_volume(qtbot, login, long_call) -> None:
    call, data = long_call
    tl = login("zhangwei")
    service = CoachingService(lambda: tl, lambda *_a: "")
    dialog = CoachingDialog(service, today=DAY)
    dialog.default_campaign = _campaign(tl)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(service.recordings_loaded, timeout=20_000):
            dialog.search()
        # Open the call and press play at once: playback starts when the first range is here.
        with qtbot.waitSignal(service.audio_ready, timeout=20_000) as ready:
            assert dialog.select_call(call)
            dialog.play_button.click()
        rec = ready.args[0]
        stream = rec.stream
        assert rec.size == len(data) and rec.duration_s == pytest.approx(SECONDS)
        qtbot.waitUntil(lambda: dialog.player.position > 1.0, timeout=20_000)
        fetched = stream.fetched_bytes
        served = _served(tl, call)
        assert fetched < 0.25 * len(data), stream.describe()
        assert all(last is not None for _first, last in served)  # Range requests only, never the file
        assert sum(last - first + 1 for first, last in served) < 0.25 * len(data), served
        assert dialog.time_label.text().endswith("/ 10:00")
        # The waveform is the server's peaks (drawn without the file): the customer silent first.
        qtbot.waitUntil(lambda: len(dialog.waveform.right) > 100, timeout=10_000)
        tenth = len(dialog.waveform.right) // 10
        assert max(dialog.waveform.right[: tenth - 1]) == 0.0 and min(dialog.waveform.right[tenth + 1:]) > 0.25
        assert min(dialog.waveform.left) > 0.45

        # A coaching item stamped at 6:40; a click on its marker plays from there with a Range
        # request at that moment's offset (nothing there was fetched before).
        qtbot.waitUntil(lambda: dialog.form.rowCount() > 2, timeout=20_000)
        dialog.form.set_answer(1, "N", at_s=400.0)
        assert dialog.waveform.markers == [(400.0, dialog.form.item_id(1), "N")]
        target = wav.parse_header(data[:HEADER], len(data)).offset_of(400.0)
        assert not any(s <= target < s + n for s, n in stream.requests)
        dialog.waveform.resize(800, 90)
        x = round(dialog.waveform.x_of(400.0))
        qtbot.mouseClick(dialog.waveform, Qt.MouseButton.LeftButton, pos=QPoint(x + 2, 40))
        qtbot.waitUntil(lambda: 400.0 < dialog.player.position < 410.0, timeout=10_000)
        assert dialog.player.playing
        block = target // BLOCK * BLOCK
        assert any(s == block for s, _n in stream.requests), stream.requests
        assert any(first == block and first <= target <= last for first, last in _served(tl, call))

        # Speed: at 2× the recording advances twice as fast as the clock (what the TL hears is
        # time-compressed, pitch kept: tests/unit/test_recording_player.py checks the samples).
        dialog.speed.setCurrentIndex(dialog.speed.findData(2.0))
        assert dialog.player.rate == 2.0 and dialog.player.playing
        p0, t0 = dialog.player.position, time.perf_counter()
        qtbot.wait(1200)
        p1, t1 = dialog.player.position, time.perf_counter()
        assert 1.5 < (p1 - p0) / (t1 - t0) < 2.5, (p0, p1, t1 - t0)
        dialog.speed.setCurrentIndex(dialog.speed.findData(1.0))

        # The agent's channel muted: what the stream serves from then on has the left samples
        # at 0 and the right ones as recorded, and the player re-reads it within a short buffer.
        t0 = time.perf_counter()
        dialog.agent_volume.setValue(0)

        def muted_reads() -> list[tuple[int, bytes]]:
            return [(off, b) for off, g, b, _at in list(stream.recent) if g == (0.0, 1.0) and off >= HEADER and b]

        qtbot.waitUntil(lambda: len(muted_reads()) >= 2, timeout=5_000)
        heard_after = time.perf_counter() - t0
        assert heard_after < 1.5, heard_after
        print(f"playing at {dialog.player.position:.1f} s with {fetched / len(data):.1%} fetched; "
              f"muted channel served {heard_after * 1000:.0f} ms after the slider moved")
        for off, b in muted_reads():
            assert (off - HEADER) % 2 == 0 and len(b) % 2 == 0
            got = np.frombuffer(b, dtype="<i2")
            orig = np.frombuffer(data[off:off + len(b)], dtype="<i2")
            left_first = ((off - HEADER) // 2) % 2 == 0
            lefts, rights = (slice(0, None, 2), slice(1, None, 2)) if left_first else (slice(1, None, 2), slice(0, None, 2))
            assert not got[lefts].any()  # the agent: silent
            assert np.array_equal(got[rights], orig[rights]) and orig[rights].any()  # the customer: as recorded
        assert min(dialog.waveform.left) > 0.45  # the waveform still shows what was recorded
    finally:
        dialog.close()
        service.stop()


@NO_SOUND_CARD
def test_a_user_who_may_not_play_it_is_told_so(qtbot, login, long_call) -> None:
    """王芳 (another agent of the team) opens 李娜's call: the server answers 403 and the window
    says who may play it; nothing plays."""
    call, _data = long_call
    other = login("wangfang")
    service = CoachingService(lambda: other, lambda *_a: "")
    dialog = CoachingDialog(service, today=DAY)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        dialog.recordings.set_items([{"call_id": call, "agent_id": "x", "display_name": "李娜"}])
        dialog.list_view.selectRow(0)
        dialog.play_button.click()
        qtbot.waitUntil(lambda: dialog.last_error is not None and dialog.last_error.code == msg.RECORDING_FORBIDDEN,
                        timeout=20_000)
        qtbot.wait(300)  # the call's evaluations are refused too: that does not hide why
        assert dialog.last_error.code == msg.RECORDING_FORBIDDEN and not dialog.player.playing
        assert dialog.status.text() == messages.text(dialog.last_error)
        assert "组长" in dialog.status.text() or "team leader" in dialog.status.text()
        assert dialog.recording is None and service.stream is not None and service.stream.fetched_bytes == 0
        with pytest.raises(RequestRejected) as refused:  # nor is its waveform given out
            TeamLeadClient(other).recording_peaks(call)
        assert refused.value.status == 403
    finally:
        dialog.close()
        service.stop()
