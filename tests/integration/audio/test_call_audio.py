"""A real call with real (PulseAudio) devices: the customer is heard in the
agent's headset, the agent's microphone is heard by the customer, and pulling
the headset out mid-call moves both to the next preferred devices while the
call stays up. The call is recorded in stereo (agent left, customer right)."""

from __future__ import annotations

import gc
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from softphone.account import AccountSettings
from softphone.audio import native_pump
from softphone.audio.devices import DevicePreferences
from softphone.audio.qt_bridge import AudioEngine
from softphone.audio.recorder import make_recorder_factory
from softphone.engine import EngineConfig, SipEngine
from softphone.types import CallState

from .conftest import end_call_and_stop, wait_until
from .pulse import dominant_hz, has_tone

pytestmark = [pytest.mark.audio, pytest.mark.sip, pytest.mark.timeout(120)]


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(w.getnframes())
        return np.frombuffer(raw, dtype="<i2"), w.getnchannels(), w.getframerate()


def customer_hears(peer, tmp_path: Path, name: str, seconds: float = 1.2) -> float:  # type: ignore[no-untyped-def]
    """Dominant frequency of what the customer peer hears over ``seconds``."""
    path = tmp_path / f"{name}.wav"
    peer.send(f"record {path}")
    time.sleep(seconds)
    mark = peer.events.mark()
    peer.send("record_stop")
    peer.wait("recorded", timeout=5, start=mark)
    samples, _, rate = read_wav(path)
    return dominant_hz(samples[rate // 5:], rate)  # skip the first 200 ms (bridge start)


def test_call_audio_on_headset_survives_unplug(qt_audio, peer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pulse = qt_audio
    players = []
    peer = peer_factory("--port", "0", "--user", "cust", "--tone", "1000", "--auto-answer", "200")
    audio = AudioEngine(prefs=DevicePreferences(
        microphone=("USB Headset Mic", "Built-in Mic"),
        speaker=("USB Headset", "Speakers"),
        ringer=("Speakers",),
    ))
    engine = SipEngine()
    recordings = tmp_path / "recordings"
    port = peer.uri.rsplit(":", 1)[1]
    engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", log_level=1),
                 # G.722: a waveform codec for the 16 kHz bridge. Left to pjsua's defaults the call
                 # took Speex, a vocoder that turns a pure tone into clipped, beating audio (the
                 # peer's RTP itself, decoded: 1.4 / 3.7 kHz at full scale) for seconds at a time.
                 AccountSettings(user="agent", domain=f"127.0.0.1:{port}", codecs=("G722",)),
                 audio.agent_audio_factory(), recorder_factory=make_recorder_factory(recordings))
    try:
        # The agent speaks 700 Hz into the headset microphone for the whole call.
        players.append(pulse.play_tone("seat_headset_feed", 700, 40))
        call_id = engine.dial(peer.uri).result(10)

        def state() -> CallState | None:
            info = engine.snapshot(call_id)
            return info.state if info else None

        wait_until(lambda: state() is CallState.ANSWERED, 10, "the customer to answer")
        wait_until(lambda: audio.stats().streams_open, 5, "the headset to open")
        assert audio.snapshot().speaker == "USB Headset"

        # 1. The customer's 1 kHz tone reaches the agent's headset, not the other outputs.
        time.sleep(0.5)
        heard = pulse.record("seat_headset.monitor", 1.2)
        assert has_tone(heard, 1000), dominant_hz(heard)
        assert dominant_hz(pulse.record("seat_speaker.monitor", 0.6)) == 0.0
        # 2. The agent's microphone reaches the customer.
        assert abs(customer_hears(peer, tmp_path, "mic-headset") - 700) < 15

        # Level meters move while the customer talks.
        levels = []
        audio.levelsChanged.connect(levels.append)
        wait_until(lambda: any(lv.speaker_rms > 0.05 and lv.mic_rms > 0.05 for lv in levels), 3,
                   "level meters for both directions")

        # 3. Unplug the headset (earpiece and microphone) mid-call.
        players.append(pulse.play_tone("seat_builtin_feed", 500, 40))  # what the built-in mic picks up
        pulse.unplug("seat_headset")
        pulse.unplug("seat_headset_mic")
        wait_until(lambda: audio.snapshot().speaker == "Speakers" and audio.snapshot().microphone == "Built-in Mic",
                   5, "audio to move to the speakers and the built-in microphone")
        time.sleep(0.5)
        heard = pulse.record("seat_speaker.monitor", 1.2)
        assert has_tone(heard, 1000), ("customer not heard on the speakers", dominant_hz(heard))
        # The system default (HDMI) is not in the agent's list: nothing plays there.
        assert dominant_hz(pulse.record("seat_hdmi.monitor", 0.6)) == 0.0
        assert abs(customer_hears(peer, tmp_path, "mic-builtin") - 500) < 15
        assert state() is CallState.ANSWERED, "the call dropped when the headset was unplugged"

        # 4. Plug it back: the preferred headset takes over again.
        pulse.plug_all()
        wait_until(lambda: audio.snapshot().speaker == "USB Headset", 5, "audio back on the headset")
        time.sleep(0.5)
        heard = pulse.record("seat_headset.monitor", 1.0)
        assert has_tone(heard, 1000), dominant_hz(heard)
        assert state() is CallState.ANSWERED
        assert audio.stats().device_switches >= 4

        engine.hangup(call_id).result(5)
        wait_until(lambda: engine.snapshot(call_id) is None, 10, "the call to end")
    except BaseException:
        import traceback
        traceback.print_exc()
        raise
    finally:
        for cid in list(engine.calls):  # the engine must not be stopped with a call up
            try:
                engine.hangup(cid).result(5)
                wait_until(lambda c=cid: engine.snapshot(c) is None, 5, "the call to end")
            except Exception:
                pass
        engine.stop()
        audio.close()
        gc.collect()  # finalise this test's pjsua2/Qt wrappers here, not inside the next test
        for p in players:
            p.kill()
            p.wait(5)
        pulse.plug_all()

    # 5. The call was recorded: named by call id, stereo, agent left (700 Hz then 500 Hz), customer right.
    files = list(recordings.iterdir())
    assert [f.name for f in files] == [f"{call_id}.wav"]
    samples, channels, rate = read_wav(files[0])
    assert channels == 2 and rate == 16000
    stereo = samples.reshape(-1, 2)
    assert len(stereo) / rate > 5
    # Early in the call (headset microphone): agent 700 Hz left, customer 1 kHz right, in every
    # one of the first three seconds (with Speex, before G.722 was asked for, only some were).
    seconds = [stereo[s * rate:(s + 1) * rate] for s in (1, 2, 3)]
    assert all(has_tone(sec[:, 0], 700) and has_tone(sec[:, 1], 1000) for sec in seconds), \
        [(dominant_hz(sec[:, 0]), dominant_hz(sec[:, 1])) for sec in seconds]


def test_echo_cancellation_wraps_the_chosen_devices(qt_audio, peer_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With the setting on, call audio runs through PulseAudio's WebRTC echo canceller
    built on the agent's own devices, and both directions still carry the call."""
    pulse = qt_audio
    peer = peer_factory("--port", "0", "--user", "cust", "--tone", "1000", "--auto-answer", "200")
    audio = AudioEngine(prefs=DevicePreferences(microphone=("USB Headset Mic",), speaker=("USB Headset",),
                                                echo_cancellation=True))
    engine = SipEngine()
    port = peer.uri.rsplit(":", 1)[1]
    engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", log_level=1),
                 AccountSettings(user="agent", domain=f"127.0.0.1:{port}", codecs=("G722",)),  # not Speex: tones
                 audio.agent_audio_factory())
    player = pulse.play_tone("seat_headset_feed", 700, 30)
    call_id = None
    try:
        call_id = engine.dial(peer.uri).result(10)
        wait_until(lambda: audio.snapshot().echo_cancelling, 8, "call audio on the echo-cancelled pair")
        assert audio.snapshot().speaker == "USB Headset"  # the agent still sees the device chosen
        assert "module-echo-cancel" in pulse.pactl("list", "short", "modules").stdout
        time.sleep(0.5)
        heard = pulse.record("seat_headset.monitor", 1.2)
        assert has_tone(heard, 1000), dominant_hz(heard)
        assert abs(customer_hears(peer, tmp_path, "mic-ec") - 700) < 15
    finally:
        end_call_and_stop(engine, audio, call_id, player)
    assert "module-echo-cancel" not in pulse.pactl("list", "short", "modules").stdout


@pytest.mark.parametrize("pump", ["c", "python"])
def test_bridge_clock_survives_engine_restarts_at_narrowband(qt_audio, peer_factory, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             monkeypatch, pump: str) -> None:
    """The audio thread clocks the conference bridge through its master port. One
    AudioEngine serves three SIP engine generations (libCreate … libDestroy each):
    every time the customer is heard on the headset and the agent's microphone
    reaches the customer, here with the 8 kHz (G.711) bridge; between calls the
    bridge is not clocked and the devices close. With both pumps: the C one (the default
    where it is built, as here) and the Python one (other platforms, no C compiler)."""
    pulse = qt_audio
    if pump == "python":
        monkeypatch.setenv(native_pump.PUMP_ENV, "python")
    peer = peer_factory("--port", "0", "--user", "cust", "--tone", "1000", "--auto-answer", "200")
    audio = AudioEngine(prefs=DevicePreferences(microphone=("USB Headset Mic",), speaker=("USB Headset",)),
                        clock_rate=8000)
    port = peer.uri.rsplit(":", 1)[1]
    player = pulse.play_tone("seat_headset_feed", 600, 60)
    try:
        for generation in range(3):
            engine = SipEngine()
            engine.start(EngineConfig(bind_address="127.0.0.1", public_address="127.0.0.1", log_level=1,
                                      clock_rate=8000),
                         AccountSettings(user="agent", domain=f"127.0.0.1:{port}", codecs=("PCMU",)),
                         audio.agent_audio_factory())
            call_id = None
            try:
                call_id = engine.dial(peer.uri).result(10)
                wait_until(lambda: audio.stats().streams_open, 5, "the headset to open")
                assert audio.stats().native_pump is (pump == "c")
                time.sleep(0.5)
                heard = pulse.record("seat_headset.monitor", 1.0)
                assert has_tone(heard, 1000), (generation, dominant_hz(heard))
                assert abs(customer_hears(peer, tmp_path, f"mic-{generation}") - 600) < 15, generation
            finally:
                if call_id is not None:
                    engine.hangup(call_id).result(5)
                    wait_until(lambda c=call_id, e=engine: e.snapshot(c) is None, 10, "the call to end")
                engine.stop()
                gc.collect()
            wait_until(lambda: not audio.stats().streams_open, 5, "the devices to close after the call")
        assert audio.stats().speaker_underruns == 0
    finally:
        audio.close()
        gc.collect()
        player.kill()
        player.wait(5)
