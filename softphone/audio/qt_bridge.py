"""The agent's real audio: pjsua2's conference bridge <-> Qt Multimedia devices.

The published pjsua2 wheels have no sound devices. The agent is conference
slot 0 (pjsua's "sound device" slot) and the audio thread clocks the bridge
itself through slot 0's master port (master_port.py):

    QAudioSource -> mic ring -> put_frame(slot 0) ┐
                                                  ├ one audio-thread pump every 80 ms,
    QAudioSink <- speaker ring <- get_frame(slot 0) ┘ four 20 ms bridge frames each

Threads:
- the SIP thread attaches the master port after libStart and detaches it
  before libDestroy (``QtAgentAudio``), and connects calls to slot 0;
- the audio thread (a QThread with its own event loop, ``_AudioWorker``) owns
  every QAudioSource/QAudioSink/QMediaDevices object, runs the bridge while a
  call is in it, follows hot-plug, plays the ringtone and computes level meters;
- the GUI thread sees ``AudioEngine``: preferences in, signals out.

Why the audio thread is the clock (not pjsua's null device): the null device's
clock thread woke 50 times a second and handed every frame to Python through
SWIG directors, while the audio thread woke as often again to move the frames
to Qt. One thread and two ctypes calls per frame cut the call's CPU from 5.4 % to
~3 % of a core; one wake-up per 80 ms with housekeeping and level meters folded
into it (level meters computed only while someone listens), a Python thread state
kept for the thread's life and an event-driven SIP loop took the app to ~1.4 %;
a pump loop that sleeps through Qt's per-PulseAudio-message notifications and
handles them once per pump (``_pump_loop``) to ~0.8 %; each pump's audio moved in one
call into C (native_pump.py, pump.c) and the call's RTP received by this thread right
before its frames (pjmedia's media thread stopped: master_port.py) to ~0.8 % on a
machine where the previous design measured 1.1–1.4 % (issue #16; docs/audio.md has the numbers).

Why device streams are opened lazily: the microphone and speaker are opened
only while a call is in the bridge and closed ~1.5 s after, so the OS shows
no microphone in use between calls. They open as soon as the engine links a
call to slot 0 (``QtAgentAudio.mic_media`` nudges the audio thread): the
customer hears the agent ~0.2 s after answering.

Jitter budget: the pump runs every 80 ms and catches up by wall time (up to
160 ms at once); the speaker keeps 40 ms primed before it starts and up to
120 ms (reserve + one pump) in the device buffer; the microphone arrives in
40 ms fragments (we ask PulseAudio for them) and serves the bridge once 80 ms are buffered. Measured
(tests/bench): zero underruns in a 60 s call with the GUI thread 30 % busy.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj
from PySide6 import QtMultimedia
from PySide6.QtCore import (
    QByteArray,
    QCoreApplication,
    QMetaMethod,
    QObject,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QAudioSource, QMediaDevices

from softphone.audio import native_pump, pcm
from softphone.audio.devices import (
    DeviceInfo,
    DevicePreferences,
    DeviceSnapshot,
    PreferenceStore,
    PulsePresence,
    Role,
)
from softphone.audio.echo import EC_PREFIX, EC_SINK, EC_SOURCE, PulseEchoCanceller
from softphone.audio.master_port import MasterPortClock
from softphone.audio.ring import FrameRing

log = logging.getLogger(__name__)

# Qt 6.7 renamed the QAudio namespace to QtAudio; the old name's enums no longer compare equal.
QAudio = getattr(QtMultimedia, "QtAudio", None) or QtMultimedia.QAudio

DEFAULT_CLOCK_RATE = 16000  # the engine's conference bridge rate (pjsua's default)
IDLE_CLOSE_S = 1.5  # close the devices this long after the last call audio
# Four bridge frames per wake-up. The cost is per wake-up, not per frame (docs/audio.md: the
# pump's Python, Qt's dispatch and the thread switch cost a few hundred µs, a frame's ctypes
# ~3 µs), so 80 ms instead of 40 ms halves it. The price: ~20 ms more delay on average in each
# direction (the speaker's device buffer grows by the same 40 ms; the mic waits for the pump).
PUMP_MS = 80
MAX_CATCHUP = 8  # bridge frames run back to back after a late pump (160 ms)
# Housekeeping (bridge in use?, devices idle?, level meters): its own timer every 100 ms while
# no pump runs; while the pump runs it rides on every fourth pump (~40 µs each: a bridge query
# through ctypes, the level listener check). Level meters, when shown, every other pump (~6 Hz).
HOUSE_IDLE_MS = 100
HOUSE_PUMP_MS = 320
LEVELS_PUMP_MS = 160
SPEAKER_PRIME_MS = 40  # the speaker's jitter reserve before it starts
# The agent's voice buffered before the bridge is served. The microphone arrives in 40 ms
# fragments (SOURCE_FRAGMENT_MS) and a pump takes 80 ms: a pump can find one fragment, so the
# reserve covers the other half of its take plus a late fragment or pump (GUI thread holding the
# GIL ~30 ms). 60 ms left 2 underruns a minute with the GUI 30 % busy on a loaded machine.
# Fragment + reserve = 120 ms, within the 80 + 60 ms budgeted when fragments were 80 ms.
MIC_PRIME_MS = 80
# The device buffer: the reserve plus one pump's worth, so a top-up fits (the reserve is the
# margin against a late audio thread).
SINK_BUFFER_MS = SPEAKER_PRIME_MS + PUMP_MS
# Qt 6.11's PulseAudio source (QPulseAudioSourceStream) asks the server for no fragment size
# (fragsize -1: the server's default, 2 s). A source that adapts to its readers (a capture device
# with timer scheduling; in the tests and the bench a null sink's monitor) then hands over blocks
# up to its longest latency, which Qt's ring cannot hold: with the agent's voice played into the
# bench's microphone at 500 ms latency, 28 % of it never reached the customer. So the source is
# opened with PULSE_LATENCY_MSEC set (libpulse reads it in pa_stream_connect_record and asks for
# fragments of that size): half a pump, so every pump finds one to three fragments (the mic
# ring's 80 ms reserve covers a pump that finds one), ~25 a second. (A source with a fixed
# latency, e.g. module-sine-source's 2 s, ignores any request.)
SOURCE_FRAGMENT_MS = PUMP_MS // 2
# Qt's source ring between its PulseAudio callback and our readAll: audio that does not fit is
# dropped (the mic ring then underruns), so it holds several pumps: a pump late by up to ~3 pumps
# (GUI-thread GIL, a loaded machine) loses nothing. Drained every pump, so no added delay.
SOURCE_BUFFER_MS = 4 * PUMP_MS
# Latency control: a device that starts late (PulseAudio takes ~0.5 s to start a
# null sink) or a clock slower than the bridge's leaves audio piling up in the ring;
# if more than HIGH stays queued for TRIM_AFTER seconds, drop the oldest down to LOW.
RING_HIGH_MS, RING_LOW_MS, TRIM_AFTER_S = 100, 40, 2.0
# Microphone audio read longer than this after the bridge last asked for it is dropped (no call).
MIC_LISTEN_S = 0.2
# What the level meters see between two updates (at most a housekeeping period, 320 ms).
LEVELS_TAP_MS = 400
# PySide6 enum members are looked up through the enum type on every access: the pump
# compares against these module-level copies.
_ACTIVE, _IDLE, _STOPPED = QAudio.State.ActiveState, QAudio.State.IdleState, QAudio.State.StoppedState
_ACTIVE_VALUE = _ACTIVE.value
_NO_ERROR, _UNDERRUN = QAudio.Error.NoError, QAudio.Error.UnderrunError
_HOUSE_EVERY = max(1, round(HOUSE_PUMP_MS / PUMP_MS))  # pumps per housekeeping while pumping
_LEVELS_EVERY = max(1, round(LEVELS_PUMP_MS / PUMP_MS))


@dataclass(frozen=True)
class AudioLevels:
    """0..1 of full scale, over the last ~100 ms."""

    mic_rms: float = 0.0
    mic_peak: float = 0.0
    speaker_rms: float = 0.0
    speaker_peak: float = 0.0


@dataclass(frozen=True)
class AudioStats:
    speaker_underruns: int = 0  # the speaker device starved while the call kept sending audio
    speaker_overruns: int = 0  # speaker audio dropped because the device fell behind
    mic_underruns: int = 0  # the bridge asked for the agent's voice and none was buffered
    mic_overruns: int = 0  # microphone audio dropped because the bridge fell behind
    device_switches: int = 0  # streams (re)opened on another device during audio
    late_ticks: int = 0  # bridge frames dropped because the audio thread was stalled > 120 ms
    streams_open: bool = False
    mic_bytes: int = 0  # microphone audio read from the device so far (the bench checks its rate)
    native_pump: bool = False  # the call audio moves in C (native_pump.py), not in the Python pump


class _Shared:
    """State shared by the SIP thread (attach/detach), the audio thread and the GUI (stats)."""

    def __init__(self, clock_rate: int) -> None:
        self.rate = clock_rate
        self.frame_len = pcm.frame_bytes(clock_rate)
        ms = self.frame_len // pcm.FRAME_MS  # bytes per millisecond
        self.ms = ms
        speaker_capacity, speaker_prime = (SINK_BUFFER_MS + PUMP_MS) * ms, SPEAKER_PRIME_MS * ms
        # The reserve, one pump's delivery and a late pump's worth.
        mic_capacity, mic_prime = (MIC_PRIME_MS + 2 * PUMP_MS) * ms, MIC_PRIME_MS * ms
        # The pump in C where it is built (native_pump.py); the rings then live in it.
        symbols = native_pump.symbols()
        self.native: native_pump.NativePump | None = None
        self.speaker: FrameRing | native_pump.NativeRing
        self.mic: FrameRing | native_pump.NativeRing
        if symbols is not None:
            self.native = native_pump.NativePump(
                symbols, frame_bytes=self.frame_len, mic_capacity=mic_capacity, mic_prime=mic_prime,
                speaker_capacity=speaker_capacity, speaker_prime=speaker_prime,
                tap_capacity=LEVELS_TAP_MS * ms, ring_high=RING_HIGH_MS * ms, ring_low=RING_LOW_MS * ms,
                trim_after_s=TRIM_AFTER_S, steady_after=clock_rate * 2, listen_s=MIC_LISTEN_S)
            self.speaker, self.mic = self.native.speaker, self.native.mic
        else:
            self.speaker = FrameRing(capacity=speaker_capacity, prime=speaker_prime)
            self.mic = FrameRing(capacity=mic_capacity, prime=mic_prime)
        self._mic_requested_at = 0.0
        self.speaker_underruns = 0
        self.device_switches = 0
        self.streams_open = False
        self.clock = MasterPortClock(self.frame_len)
        self.late_ticks = 0  # bridge frames dropped because the audio thread was stalled
        self._mic_bytes = 0  # read from the microphone device (audio thread writes, stats read)

    # Counters the C pump keeps itself when it runs.
    @property
    def mic_bytes(self) -> int:
        return self.native.mic_bytes if self.native is not None else self._mic_bytes

    @property
    def mic_requested_at(self) -> float:
        """When the bridge last asked for the agent's voice (time.monotonic())."""
        return self.native.mic_requested_at if self.native is not None else self._mic_requested_at


class QtAgentAudio:
    """``AgentAudio`` (softphone/audio_api.py) over Qt devices. SIP thread only.

    The agent is conference slot 0 (pjsua's "sound device" slot): the audio
    thread clocks the bridge through its master port (master_port.py)."""

    def __init__(self, engine: AudioEngine, endpoint: pj.Endpoint) -> None:
        self._engine = engine
        self._clock = engine._shared.clock
        self._clock.attach()
        manager = endpoint.audDevManager()
        self._mic: pj.AudioMedia | None = manager.getCaptureDevMedia()
        self._speaker: pj.AudioMedia | None = manager.getPlaybackDevMedia()

    def mic_media(self) -> pj.AudioMedia:
        assert self._mic is not None, "closed"
        # The engine asks for slot 0 when it (re)links a call's media: look at the bridge now
        # rather than at the next housekeeping (up to 100 ms later), so the devices open at once.
        self._engine.nudge()
        return self._mic

    def speaker_media(self) -> pj.AudioMedia:
        assert self._speaker is not None, "closed"
        return self._speaker

    def ringer_start(self) -> None:
        self._engine.set_ringing(True)

    def ringer_stop(self) -> None:
        self._engine.set_ringing(False)

    def close(self) -> None:
        self._engine.set_ringing(False)
        # Before libDestroy: once detach returns, the audio thread never enters pjmedia again.
        self._clock.detach()
        self._mic = self._speaker = None


def _device_info(dev: QAudioDevice) -> DeviceInfo:
    return DeviceInfo(id=bytes(dev.id().data()).decode("utf-8", "replace"), name=dev.description(),
                      is_default=dev.isDefault())


class _Stream:
    """One open QAudioSink or QAudioSource and the device it is on."""

    def __init__(self, device: QAudioDevice, qobj: QAudioSink | QAudioSource, io,  # type: ignore[no-untyped-def]
                 name: str | None = None) -> None:
        self.device = device
        self.name = name or device.description()  # the agent's device, also when wrapped for echo cancelling
        self.id = bytes(device.id().data())
        self.qobj = qobj
        self.io = io
        self.primed = False
        self.idle_since: float | None = None
        self.high_since: float | None = None
        self.failed = False
        self.started = False  # the device has begun playing (sinks)
        self.delivered = 0  # bytes read so far (sources)

    def close(self) -> None:
        self.qobj.stop()
        self.qobj.deleteLater()
        self.io = None


class _AudioWorker(QObject):
    """Lives on the audio thread and owns every Qt audio object."""

    levels = Signal(object)  # AudioLevels
    devices = Signal(object)  # DeviceSnapshot

    def __init__(self, shared: _Shared, prefs: DevicePreferences,
                 levels_wanted: Callable[[], bool] = lambda: True) -> None:
        super().__init__()
        self._s = shared
        self._levels_wanted = levels_wanted  # nobody shows the meters: do not compute them
        self._levels_on = True
        self._gil_state: int | None = None
        self._prefs = prefs
        self._fmt = QAudioFormat()
        self._fmt.setSampleRate(shared.rate)
        self._fmt.setChannelCount(1)
        self._fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._media: QMediaDevices | None = None
        self._presence: PulsePresence | None = None
        self._echo = PulseEchoCanceller()
        self._ec_active = False
        self._sink: _Stream | None = None
        self._source: _Stream | None = None
        self._ring_sink: _Stream | None = None
        self._ring_data = b""
        self._ring_pos = 0
        self._ringing = False
        self._house: QTimer | None = None
        self._pump_wanted = False  # a call, a device stream or the ringer needs the pump loop
        self._looping = False  # _pump_loop is running (or scheduled)
        self._stopping = False
        self._house_asap = False  # a nudge came while pumping: housekeeping on the next pump
        self._pump_errors = 0
        self._bridge_busy = False  # a call's media (or a recorder) is in the bridge: keep it clocked
        self._next_tick = 0.0
        # Audio moved since the last level update; measured 10x a second, not per chunk.
        self._mic_acc: list[bytes] = []
        self._spk_acc: list[bytes] = []
        self._last_snapshot: DeviceSnapshot | None = None
        self._levels_zeroed = False

    # ---- life cycle (audio thread) -------------------------------------------------
    @Slot()
    def start(self) -> None:
        # Keep a Python thread state on this thread for its whole life. Without it PySide
        # creates and destroys one around every Python slot the thread runs (PyGILState with
        # a zero count), ~25 µs of each pump's cost (measured: a no-op slot on a QThread
        # 46 µs -> 22 µs). Released in shutdown(), on this thread.
        self._gil_state = _py_gil_ensure()
        self._media = QMediaDevices(self)
        self._media.audioInputsChanged.connect(self._on_devices_changed)
        self._media.audioOutputsChanged.connect(self._on_devices_changed)
        self._presence = PulsePresence(self._on_devices_changed)
        self._pump_count = 0
        # Housekeeping (bridge in use?, devices idle?, level meters) has its own timer only while
        # the pump is off; while it runs, the pump does it (one wake-up instead of two).
        self._house = QTimer(self)
        self._house.setInterval(HOUSE_IDLE_MS)
        self._house.timeout.connect(self._on_housekeeping)
        self._house.start()
        self._load_ringtone()
        self._publish_snapshot()

    @Slot()
    def shutdown(self) -> None:
        self._stopping = True  # ends the pump loop if this runs inside it (_pump_loop)
        self._pump_wanted = False
        if self._house is not None:
            self._house.stop()
        self._close_call_streams()
        self._stop_ringer_stream()
        if self._presence is not None:
            self._presence.close()
        self._echo.unwrap()
        # Qt objects of this thread die in this thread: deleting the worker (and its
        # timers, QMediaDevices, streams) later from the GUI thread's garbage
        # collector is not allowed. The deferred delete runs as the thread finishes.
        self.deleteLater()
        self.thread().quit()
        if self._gil_state is not None:
            state, self._gil_state = self._gil_state, None
            _py_gil_release(state)

    # ---- commands ------------------------------------------------------------------
    @Slot(object)
    def set_preferences(self, prefs: DevicePreferences) -> None:
        ringtone_changed = prefs.ringtone_path != self._prefs.ringtone_path
        self._prefs = prefs
        if ringtone_changed:
            self._load_ringtone()
        self._follow_preferences()

    @Slot()
    def nudge(self) -> None:
        if self._looping:
            self._house_asap = True  # the next pump does the housekeeping
        else:
            self._on_housekeeping()

    @Slot(bool)
    def set_ringing(self, on: bool) -> None:
        if on == self._ringing:
            return
        self._ringing = on
        if on:
            self._ring_pos = 0
            self._open_ringer()
        else:
            self._stop_ringer_stream()
        self._publish_snapshot()

    # ---- devices -------------------------------------------------------------------
    def _choose(self, role: Role) -> QAudioDevice | None:
        devices = self._devices(role is Role.MICROPHONE)
        infos = [_device_info(d) for d in devices]
        chosen = self._prefs.choose(role, infos)
        if chosen is None:
            return None
        return devices[infos.index(chosen)]

    def _devices(self, inputs: bool, include_ec: bool = False) -> list[QAudioDevice]:
        devices = QMediaDevices.audioInputs() if inputs else QMediaDevices.audioOutputs()
        present = self._presence.present() if self._presence is not None else None
        if present is not None:  # Qt may still list an unplugged device (see PulsePresence)
            devices = [d for d in devices if _id(d) in present]
        if not include_ec:  # our echo-cancelled pair is not a device the agent picks
            devices = [d for d in devices if not _id(d).startswith(EC_PREFIX)]
        return devices

    def _call_pair(self) -> tuple[QAudioDevice | None, QAudioDevice | None, str | None, str | None]:
        """(mic device, speaker device, mic name, speaker name) for call audio: the
        agent's choices, or the echo-cancelled pair wrapping them when that is on."""
        mic, spk = self._choose(Role.MICROPHONE), self._choose(Role.SPEAKER)
        names = (_name(mic), _name(spk))
        self._ec_active = False
        if not self._prefs.echo_cancellation or mic is None or spk is None:
            self._echo.unwrap()
            return mic, spk, *names
        if self._echo.wrap(_id(mic), _id(spk)):
            ec_mic = next((d for d in self._devices(True, True) if _id(d) == EC_SOURCE), None)
            ec_spk = next((d for d in self._devices(False, True) if _id(d) == EC_SINK), None)
            if ec_mic is not None and ec_spk is not None:
                self._ec_active = True
                return ec_mic, ec_spk, *names
            # Qt lists the new pair a moment later (devices-changed brings us back here).
        return mic, spk, *names

    @Slot()
    def _on_devices_changed(self) -> None:
        self._follow_preferences()

    def _follow_preferences(self) -> None:
        """(Re)open any stream whose device is gone or no longer the preferred one."""
        if self._s.streams_open:  # a call has audio: also reopen once a device is back
            mic, spk, mic_name, spk_name = self._call_pair()
            if _raw_id(spk) != (self._sink.id if self._sink else None):
                self._reopen_sink(spk, spk_name)
            if _raw_id(mic) != (self._source.id if self._source else None):
                self._reopen_source(mic, mic_name)
        if self._ring_sink is not None:
            want = self._choose(Role.RINGER)
            if want is None or bytes(want.id().data()) != self._ring_sink.id:
                self._stop_ringer_stream()
                self._open_ringer()
        self._publish_snapshot()

    def _publish_snapshot(self) -> None:
        snap = DeviceSnapshot(
            inputs=tuple(_device_info(d) for d in self._devices(True)),
            outputs=tuple(_device_info(d) for d in self._devices(False)),
            microphone=self._source.name if self._source else _name(self._choose(Role.MICROPHONE)),
            speaker=self._sink.name if self._sink else _name(self._choose(Role.SPEAKER)),
            ringer=self._ring_sink.name if self._ring_sink else _name(self._choose(Role.RINGER)),
            echo_cancelling=self._ec_active and self._sink is not None,
        )
        if snap != self._last_snapshot:
            self._last_snapshot = snap
            self.devices.emit(snap)

    def _update_pump(self) -> None:
        """The pump runs only while a call is in the bridge or a device stream is
        open (idle CPU ~0)."""
        if self._house is None or self._stopping:
            return
        self._pump_wanted = (self._bridge_busy or self._sink is not None or self._source is not None
                             or self._ring_sink is not None)
        if self._pump_wanted and not self._looping:
            self._looping = True
            self._house.stop()
            QTimer.singleShot(0, self._pump_loop)  # once the current slot has returned

    @Slot()
    def _pump_loop(self) -> None:
        """Pump every PUMP_MS for as long as it is wanted, sleeping in between; Qt's events for
        this thread are handled once per pump (processEvents) instead of as they come.

        Why not a QTimer: Qt 6.11 wakes the thread that owns a stream for every PulseAudio
        message (the source's "ring has data" per fragment, the sink's "ring has space" and
        "bytes consumed" per write request): ~75 wake-ups a second on top of the pump's 12.5, each
        a context switch and a poll (~0.18 points of a core, docs/audio.md). Sleeping through them
        and handling the pending ones in one processEvents per pump costs no extra wake-up.
        Nothing on this thread needs them sooner: the pump polls the streams itself. Commands
        from the GUI (preferences, ringing, shutdown) and hot-plug wait at most one pump."""
        period = PUMP_MS / 1000
        due = self._next_tick = time.monotonic()
        try:
            while self._pump_wanted and not self._stopping:  # bounded: shutdown/idle end it
                # This thread's pending events first (commands, hot-plug, the streams' state
                # changes): the pump then sees the streams' current state.
                QCoreApplication.processEvents()
                if not self._pump_wanted or self._stopping:
                    break
                try:
                    self._on_pump()
                except Exception:  # one bad pump must not silence the call (as with a timer)
                    self._pump_errors += 1
                    if self._pump_errors == 1:
                        log.exception("audio pump failed (further failures counted, not logged)")
                due += period
                delay = due - time.monotonic()
                if delay < 0:  # late (the GIL, a loaded machine): the bridge catches up by wall time
                    due = time.monotonic()
                    delay = 0.0
                time.sleep(delay)
        finally:
            self._looping = False
        if not self._stopping and self._house is not None:
            self._house.start()
            self._update_pump()  # wanted again meanwhile (a command inside the last processEvents)

    # ---- call streams --------------------------------------------------------------
    def _open_call_streams(self) -> None:
        self._s.speaker.clear()
        self._s.mic.clear()
        mic, spk, mic_name, spk_name = self._call_pair()
        self._reopen_sink(spk, spk_name, switch=False)
        self._reopen_source(mic, mic_name, switch=False)
        self._s.streams_open = True
        self._update_pump()
        log.info("call audio on speaker %r, microphone %r",
                 self._sink.name if self._sink else None, self._source.name if self._source else None)
        self._publish_snapshot()

    def _close_call_streams(self) -> None:
        self._close_sink()
        self._close_source()
        self._s.streams_open = False
        self._update_pump()

    # The C pump forgets a stream as it closes: Qt deletes it at the next processEvents.
    def _close_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
            if self._s.native is not None:
                self._s.native.set_sink(None, None)

    def _close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
            if self._s.native is not None:
                self._s.native.set_source(None)

    def _reopen_sink(self, device: QAudioDevice | None, name: str | None = None, switch: bool = True) -> None:
        self._close_sink()
        if device is None:
            log.warning("no speaker device: the agent hears nothing")
            return
        sink = QAudioSink(device, self._fmt, self)
        # Small device buffer: the ring + this bound the mouth-to-ear delay we add.
        sink.setBufferSize(SINK_BUFFER_MS * self._s.ms)
        io = sink.start()
        self._sink = _Stream(device, sink, io, name)
        if self._s.native is not None:
            self._s.native.set_sink(sink, io)
        if switch:
            self._s.device_switches += 1
            log.info("speaker moved to %r", self._sink.name)

    def _reopen_source(self, device: QAudioDevice | None, name: str | None = None, switch: bool = True) -> None:
        self._close_source()
        if device is None:
            log.warning("no microphone device: the customer hears silence")
            return
        source = QAudioSource(device, self._fmt, self)
        source.setBufferSize(SOURCE_BUFFER_MS * self._s.ms)
        with _pulse_latency(SOURCE_FRAGMENT_MS):
            io = source.start()
        self._source = _Stream(device, source, io, name)
        if self._s.native is not None:
            self._s.native.set_source(io)
        self._s.mic.count_underruns = False
        if switch:
            self._s.device_switches += 1
            log.info("microphone moved to %r", self._source.name)

    # Stream states are polled from the pump: PySide6 6.12 cannot deliver
    # QAudioSink.stateChanged (its QAudio::State argument fails to convert).
    def _check_sink(self, sink: _Stream, state: QAudio.State) -> None:
        error = sink.qobj.error()
        if state == _IDLE and error == _UNDERRUN:
            # Starved; counted in _pump_speaker only if the call keeps sending audio.
            if sink.idle_since is None:
                sink.idle_since = time.monotonic()
                sink.primed = False
                if self._s.native is not None:
                    self._s.native.unprime_speaker()
        elif state == _STOPPED and error != _NO_ERROR and not sink.failed:
            sink.failed = True
            log.warning("speaker %r failed (%s); choosing another", sink.name, error)
            QTimer.singleShot(0, self._follow_preferences_or_reopen_sink)

    def _check_source(self, src: _Stream) -> None:
        if src.qobj.state() == _STOPPED and src.qobj.error() != _NO_ERROR and not src.failed:
            src.failed = True
            log.warning("microphone %r failed (%s); choosing another", src.name, src.qobj.error())
            QTimer.singleShot(0, self._follow_preferences_or_reopen_source)

    @Slot()
    def _follow_preferences_or_reopen_sink(self) -> None:
        if self._sink is not None and self._sink.qobj.state() == QAudio.State.StoppedState:
            _mic, spk, _mic_name, spk_name = self._call_pair()
            self._reopen_sink(spk, spk_name)
        self._follow_preferences()

    @Slot()
    def _follow_preferences_or_reopen_source(self) -> None:
        if self._source is not None and self._source.qobj.state() == QAudio.State.StoppedState:
            mic, _spk, mic_name, _spk_name = self._call_pair()
            self._reopen_source(mic, mic_name)
        self._follow_preferences()

    def _pump_mic(self) -> None:
        src = self._source
        if src is None or src.io is None:
            return
        data = src.io.readAll().data()  # polled with the pump: cheaper than a readyRead per 10 ms
        self._s._mic_bytes += len(data)
        if data and time.monotonic() - self._s._mic_requested_at < MIC_LISTEN_S:  # else nobody listens: drop
            self._s.mic.write(data)
            if self._levels_on:
                self._mic_acc.append(data)
            if not self._s.mic.count_underruns:
                src.delivered += len(data)
                # A freshly started source trickles for up to ~1 s before it runs steadily.
                self._s.mic.count_underruns = src.delivered >= self._s.rate * 2

    def _on_pump(self) -> None:
        sink = self._sink
        self._pump_count += 1
        house_due = self._house_asap or self._pump_count % _HOUSE_EVERY == 0
        if self._source is not None and house_due:  # a failed microphone is found within ~320 ms
            self._check_source(self._source)
        if sink is not None and sink.io is not None:
            self._watch_sink(sink)
        native = self._s.native
        if native is not None:  # the devices' audio and the bridge frames in one C call
            self._s.clock.run_native(native, self._frames_due() if self._bridge_busy else 0)
        else:
            if self._source is not None:
                self._pump_mic()
            if self._bridge_busy:
                self._tick_bridge()
            if sink is not None and sink.io is not None:
                self._pump_speaker(sink)
        if self._ring_sink is not None:
            self._pump_ringer()
        if house_due:
            self._on_housekeeping()
        elif self._levels_on and self._pump_count % _LEVELS_EVERY == 0:
            self._emit_levels()

    def _frames_due(self) -> int:
        """Bridge frames to run now: one per 20 ms of wall time since the call began. A late
        pump catches up (up to MAX_CATCHUP frames at once); a longer stall drops the backlog."""
        now = time.monotonic()
        frame_s = pcm.FRAME_MS / 1000
        due = min(MAX_CATCHUP, int((now - self._next_tick) / frame_s) + 1) if now >= self._next_tick else 0
        self._next_tick += due * frame_s
        if now - self._next_tick > frame_s:
            self._s.late_ticks += int((now - self._next_tick) / frame_s)
            self._next_tick = now + frame_s
        return due

    def _tick_bridge(self) -> None:
        """Clock the conference bridge (the Python pump): the agent's voice in and what the
        agent hears out."""
        s = self._s
        due = self._frames_due()
        if due:
            s._mic_requested_at = time.monotonic()
            s.clock.tick_many(due, s.mic, s.speaker)  # type: ignore[arg-type]

    def _watch_sink(self, sink: _Stream) -> None:
        """The speaker's state, every pump (both pumps): starved or failed."""
        native = self._s.native
        if native is not None:  # an int through ctypes, converted only when not active
            state_value = native.sink_state()
            if state_value != _ACTIVE_VALUE:
                self._check_sink(sink, QAudio.State(state_value))
        else:
            state = sink.qobj.state()
            if state != _ACTIVE:
                self._check_sink(sink, state)
        if sink.idle_since is not None and self._s.speaker.last_write > sink.idle_since + 0.001:
            # The device starved while the call kept sending audio: a real underrun
            # (at the end of a call every device runs dry, and that is not one).
            self._s.speaker_underruns += 1
            sink.idle_since = None

    def _pump_speaker(self, sink: _Stream) -> None:
        """Top the device buffer up from the ring (the Python pump). Every Qt call costs
        ~5-20 µs from Python, so per 20 ms this makes three (state, bytesFree, write)."""
        ring = self._s.speaker
        assert isinstance(ring, FrameRing)
        now = time.monotonic()
        if not sink.primed:
            if ring.available() < ring.prime:
                return
            sink.primed = True
        free = sink.qobj.bytesFree()
        free -= free % 2
        data = ring.read_upto(free) if free > 0 else b""
        if data:
            written = sink.io.write(QByteArray(data))
            if 0 <= written < len(data):  # the device took less: keep the rest, in order
                ring.unread(data[written:])
            if self._levels_on:
                self._spk_acc.append(data)
        if not sink.started:
            if sink.qobj.processedUSecs() == 0:
                # The device has not started playing yet (PulseAudio needs up to ~0.5 s):
                # keep only the jitter reserve; this is start-up, not a glitch.
                ring.trim_to(ring.prime, count=False)
                return
            sink.started = True
        if ring.available() > RING_HIGH_MS * self._s.ms:
            if sink.high_since is None:
                sink.high_since = now
            elif now - sink.high_since > TRIM_AFTER_S:
                ring.trim_to(RING_LOW_MS * self._s.ms)
                sink.high_since = None
        else:
            sink.high_since = None

    @Slot()
    def _on_housekeeping(self) -> None:
        self._house_asap = False
        now = time.monotonic()
        s = self._s
        busy = s.clock.bridge_busy()
        if busy != self._bridge_busy:
            self._bridge_busy = busy
            self._update_pump()
        # A busy bridge opens the devices at once (not one housekeeping later, once the pump has
        # asked for the agent's voice): the customer hears the agent sooner after the answer.
        in_use = (busy or now - s.speaker.last_write < IDLE_CLOSE_S
                  or now - s.mic_requested_at < IDLE_CLOSE_S)
        if in_use and not s.streams_open:
            self._open_call_streams()
        elif not in_use and s.streams_open:
            log.info("call audio idle: closing the devices")
            self._close_call_streams()
            self._publish_snapshot()
        self._emit_levels()

    def _emit_levels(self) -> None:
        self._levels_on = self._levels_wanted()
        native = self._s.native
        if native is not None:  # the C pump copies the audio it moves while the meters are shown
            native.set_taps(self._levels_on)
            if self._levels_on:
                for acc, data in zip((self._mic_acc, self._spk_acc), native.take_taps(), strict=True):
                    if data:
                        acc.append(data)
        if not self._levels_on:
            self._mic_acc.clear()
            self._spk_acc.clear()
            return
        if not self._mic_acc and not self._spk_acc:
            if self._levels_zeroed:
                return
            self._levels_zeroed = True
        else:
            self._levels_zeroed = False
        mic_rms, mic_peak = pcm.levels(b"".join(self._mic_acc))
        spk_rms, spk_peak = pcm.levels(b"".join(self._spk_acc))
        self._mic_acc.clear()
        self._spk_acc.clear()
        self.levels.emit(AudioLevels(mic_rms, mic_peak, spk_rms, spk_peak))

    # ---- ringer --------------------------------------------------------------------
    def _load_ringtone(self) -> None:
        path = self._prefs.ringtone_path
        if path:
            try:
                self._ring_data = pcm.load_wav_mono(path, self._s.rate)
            except (OSError, ValueError, EOFError) as exc:  # a bad file must not silence the phone
                log.warning("ringtone %s unusable (%s); using the built-in tone", path, exc)
                self._ring_data = b""
        if not path or not self._ring_data:
            self._ring_data = pcm.ring_pattern(self._s.rate)

    def _open_ringer(self) -> None:
        device = self._choose(Role.RINGER)
        if device is None:
            log.warning("no ringer device: incoming calls ring silently")
            return
        sink = QAudioSink(device, self._fmt, self)
        sink.setBufferSize(self._s.frame_len * 10)
        self._ring_sink = _Stream(device, sink, sink.start())
        self._ring_sink.primed = True
        self._update_pump()

    def _stop_ringer_stream(self) -> None:
        if self._ring_sink is not None:
            self._ring_sink.close()
            self._ring_sink = None
            self._update_pump()

    def _pump_ringer(self) -> None:
        rs = self._ring_sink
        if rs is None or rs.io is None or not self._ring_data:
            return
        free = rs.qobj.bytesFree()
        free -= free % 2
        while free > 0:
            chunk = self._ring_data[self._ring_pos:self._ring_pos + free]
            rs.io.write(QByteArray(chunk))
            free -= len(chunk)
            self._ring_pos = (self._ring_pos + len(chunk)) % len(self._ring_data)


# libpulse's per-stream latency override, read when a stream connects. Kept in the environment
# from import on (a value libpulse ignores, unless the user set one: theirs wins), so that
# _pulse_latency only swaps a value: putenv on an existing name never reallocates the
# environment array under another thread's getenv.
_LATENCY_ENV = "PULSE_LATENCY_MSEC"
# (pipewire-pulse reads PIPEWIRE_LATENCY only when PULSE_LATENCY_MSEC is unset: leave both alone.)
_USER_LATENCY = os.environ.get(_LATENCY_ENV) or os.environ.get("PIPEWIRE_LATENCY")
if _USER_LATENCY is None:
    os.environ[_LATENCY_ENV] = "0"  # libpulse: "ms <= 0" -> ignored


@contextlib.contextmanager
def _pulse_latency(ms: int):  # type: ignore[no-untyped-def]
    """Streams connected inside ask PulseAudio for ``ms`` fragments (sources) / target length
    (sinks: not used for them, it would shrink the sink's request size and wake Qt more)."""
    if _USER_LATENCY is not None:
        yield
        return
    os.environ[_LATENCY_ENV] = str(ms)
    try:
        yield
    finally:
        os.environ[_LATENCY_ENV] = "0"


# Private prototypes (ctypes.pythonapi's shared attributes stay untouched); PYFUNCTYPE keeps
# the GIL held across the call, as these two functions require.
_py_gil_ensure = ctypes.PYFUNCTYPE(ctypes.c_int)(("PyGILState_Ensure", ctypes.pythonapi))
_py_gil_release = ctypes.PYFUNCTYPE(None, ctypes.c_int)(("PyGILState_Release", ctypes.pythonapi))


def _levels_listener(engine: AudioEngine) -> Callable[[], bool]:
    """Whether anything is connected to ``engine.levelsChanged``; called on the audio thread
    (QObject::isSignalConnected is thread-safe). A weak reference: the worker must not keep
    the engine alive (a cycle would leave its deletion to whichever thread collects it)."""
    signal = QMetaMethod.fromSignal(engine.levelsChanged)
    ref = weakref.ref(engine)

    def connected() -> bool:
        target = ref()
        try:
            return target is not None and target.isSignalConnected(signal)
        except RuntimeError:  # the C++ object is gone (shutting down)
            return False
    return connected


def _raw_id(dev: QAudioDevice | None) -> bytes | None:
    return bytes(dev.id().data()) if dev is not None else None


def _id(dev: QAudioDevice) -> str:
    return bytes(dev.id().data()).decode("utf-8", "replace")


def _name(dev: QAudioDevice | None) -> str | None:
    return dev.description() if dev is not None else None


class AudioEngine(QObject):
    """The agent's audio devices, for app/ services (create on the GUI thread).

    Gives the SIP engine its ``audio_factory`` (:meth:`agent_audio_factory`) and
    the UI device lists, choices, level meters and counters, as Qt signals.
    """

    levelsChanged = Signal(object)  # AudioLevels, ~6 Hz while a call has audio (only computed if connected)
    devicesChanged = Signal(object)  # DeviceSnapshot, on hot-plug or a new choice

    _cmd_prefs = Signal(object)
    _cmd_ringing = Signal(bool)
    _cmd_nudge = Signal()
    _cmd_shutdown = Signal()

    def __init__(self, store: PreferenceStore | None = None, prefs: DevicePreferences | None = None,
                 clock_rate: int = DEFAULT_CLOCK_RATE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock_rate = clock_rate
        self._store = store
        self._prefs = prefs if prefs is not None else (store.load() if store else DevicePreferences())
        self._shared = _Shared(clock_rate)
        self._snapshot = DeviceSnapshot()
        self._lock = threading.Lock()
        self._thread = QThread()
        self._thread.setObjectName("seatmate-audio")
        self._worker = _AudioWorker(self._shared, self._prefs, _levels_listener(self))
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.start)
        q = Qt.ConnectionType.QueuedConnection
        self._cmd_prefs.connect(self._worker.set_preferences, q)
        self._cmd_ringing.connect(self._worker.set_ringing, q)
        self._cmd_nudge.connect(self._worker.nudge, q)
        self._cmd_shutdown.connect(self._worker.shutdown, q)
        self._worker.levels.connect(self.levelsChanged, q)
        self._worker.devices.connect(self._on_snapshot, q)
        self._closed = False
        self._thread.start()

    # ---- for the SIP engine ----------------------------------------------------------
    def agent_audio_factory(self):  # -> softphone.audio_api.AudioFactory
        """``audio_factory`` for the engine: builds the pjsua2 port on the SIP thread."""
        return lambda endpoint: QtAgentAudio(self, endpoint)

    def set_ringing(self, on: bool) -> None:
        """Any thread."""
        self._cmd_ringing.emit(on)

    def nudge(self) -> None:
        """Any thread: a call's media may have entered or left the bridge; look now."""
        self._cmd_nudge.emit()

    # ---- for app/ services -----------------------------------------------------------
    def preferences(self) -> DevicePreferences:
        return self._prefs

    def set_preferences(self, prefs: DevicePreferences) -> None:
        self._prefs = prefs
        if self._store is not None:
            try:
                self._store.save(prefs)
            except OSError as exc:  # the choice still applies for this session
                log.warning("could not save audio preferences: %s", exc)
        self._cmd_prefs.emit(prefs)

    def prefer(self, role: Role, name: str) -> None:
        """The agent chose ``name`` for ``role`` (it goes to the top of that list)."""
        self.set_preferences(self._prefs.prefer(role, name))

    def snapshot(self) -> DeviceSnapshot:
        return self._snapshot

    def stats(self) -> AudioStats:
        s = self._shared
        return AudioStats(
            speaker_underruns=s.speaker_underruns,
            speaker_overruns=s.speaker.overruns,
            mic_underruns=s.mic.underruns,
            mic_overruns=s.mic.overruns,
            device_switches=s.device_switches,
            late_ticks=s.late_ticks,
            streams_open=s.streams_open,
            mic_bytes=s.mic_bytes,
            native_pump=s.native is not None,
        )

    def close(self, timeout_ms: int = 3000) -> None:
        """Stop the audio thread (after the engine closed its QtAgentAudio)."""
        if self._closed:
            return
        self._closed = True
        self._cmd_shutdown.emit()
        if not self._thread.wait(timeout_ms):
            log.error("audio thread did not stop in %d ms", timeout_ms)

    @Slot(object)
    def _on_snapshot(self, snap: DeviceSnapshot) -> None:
        self._snapshot = snap
        self.devicesChanged.emit(snap)
