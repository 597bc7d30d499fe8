"""Device lists, preferences, the ringtone on the ringer device, level meters —
against the private PulseAudio daemon's fake hardware."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from softphone.audio.devices import DeviceInfo, DevicePreferences, PreferenceStore, Role, list_devices
from softphone.audio.qt_bridge import AudioEngine

from .conftest import wait_until
from .pulse import dominant_hz, has_tone

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]


def test_qt_sees_the_fake_hardware(qt_audio) -> None:  # type: ignore[no-untyped-def]
    inputs, outputs = list_devices()
    out_names = {d.name for d in outputs}
    in_names = {d.name for d in inputs}
    assert {"Speakers", "HDMI Output", "USB Headset"} <= out_names
    assert {"USB Headset Mic", "Built-in Mic"} <= in_names
    assert [d.name for d in outputs if d.is_default] == ["HDMI Output"]


def test_preference_list_order_and_fallback() -> None:
    devices = [DeviceInfo("a", "Speakers"), DeviceInfo("b", "HDMI Output", is_default=True),
               DeviceInfo("c", "USB Headset")]
    prefs = DevicePreferences()
    assert prefs.choose(Role.SPEAKER, devices).name == "HDMI Output"  # nothing chosen yet: system default
    prefs = prefs.prefer(Role.SPEAKER, "Speakers").prefer(Role.SPEAKER, "USB Headset")
    assert prefs.speaker == ("USB Headset", "Speakers")
    assert prefs.choose(Role.SPEAKER, devices).name == "USB Headset"
    assert prefs.choose(Role.SPEAKER, devices[:2]).name == "Speakers"  # headset unplugged: next in list
    assert prefs.choose(Role.SPEAKER, []) is None
    assert prefs.microphone == () and prefs.ringer == ()  # roles are independent


def test_preferences_persist_and_survive_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "audio.json"
    store = PreferenceStore(path)
    prefs = DevicePreferences().prefer(Role.RINGER, "Speakers").prefer(Role.MICROPHONE, "耳麦 USB")
    store.save(prefs)
    assert PreferenceStore(path).load() == prefs
    assert json.loads(path.read_text(encoding="utf-8"))["microphone"] == ["耳麦 USB"]
    path.write_text("{not json", encoding="utf-8")
    assert PreferenceStore(path).load() == DevicePreferences()
    assert (tmp_path / "config" / "audio.json.bad").read_text(encoding="utf-8") == "{not json"


def test_ringtone_plays_on_the_ringer_device_only(qt_audio) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    audio = AudioEngine(prefs=DevicePreferences(ringer=("Speakers",), speaker=("USB Headset",)))
    try:
        wait_until(lambda: audio.snapshot().ringer == "Speakers", 5, "the device snapshot")
        audio.set_ringing(True)
        ring = pulse.record("seat_speaker.monitor", 0.8)  # the tone is on for the first second
        assert has_tone(ring, 440, width=45), dominant_hz(ring)  # 440 + 480 Hz
        assert dominant_hz(pulse.record("seat_headset.monitor", 0.4)) == 0.0
        audio.set_ringing(False)
        time.sleep(0.4)
        assert dominant_hz(pulse.record("seat_speaker.monitor", 0.5)) == 0.0
    finally:
        audio.close()


def test_choosing_a_device_moves_the_ringer_and_is_saved(qt_audio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    store = PreferenceStore(tmp_path / "audio.json")
    audio = AudioEngine(store=store)
    seen = []
    audio.devicesChanged.connect(seen.append)
    try:
        audio.set_ringing(True)
        wait_until(lambda: audio.snapshot().ringer == "HDMI Output", 5, "the ringer on the default device")
        audio.prefer(Role.RINGER, "USB Headset")
        wait_until(lambda: audio.snapshot().ringer == "USB Headset", 5, "the ringer to move")
        assert has_tone(pulse.record("seat_headset.monitor", 0.6), 440, width=45)
        assert PreferenceStore(tmp_path / "audio.json").load().ringer == ("USB Headset",)
        assert seen, "devicesChanged never reached the GUI thread"
    finally:
        audio.set_ringing(False)
        audio.close()
