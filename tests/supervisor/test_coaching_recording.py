"""Coaching on a recording against the real server: an agent's call and its stereo WAV uploaded
over HTTP; the TL finds it in the recordings browser (filters), the service fetches it with
Range requests and draws both channels; the 辅导表 is filled with the keyboard, a moment
stamped from the playback position (a marker on the waveform, a click seeks to it), the score
follows core.coaching; the evaluation is saved as an event, pushed as the sync loop pushes
the outbox, and the server's copy (its score, the item's moment) comes back to the browser."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.supervisor.coaching_service import CoachingService
from tests.supervisor.desk_data import push_calls
from tests.supervisor.recording_files import stereo_wav, upload
from ui.supervisor.coaching_view import F_AT, CoachingDialog
from ui.supervisor.my_coaching import MyCoachingDialog

DAY = dt.date(2026, 12, 2)


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


def _stereo_wav(seconds: float = 6.0, rate: int = 8000) -> bytes:
    """Agent (left) speaks in the first half, the customer (right) in the second."""
    t = np.arange(int(seconds * rate)) / rate
    left = np.where(t < seconds / 2, 0.6 * np.sin(2 * np.pi * 440 * t), 0.0)
    right = np.where(t >= seconds / 2, 0.3 * np.sin(2 * np.pi * 300 * t), 0.0)
    return stereo_wav(left, right, rate)


def _upload(api, call_id: str, data: bytes) -> None:
    upload(api, call_id, data, 40_000)


def _campaign(api) -> str:
    cursor = None
    while True:
        page = api.pull(cursor)
        for c in page.changes:
            if c.entity == "campaign" and c.data:
                return c.id
        cursor = page.next_cursor
        if not page.has_more:
            raise AssertionError("no campaign")


def test_coach_a_recorded_call(qtbot, login) -> None:
    lina, tl = login("lina"), login("zhangwei")
    calls = push_calls(lina, DAY, [(0, 5, "SALE"), (10, 40, "REFUSED")])
    data = _stereo_wav()
    _upload(lina, calls[0], data)
    _upload(lina, calls[1], _stereo_wav(2.0))

    pushed: list[dict] = []

    def outbox(etype: str, lead_id, payload: dict) -> str:  # the sync loop's push, in one step
        ev = {"id": str(uuid.uuid4()), "type": etype, "occurred_at": dt.datetime.now(dt.timezone.utc)
              .strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lead_id": lead_id, "payload": payload}
        res = tl.push([ev])
        assert res[0].status == "accepted", res
        pushed.append(ev)
        return ev["id"]

    service = CoachingService(lambda: tl, outbox)
    dialog = CoachingDialog(service, today=DAY)
    dialog.default_campaign = _campaign(tl)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        with qtbot.waitSignal(service.recordings_loaded, timeout=20_000):
            dialog.search()
        assert dialog.recordings.rowCount() == 2
        row = {dialog.recordings.items[r]["call_id"]: r for r in range(2)}
        assert dialog.recordings.index(row[calls[0]], 1).data() == "李娜"
        assert dialog.recordings.index(row[calls[0]], 5).data() == "未辅导"
        # Filters: talk ≥ 30 s leaves the refused call; the agent combo learnt lina.
        dialog.min_talk.setValue(30)
        with qtbot.waitSignal(service.recordings_loaded, timeout=20_000):
            dialog.search()
        assert [r["call_id"] for r in dialog.recordings.items] == [calls[1]]
        assert dialog.agent.findText("李娜") > 0
        dialog.min_talk.setValue(0)
        with qtbot.waitSignal(service.recordings_loaded, timeout=20_000):
            dialog.search()

        # Open the first call: its first range makes it playable, the server's peaks draw both channels.
        with qtbot.waitSignal(service.form_loaded, timeout=20_000), \
                qtbot.waitSignal(service.peaks_ready, timeout=20_000), \
                qtbot.waitSignal(service.audio_ready, timeout=20_000) as ready:
            assert dialog.select_call(calls[0]), (dialog.filters(), dialog.recordings.items)
        rec = ready.args[0]
        assert rec.size == len(data) and abs(rec.duration_s - 6.0) < 0.01 and rec.channels == 2
        left, right = dialog.waveform.left, dialog.waveform.right
        half = len(left) // 2
        assert max(left[:half]) > 0.5 and max(left[half + 2:]) == 0.0  # agent in the first half
        assert max(right[:half - 2]) == 0.0 and max(right[half:]) > 0.25  # customer in the second
        assert dialog.time_label.text() == "0:00 / 0:06"
        qtbot.waitUntil(lambda: dialog.form.rowCount() > 5, timeout=10_000)
        assert dialog.form_title.text()

        # Keyboard: Y on the first item, N on the second with a moment stamped, NA on the third.
        dialog.form_view.setFocus()
        dialog.form_view.selectRow(0)
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_Y)
        assert dialog.current_row() == 1
        dialog.waveform.resize(600, 90)
        qtbot.mouseClick(dialog.waveform, Qt.MouseButton.LeftButton, pos=QPoint(300, 40))  # seek to the middle
        assert abs(dialog.player.position - 3.0) < 0.05
        dialog.mark_time()
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_N)
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_A)
        dialog.form.setData(dialog.form.index(1, 3), "没有报工号")
        assert dialog.form.index(1, F_AT).data() == "0:03"
        assert dialog.score_label.text() == "得分 50.0"  # Y / (Y + N), NA excluded
        assert dialog.waveform.markers == [(3.0, dialog.form.item_id(1), "N")]
        dialog.player.seek(0.0)
        qtbot.mouseClick(dialog.waveform, Qt.MouseButton.LeftButton, pos=QPoint(302, 40))  # near the marker
        assert dialog.player.position == 3.0
        dialog.player.seek(0.0)
        dialog.form_view.doubleClicked.emit(dialog.form.index(1, F_AT))  # the item's time seeks too
        assert dialog.player.position == 3.0
        dialog.speed.setCurrentIndex(dialog.speed.findData(1.5))
        assert dialog.player.rate == 1.5
        dialog.overall.setPlainText("开场要完整")
        dialog.grab()

        with qtbot.waitSignal(service.evaluation_saved, timeout=20_000):
            dialog.save()
        payload = pushed[-1]["payload"]
        assert pushed[-1]["type"] == "coaching_evaluation_recorded"
        assert payload["call_id"] == calls[0] and payload["source"] == "recording"
        assert [i["answer"] for i in payload["items"]] == ["Y", "N", "NA"]
        assert payload["items"][1]["at_s"] == 3.0 and payload["items"][1]["comment"] == "没有报工号"

        # The server's copy: scored by the server, the call now "coached" in the browser.
        with qtbot.waitSignal(service.recordings_loaded, timeout=20_000):
            dialog.search()
        r = next(i for i, x in enumerate(dialog.recordings.items) if x["call_id"] == calls[0])
        assert dialog.recordings.index(r, 5).data() == "50%"
        # Opening it again shows the evaluation, and saving corrects it (supersedes).
        dialog.list_view.selectRow(1 - r)
        with qtbot.waitSignal(service.evaluations_loaded, timeout=20_000):
            dialog.list_view.selectRow(r)
        qtbot.waitUntil(lambda: dialog.form.rowCount() > 0 and bool(dialog.form.answers), timeout=10_000)
        assert dialog.form.answers[dialog.form.item_id(1)]["at_s"] == 3.0
        assert dialog.waveform.markers and "更正" in dialog.status.text()
        dialog.form_view.selectRow(1)
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_Y)
        with qtbot.waitSignal(service.evaluation_saved, timeout=20_000):
            dialog.save()
        assert pushed[-1]["payload"]["supersedes"] == pushed[0]["id"]
        correction = pushed[-1]["id"]
    finally:
        dialog.close()
        service.stop()

    # The agent's side: 李娜 sees the current evaluation of her call, hears the moment an item
    # points to, and acknowledges it (an outbox event); the TL then sees the acknowledgement.
    def lina_outbox(etype: str, lead_id, payload: dict) -> str:
        ev = {"id": str(uuid.uuid4()), "type": etype, "occurred_at": dt.datetime.now(dt.timezone.utc)
              .strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lead_id": lead_id, "payload": payload}
        res = lina.push([ev])
        assert res[0].status == "accepted", res
        return ev["id"]

    mine = CoachingService(lambda: lina, lina_outbox)
    agent_view = MyCoachingDialog(mine)
    qtbot.addWidget(agent_view)
    agent_view.show()
    tl_side = CoachingService(lambda: tl, outbox)
    try:
        with qtbot.waitSignal(mine.audio_ready, timeout=20_000):
            agent_view.refresh()
        assert [e["id"] for e in agent_view.model.rows] == [correction]  # the corrected one only
        assert agent_view.model.index(0, 3).data() == "未回应"
        qtbot.waitUntil(lambda: agent_view.form.rowCount() > 0, timeout=10_000)
        assert agent_view.overall.text() == "开场要完整"
        assert agent_view.waveform.markers and agent_view.recording.duration_s == pytest.approx(6.0)
        agent_view.items_view.doubleClicked.emit(agent_view.form.index(1, F_AT))
        assert agent_view.player.position == 3.0
        assert not agent_view.dispute_button.isEnabled()  # a dispute needs a comment
        agent_view.comment.setText("收到，下次注意报工号")
        assert agent_view.dispute_button.isEnabled()
        with qtbot.waitSignal(mine.answer_saved, timeout=20_000):
            agent_view.ack_button.click()
        assert agent_view.model.index(0, 3).data() == "已确认"
        with qtbot.waitSignal(tl_side.evaluations_loaded, timeout=20_000) as got:
            tl_side.load_evaluations(calls[0])
        current = [e for e in got.args[1] if not e.get("superseded_by")]
        assert current[0]["ack_state"] == "acknowledged" and current[0]["ack_comment"] == "收到，下次注意报工号"
    finally:
        agent_view.close()
        mine.stop()
        tl_side.stop()


def test_start_during_a_listen_and_finish_on_the_recording(qtbot, login) -> None:
    """The 辅导表 opened from the monitoring banner's button for the monitored agent's call:
    moments are the time since the call started; saved as ``source: live``. Once the call has
    ended and its recording is uploaded, the same call in the browser shows that evaluation
    and saving there corrects it."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

    from app.supervisor.tl_service import TeamLeadService
    from core.supervisor import AgentPresence, CallInfo
    from tests.supervisor.desk_data import ZONE, iso, my_leads
    from ui.supervisor.desk import TeamLeadDesk

    lina, tl = login("lina"), login("zhangwei")
    lina_id = next(e for e in tl._json(tl._request("GET", "/supervisor/board"), "board")["agents"]
                   if e["username"] == "lina")["agent_id"]
    call_id = f"live-{uuid.uuid4().hex[:10]}"
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=30)
    now = [started + dt.timedelta(seconds=12.5)]
    pushed: list[dict] = []

    def outbox(etype: str, lead_id, payload: dict) -> str:
        ev = {"id": str(uuid.uuid4()), "type": etype, "occurred_at": dt.datetime.now(dt.timezone.utc)
              .strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lead_id": lead_id, "payload": payload}
        res = tl.push([ev])
        assert res[0].status == "accepted", res
        pushed.append(ev)
        return ev["id"]

    # The desk in a window, a banner of the monitoring service, the board's row of the agent.
    window = QMainWindow()
    qtbot.addWidget(window)
    banner = QWidget()
    QVBoxLayout(banner)
    session = SimpleNamespace(agent_id=lina_id)
    attachment = SimpleNamespace(banner=banner, service=SimpleNamespace(session=session))
    row = SimpleNamespace(display_name="李娜", username="lina",
                          presence=AgentPresence("on_call", call=CallInfo(call_id, None, started, None)))
    floor = SimpleNamespace(row=lambda aid: row if aid == lina_id else None, now=lambda: now[0])
    coaching = CoachingService(lambda: tl, outbox)
    desk = TeamLeadDesk(window, TeamLeadService(lambda: tl), None, coaching, floor=floor,
                        monitor_source=lambda: attachment)
    try:
        qtbot.waitUntil(lambda: desk.live_button is not None, timeout=2000)
        assert desk.live_button.parent() is banner and desk.live_action.text() == "本通话辅导表"
        with qtbot.waitSignal(coaching.evaluations_loaded, timeout=20_000):
            desk.live_button.click()
        dialog = desk.coaching_dialog
        dialog.set_default_campaign(_campaign(tl))  # as the desk does once the cache answers
        qtbot.waitUntil(lambda: dialog.form.rowCount() > 0, timeout=20_000)
        assert "李娜" in dialog.status.text() and dialog.current["call_id"] == call_id
        dialog.form_view.setFocus()
        dialog.form_view.selectRow(0)
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_Y)
        dialog.form_view.selectRow(1)
        dialog.mark_time()  # 12.5 s into the call
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_N)
        with qtbot.waitSignal(coaching.evaluation_saved, timeout=20_000):
            dialog.save()
        live = pushed[-1]
        assert live["payload"]["source"] == "live" and live["payload"]["items"][1]["at_s"] == 12.5

        # The call ends; its recording is uploaded; the TL finishes the form on the recording.
        lead = my_leads(lina)[0]
        end = started + dt.timedelta(seconds=66)
        res = lina.push([{"id": str(uuid.uuid4()), "type": "call_ended", "occurred_at": iso(end.replace(
            tzinfo=dt.timezone.utc)), "lead_id": lead, "payload": {
            "call_id": call_id, "dialed_at": iso(started.replace(tzinfo=dt.timezone.utc)),
            "answered_at": iso((started + dt.timedelta(seconds=5)).replace(tzinfo=dt.timezone.utc)),
            "ended_at": iso(end.replace(tzinfo=dt.timezone.utc)), "talk_seconds": 61}}])
        assert res[0].status == "accepted", res
        _upload(lina, call_id, _stereo_wav(6.0))
        today = started.replace(tzinfo=dt.timezone.utc).astimezone(ZONE).date()
        dialog.date_to.setDate(dialog.date_to.date().fromString(today.isoformat(), "yyyy-MM-dd"))
        with qtbot.waitSignal(coaching.recordings_loaded, timeout=20_000):
            dialog.search()
        with qtbot.waitSignal(coaching.audio_ready, timeout=20_000):
            assert dialog.select_call(call_id)
        qtbot.waitUntil(lambda: bool(dialog.form.answers), timeout=20_000)
        assert dialog.form.answers[dialog.form.item_id(1)]["at_s"] == 12.5 and "更正" in dialog.status.text()
        dialog.form_view.selectRow(2)
        qtbot.keyClick(dialog.form_view, Qt.Key.Key_Y)
        with qtbot.waitSignal(coaching.evaluation_saved, timeout=20_000):
            dialog.save()
        assert pushed[-1]["payload"]["supersedes"] == live["id"]
        assert pushed[-1]["payload"]["source"] == "recording"
    finally:
        desk.remove()
