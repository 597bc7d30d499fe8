"""The settings dialog's audio checks, outside any call: a live microphone level meter, a
speaker test tone and an echo test (what you say comes back a second later).

Qt Multimedia streams on the GUI thread in push/pull mode (nothing blocks: Qt
reads and writes from its own audio threads and signals ``readyRead``); 16 kHz
mono 16-bit, on the devices named as the agent chose them (the device lists'
descriptions). Each check stops the previous one of its kind.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal
from PySide6.QtMultimedia import QAudio, QAudioDevice, QAudioFormat, QAudioSink, QAudioSource, QMediaDevices

from softphone.audio import pcm

log = logging.getLogger(__name__)

RATE = 16000
BYTES_PER_S = RATE * 2


def _format() -> QAudioFormat:
    fmt = QAudioFormat()
    fmt.setSampleRate(RATE)
    fmt.setChannelCount(1)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return fmt


def find_device(name: str | None, inputs: bool) -> QAudioDevice | None:
    """The device with this description (None/absent: the system default)."""
    devices = QMediaDevices.audioInputs() if inputs else QMediaDevices.audioOutputs()
    for dev in devices:
        if name and dev.description() == name:
            return dev
    default = QMediaDevices.defaultAudioInput() if inputs else QMediaDevices.defaultAudioOutput()
    return None if default.isNull() else default


class AudioTester(QObject):
    """One microphone meter, one test tone, one echo test at a time (GUI thread)."""

    micLevel = Signal(float, float)  # rms, peak (0..1), ~10 Hz while the meter runs
    toneFinished = Signal()
    echoFinished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._meter: QAudioSource | None = None
        self._meter_io: QIODevice | None = None
        self._meter_acc = bytearray()
        self._meter_timer = QTimer(self, interval=100)
        self._meter_timer.timeout.connect(self._emit_level)
        self._tone: QAudioSink | None = None
        self._tone_buf: QBuffer | None = None
        self._echo_src: QAudioSource | None = None
        self._echo_in: QIODevice | None = None
        self._echo_sink: QAudioSink | None = None
        self._echo_out: QIODevice | None = None
        self._echo_fifo = bytearray()
        self._echo_timer = QTimer(self, interval=20)
        self._echo_timer.timeout.connect(self._pump_echo)
        self._echo_stop = QTimer(self, singleShot=True)
        self._echo_stop.timeout.connect(self.stop_echo)

    # -- microphone level meter --------------------------------------------------------
    @property
    def meter_running(self) -> bool:
        return self._meter is not None

    def start_meter(self, microphone: str | None) -> bool:
        self.stop_meter()
        dev = find_device(microphone, inputs=True)
        if dev is None:
            return False
        self._meter = QAudioSource(dev, _format(), self)
        self._meter.setBufferSize(BYTES_PER_S // 10)
        self._meter_io = self._meter.start()
        if self._meter_io is None:
            self.stop_meter()
            return False
        self._meter_io.readyRead.connect(self._read_meter)
        self._meter_timer.start()
        return True

    def _read_meter(self) -> None:
        if self._meter_io is not None:
            self._meter_acc += bytes(self._meter_io.readAll().data())

    def _emit_level(self) -> None:
        self._read_meter()
        data = bytes(self._meter_acc[-BYTES_PER_S // 5:])
        self._meter_acc.clear()
        rms, peak = pcm.levels(data) if data else (0.0, 0.0)
        self.micLevel.emit(rms, peak)

    def stop_meter(self) -> None:
        self._meter_timer.stop()
        src, self._meter, self._meter_io = self._meter, None, None
        if src is not None:
            src.stop()
            src.deleteLater()
        self._meter_acc.clear()

    # -- speaker test tone ---------------------------------------------------------------
    def play_tone(self, speaker: str | None, seconds: float = 1.5, hz: float = 440.0) -> bool:
        self.stop_tone()
        dev = find_device(speaker, inputs=False)
        if dev is None:
            return False
        self._tone_buf = QBuffer(self)
        self._tone_buf.setData(QByteArray(pcm.sine((hz,), seconds, RATE, amplitude=0.3)))
        self._tone_buf.open(QIODevice.OpenModeFlag.ReadOnly)
        self._tone = QAudioSink(dev, _format(), self)
        self._tone.stateChanged.connect(self._on_tone_state)
        self._tone.start(self._tone_buf)
        return True

    def _on_tone_state(self, state: QAudio.State) -> None:
        if state == QAudio.State.IdleState:  # played to the end
            self.stop_tone()
            self.toneFinished.emit()

    def stop_tone(self) -> None:
        sink, self._tone = self._tone, None
        if sink is not None:
            sink.stateChanged.disconnect(self._on_tone_state)
            sink.stop()
            sink.deleteLater()
        buf, self._tone_buf = self._tone_buf, None
        if buf is not None:
            buf.close()
            buf.deleteLater()

    # -- echo test -----------------------------------------------------------------------
    @property
    def echo_running(self) -> bool:
        return self._echo_src is not None

    def start_echo(self, microphone: str | None, speaker: str | None, seconds: float = 6.0,
                   delay_s: float = 1.0) -> bool:
        """Play back what the microphone hears ``delay_s`` later on the speaker, for ``seconds``."""
        self.stop_echo()
        mic, spk = find_device(microphone, inputs=True), find_device(speaker, inputs=False)
        if mic is None or spk is None:
            return False
        self._echo_fifo = bytearray(int(delay_s * RATE) * 2)  # the delay: silence first
        self._echo_src = QAudioSource(mic, _format(), self)
        self._echo_sink = QAudioSink(spk, _format(), self)
        self._echo_sink.setBufferSize(BYTES_PER_S // 5)
        self._echo_in = self._echo_src.start()
        self._echo_out = self._echo_sink.start()
        if self._echo_in is None or self._echo_out is None:
            self.stop_echo()
            return False
        self._echo_timer.start()
        self._echo_stop.start(int(seconds * 1000))
        return True

    def _pump_echo(self) -> None:
        if self._echo_in is None or self._echo_out is None or self._echo_sink is None:
            return
        self._echo_fifo += bytes(self._echo_in.readAll().data())
        free = self._echo_sink.bytesFree()
        n = min(free - free % 2, len(self._echo_fifo))
        if n > 0:
            written = self._echo_out.write(bytes(self._echo_fifo[:n]))
            if written > 0:
                del self._echo_fifo[:written]

    def stop_echo(self) -> None:
        running = self._echo_src is not None
        self._echo_timer.stop()
        self._echo_stop.stop()
        for obj in (self._echo_src, self._echo_sink):
            if obj is not None:
                obj.stop()
                obj.deleteLater()
        self._echo_src = self._echo_sink = None
        self._echo_in = self._echo_out = None
        self._echo_fifo = bytearray()
        if running:
            self.echoFinished.emit()

    def stop_all(self) -> None:
        self.stop_meter()
        self.stop_tone()
        self.stop_echo()


def device_names(inputs: bool) -> list[str]:
    devices: Any = QMediaDevices.audioInputs() if inputs else QMediaDevices.audioOutputs()
    return [d.description() for d in devices]
