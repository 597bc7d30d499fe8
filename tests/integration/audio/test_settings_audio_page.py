"""The settings dialog's audio page on the private PulseAudio's fake hardware, with the app's
own runtime (settings.json → WorkspaceRuntime → Qt audio bridge → pjsua2):
choosing a device moves the call audio there (live, mid-call too) and is saved; the
microphone level meter moves when the chosen microphone hears a tone; the test tone and
the echo test play on the chosen speaker."""

from __future__ import annotations

import json
import time

import pytest

# Imported at collection like the other audio tests' Qt Multimedia users: its first import
# probes PipeWire (absent here; the private PulseAudio is used) and says so once, then.
import app.audio_test  # noqa: F401
from softphone.types import CallState

from .conftest import wait_until
from .pulse import dominant_hz, has_tone

pytestmark = [pytest.mark.audio, pytest.mark.sip, pytest.mark.timeout(150)]


def _record_live(qtbot, pulse, source: str, seconds: float):  # type: ignore[no-untyped-def]
    """Record while the Qt event loop keeps turning (the echo test pumps on the GUI thread,
    as it does in the app, where that loop never stops)."""
    import threading

    out: list = []
    worker = threading.Thread(target=lambda: out.append(pulse.record(source, seconds)), daemon=True)
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=int(seconds * 1000) + 8000)
    return out[0]


def _choose(box, name: str) -> None:
    box.setCurrentText(name)
    assert box.currentText() == name, [box.itemText(i) for i in range(box.count())]
    box.activated.emit(box.currentIndex())


def test_audio_page_devices_meter_tone_echo_and_call(qt_audio, peer_factory, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.settings import Settings
    from app.workspace.runtime import WorkspaceRuntime
    from app.workspace.settings_service import SettingsService
    from cache.db import open_cache
    from tests.faults.harness import secret_service
    from ui.settings_dialog import SettingsDialog

    pulse = qt_audio
    peer = peer_factory("--port", "0", "--user", "cust", "--tone", "1000", "--auto-answer", "200")
    port = peer.uri.rsplit(":", 1)[1]
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({
        "sip": {"user": "agent", "domain": f"127.0.0.1:{port}"},
        "audio": {"speaker": ["Speakers"], "microphone": ["Built-in Mic"], "ringer": ["Speakers"]},
        "workspace": {"audio_backend": "qt"},
    }), encoding="utf-8")
    players = []
    with secret_service(tmp_path / "keyring"):
        settings = Settings.load(path)
        handle = open_cache(tmp_path / "cache.sqlite3")
        runtime = WorkspaceRuntime(handle, settings, tmp_path, demo=False)
        runtime.start()
        try:
            assert runtime.wait_phone(20), "the softphone did not start"
            assert runtime.audio_engine is not None
            assert runtime.audio_engine.preferences().speaker == ("Speakers",)  # from settings.json
            service = SettingsService(settings, runtime)
            dialog = SettingsDialog(service)
            qtbot.addWidget(dialog)
            dialog.show()
            qtbot.waitUntil(lambda: dialog.speaker.findText("USB Headset") >= 0
                            and dialog.mic.findText("USB Headset Mic") >= 0, timeout=10_000)

            # 1. Choose the headset: saved to settings.json, the audio engine follows.
            _choose(dialog.speaker, "USB Headset")
            _choose(dialog.mic, "USB Headset Mic")
            saved = json.loads(path.read_text(encoding="utf-8"))["audio"]
            assert saved["speaker"][0] == "USB Headset" and saved["microphone"][0] == "USB Headset Mic"
            assert runtime.audio_engine.preferences().speaker[0] == "USB Headset"

            # 2. The level meter moves when the headset microphone hears a tone (and not before).
            qtbot.wait(600)
            assert dialog.level.value() < 5
            players.append(pulse.play_tone("seat_headset_feed", 700, 3))
            qtbot.waitUntil(lambda: dialog.level.value() > 20, timeout=5000)
            players[-1].wait(10)

            # 3. The test tone plays on the chosen speaker, not elsewhere.
            dialog.tone_button.click()
            heard = pulse.record("seat_headset.monitor", 0.8)
            assert has_tone(heard, 440), dominant_hz(heard)
            assert dominant_hz(pulse.record("seat_speaker.monitor", 0.3)) == 0.0
            qtbot.wait(800)

            # 4. The echo test: what the microphone hears comes back on the speaker ~1 s later.
            dialog.echo_button.setChecked(True)
            players.append(pulse.play_tone("seat_headset_feed", 600, 1.0))
            started = time.monotonic()
            early = _record_live(qtbot, pulse, "seat_headset.monitor", 0.5)
            assert dominant_hz(early) == 0.0  # not yet: it comes back a second later
            heard = _record_live(qtbot, pulse, "seat_headset.monitor", 1.2)
            assert has_tone(heard, 600), (dominant_hz(heard), time.monotonic() - started)
            dialog.echo_button.setChecked(False)
            dialog.close()

            # 5. A call: the customer's 1 kHz tone is in the chosen headset ...
            phone = runtime.phone
            call_id = phone.dial(peer.uri).result(10)
            wait_until(lambda: (phone.snapshot(call_id) or None) is not None
                       and phone.snapshot(call_id).state is CallState.ANSWERED, 10, "the customer to answer")
            wait_until(lambda: runtime.audio_engine.snapshot().speaker == "USB Headset", 5, "the headset in use")
            time.sleep(0.5)
            heard = pulse.record("seat_headset.monitor", 1.0)
            assert has_tone(heard, 1000), dominant_hz(heard)
            assert dominant_hz(pulse.record("seat_speaker.monitor", 0.5)) == 0.0
            # ... and choosing the speakers in the dialog mid-call moves it there at once.
            dialog.show()
            _choose(dialog.speaker, "Speakers")
            wait_until(lambda: runtime.audio_engine.snapshot().speaker == "Speakers", 5, "the switch")
            time.sleep(0.5)
            heard = pulse.record("seat_speaker.monitor", 1.0)
            assert has_tone(heard, 1000), dominant_hz(heard)
            assert phone.snapshot(call_id).state is CallState.ANSWERED
            dialog.close()
            phone.hangup(call_id).result(5)
            wait_until(lambda: phone.snapshot(call_id) is None, 10, "the call to end")
        finally:
            for p in players:
                if p.poll() is None:
                    p.kill()
            runtime.stop()
            handle.close()
