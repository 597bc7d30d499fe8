"""Plays a streamed call recording through ``QAudioSink`` (Qt Multimedia's plain PCM output, the
one the softphone's Qt audio uses), without ``QMediaPlayer``.

Why not QMediaPlayer: its only Linux backend in PySide6's wheel is FFmpeg, which brings
libavcodec/avformat (~20 MB) and, through the plugin, Qt Quick and QML (~15 MB) into the frozen
app, for recordings that are already 16-bit PCM (core.wav). Here the player reads the samples
from :class:`~app.supervisor.recording_stream.RecordingStream` (the Range-request cache, with the
channel gains applied) and writes them to the sink in push mode from a GUI-thread timer: the
stream never blocks (a missing range is asked for and the next tick tries again), so the GUI
never waits for the network. Position, seek and speed are the player's own:

- position: the input offset of the last byte the sink has taken (what was written minus what
  is still in Qt's buffer), mapped back through the grains written (below);
- seek, a volume change (``reread``) and a speed change drop what the sink buffered and start
  again from the position (the stream serves it from its cache when it has it);
- speed (0.75–2×) keeps the pitch: :class:`TimeStretch` plays 30 ms grains taken every
  30 ms × rate of the recording and cross-fades each join over 5 ms (overlap-add without
  WSOLA's similarity search: cheap — ~20 µs of Python per grain — and speech stays clear, with
  a slight roughness at 2×; playing the samples at twice their rate would be free but sounds an
  octave up).

With no sound device (a server, the tests' offscreen runs) the player consumes on the clock
instead, so position and seek behave as they would with sound, as QMediaPlayer did.
"""

from __future__ import annotations

import array
import logging
import sys
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.supervisor.recording_stream import RecordingStream
from core import wav

log = logging.getLogger(__name__)

TICK_MS = 20  # the pump: tops the sink up this often
BUFFER_S = 0.4  # what the sink holds: the GUI thread may stall this long without a gap
CHUNK_S = 0.1  # at 1×, samples are copied in pieces of at most this much
POSITION_EVERY_S = 0.1  # position_changed at most this often while playing
GRAIN_S = 0.030
FADE_S = 0.005
_BIG_ENDIAN = sys.byteorder == "big"


class TimeStretch:
    """Speech at ``rate``× with its pitch kept: grains of ``grain`` frames read every
    ``grain × rate`` frames of the input, each join cross-faded over ``fade`` frames with what
    would have followed the previous grain (so a join is a blend of two natural continuations,
    never a click). Samples: interleaved int16, native order (``array('h')``)."""

    def __init__(self, rate: float, sample_rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self.grain = max(8, int(GRAIN_S * sample_rate))
        self.fade = max(2, int(FADE_S * sample_rate))
        self.advance = max(1, round(self.grain * rate))  # input frames per grain
        self._tail: array.array | None = None
        self._weights = [(i + 0.5) / self.fade for i in range(self.fade)]

    def reset(self) -> None:
        self._tail = None

    @property
    def input_frames(self) -> int:
        """Frames one grain reads: the grain and the continuation kept for the next join."""
        return self.grain + self.fade

    def grain_from(self, samples: array.array) -> array.array:
        """The next output grain from ``samples`` (the input from this grain's start; fewer than
        :attr:`input_frames` frames at the end of the recording)."""
        ch = self.channels
        n = min(len(samples) // ch, self.grain) * ch
        out = samples[:n]
        tail = self._tail
        if tail is not None:
            m = min(len(tail), n) // ch
            for i in range(m):  # bounded: fade frames
                w = self._weights[i]
                for c in range(ch):
                    k = i * ch + c
                    out[k] = round(tail[k] * (1.0 - w) + out[k] * w)
        self._tail = samples[n:n + self.fade * ch] if len(samples) > n else None
        return out


class RecordingPlayer(QObject):
    """Plays a :class:`RecordingStream` (GUI thread only). Signals: ``position_changed``
    (seconds into the recording), ``playing_changed``."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stream: RecordingStream | None = None
        self.rate = 1.0
        self._playing = False
        self._pos_s = 0.0
        self._sink: Any = None  # QAudioSink, made on the first play
        self._io: Any = None
        self._clock_mode = False  # no sound device: consume on the clock
        self._started = 0.0  # monotonic time of the last (re)start (clock mode)
        self._read_at = 0  # file offset of the next input to read
        self._written = 0  # output bytes written since the last (re)start
        self._marks: deque[tuple[int, int, int, int]] = deque()  # (out end, out len, in start, in len)
        self._ended = False  # the stream has no more samples after _read_at
        self._stretch: TimeStretch | None = None
        self._last_emit = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._pump)

    # -- the controls ----------------------------------------------------------------------------
    def load(self, stream: RecordingStream | None) -> None:
        """Play ``stream`` from its start (None: nothing); stops what was playing."""
        self._halt()
        self.stream = stream
        self._pos_s = 0.0
        self._clock_mode = False  # a sound device plugged in since the last one: try it again
        self._set_playing(False)

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def position(self) -> float:
        if not self._playing:
            return self._pos_s
        return self._live_position()

    def play(self) -> None:
        if self.stream is None or self.stream.fmt is None or self._playing:
            return
        fmt = self.stream.fmt
        if self._pos_s >= fmt.duration_s - 0.05:
            self._pos_s = 0.0  # played to the end: play again from the start
        self._set_playing(True)
        self._restart()

    def pause(self) -> None:
        if self._playing:
            self._pos_s = self._live_position()
            self._halt()
            self._set_playing(False)
            self.position_changed.emit(self._pos_s)

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def seek(self, seconds: float) -> None:
        duration = self.stream.duration_s if self.stream is not None else 0.0
        self._pos_s = max(0.0, min(float(seconds), duration)) if duration else max(0.0, float(seconds))
        if self._playing:
            self._restart()
        self.position_changed.emit(self._pos_s)

    def reread(self) -> None:
        """Drop what the sink buffered and read again from here (a volume change heard at once)."""
        if self._playing:
            self._pos_s = self._live_position()
            self._restart()

    def set_rate(self, rate: float) -> None:
        rate = max(0.5, min(2.0, float(rate)))
        if rate == self.rate:
            return
        if self._playing:
            self._pos_s = self._live_position()
        self.rate = rate
        if self._playing:
            self._restart()

    def stop(self) -> None:
        self.pause()

    def shutdown(self) -> None:
        """Let the sound device go (the window closes)."""
        self._halt()
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.deleteLater()

    # -- the machinery ---------------------------------------------------------------------------
    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playing_changed.emit(playing)

    def _halt(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
        self._io = None

    def _restart(self) -> None:
        """Start writing at ``_pos_s``: whatever the sink held is dropped."""
        stream = self.stream
        assert stream is not None and stream.fmt is not None
        fmt = stream.fmt
        self._halt()
        frame = int(self._pos_s * fmt.rate)
        self._read_at = min(fmt.data_end, fmt.data_start + frame * fmt.frame_bytes)
        self._written = 0
        self._marks.clear()
        self._ended = False
        self._stretch = TimeStretch(self.rate, fmt.rate, fmt.channels) if self.rate != 1.0 else None
        self._open_sink(fmt)
        self._started = time.monotonic()
        self._last_emit = 0.0
        self._timer.start()
        self._pump()

    def _open_sink(self, fmt: wav.WavFormat) -> None:
        from PySide6 import QtMultimedia
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

        # Qt 6.7 renamed QAudio to QtAudio; the old name's enums no longer compare equal.
        no_error = (getattr(QtMultimedia, "QtAudio", None) or QtMultimedia.QAudio).Error.NoError

        if self._sink is not None and (self._sink.format().sampleRate() != fmt.rate
                                       or self._sink.format().channelCount() != fmt.channels):
            self._sink.deleteLater()
            self._sink = None
        if self._sink is None and not self._clock_mode:
            device = QMediaDevices.defaultAudioOutput()
            qfmt = QAudioFormat()
            qfmt.setSampleRate(fmt.rate)
            qfmt.setChannelCount(fmt.channels)
            qfmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
            if device.isNull() or not device.isFormatSupported(qfmt):
                log.info("no sound output for %d Hz x %d: the recording plays silently on the clock",
                         fmt.rate, fmt.channels)
                self._clock_mode = True
                return
            self._sink = QAudioSink(device, qfmt, self)
            self._sink.setBufferSize(int(BUFFER_S * fmt.rate) * fmt.frame_bytes)
        if self._sink is not None:
            self._io = self._sink.start()
            if self._io is None or self._sink.error() != no_error:
                log.info("the sound output did not start (%s): the recording plays silently on the clock",
                         self._sink.error())
                self._sink.deleteLater()
                self._sink = None
                self._io = None
                self._clock_mode = True

    def _out_bps(self) -> int:
        fmt = self.stream.fmt if self.stream is not None else None
        return fmt.rate * fmt.frame_bytes if fmt is not None else 1

    def _queued(self) -> int:
        """Output bytes written but not yet taken by the sound device."""
        if self._io is not None and self._sink is not None:
            return max(0, self._sink.bufferSize() - self._sink.bytesFree())
        consumed = int((time.monotonic() - self._started) * self._out_bps())
        return max(0, self._written - consumed)

    def _free(self) -> int:
        if self._io is not None and self._sink is not None:
            return self._sink.bytesFree()
        fmt = self.stream.fmt if self.stream is not None else None
        if fmt is None:
            return 0
        # On the clock: keep BUFFER_S written ahead of what the clock has consumed.
        return max(0, int(BUFFER_S * fmt.rate) * fmt.frame_bytes - self._queued())

    def _live_position(self) -> float:
        stream = self.stream
        if stream is None or stream.fmt is None:
            return self._pos_s
        fmt = stream.fmt
        played = self._written - self._queued()  # output bytes the device has taken
        offset = self._read_at if not self._marks else self._marks[0][2]
        for out_end, out_len, in_start, in_len in self._marks:  # bounded: BUFFER_S of grains
            if played <= out_end:
                done = max(0, played - (out_end - out_len))
                offset = in_start + (in_len * done // out_len if out_len else 0)
                break
            offset = in_start + in_len
        frames = (offset - fmt.data_start) / fmt.frame_bytes
        return max(0.0, min(fmt.duration_s, frames / fmt.rate))

    def _pump(self) -> None:
        stream = self.stream
        if stream is None or stream.fmt is None or not self._playing:
            self._halt()
            return
        if stream.error is not None:  # the range never came (or was refused): the UI says why
            self.pause()
            return
        fmt = stream.fmt
        fb = fmt.frame_bytes
        if self._io is None and self._queued() == 0:
            # On the clock and nothing left to play (the range is late): the clock waits too,
            # so what arrives next plays at its pace instead of being skipped through.
            self._started = time.monotonic() - self._written / self._out_bps()
        free = self._free() // fb * fb
        for _ in range(64):  # bounded: one tick writes at most the buffer
            if free < fb or self._ended:
                break
            wrote = self._write_some(stream, fmt, free)
            if wrote is None:
                break  # the range is on its way (the stream asked for it): next tick
            free -= wrote
        played = self._written - self._queued()
        self._forget_marks(played)
        now = time.monotonic()
        if self._ended and self._queued() == 0:  # played to the end
            self._pos_s = fmt.duration_s
            self._halt()
            self._set_playing(False)
            self.position_changed.emit(self._pos_s)
            return
        if now - self._last_emit >= POSITION_EVERY_S:
            self._last_emit = now
            self.position_changed.emit(self._live_position())

    def _write_some(self, stream: RecordingStream, fmt: wav.WavFormat, free: int) -> int | None:
        """Write up to ``free`` output bytes from ``_read_at``; the bytes written, or None when
        the stream has not got them yet."""
        fb = fmt.frame_bytes
        stretch = self._stretch
        if stretch is None:
            want = min(free, max(fb, int(CHUNK_S * fmt.rate) * fb))
            data = stream.read_pcm(self._read_at, want)
            if data is None:
                return None
            data = data[: len(data) // fb * fb]
            if not data:
                self._ended = True
                return 0
            self._emit(data, self._read_at, len(data))
            self._read_at += len(data)
            return len(data)
        if free < stretch.grain * fb:
            return None  # room for a whole grain only: the next tick
        want = stretch.input_frames * fb
        data = stream.read_pcm(self._read_at, want)
        if data is None:
            return None
        if len(data) < want and self._read_at + len(data) < fmt.data_end:
            # The grain runs into a block that is still coming: make sure it was asked for.
            stream.read_pcm(self._read_at + len(data), fb)
            return None
        samples = array.array("h")
        samples.frombytes(data[: len(data) // fb * fb])
        if _BIG_ENDIAN:
            samples.byteswap()
        out = stretch.grain_from(samples)
        if not out:
            self._ended = True
            return 0
        advance = min(stretch.advance * fb, fmt.data_end - self._read_at)
        raw = out.tobytes()  # native order, as the sink takes it
        self._emit(raw, self._read_at, advance, native=True)
        self._read_at += advance
        if self._read_at >= fmt.data_end:
            self._ended = True
        return len(raw)

    def _emit(self, data: bytes, in_start: int, in_len: int, native: bool = False) -> None:
        """Write ``data`` (little-endian samples, or ``native`` order) to the sink and remember
        which input it came from."""
        if _BIG_ENDIAN and not native:
            samples = array.array("h")
            samples.frombytes(data)
            samples.byteswap()
            data = samples.tobytes()
        if self._io is not None:
            n = self._io.write(data)
            if n != len(data):  # bytesFree said there was room; a short write is dropped audio
                log.debug("sink took %d of %d bytes", n, len(data))
        self._written += len(data)
        self._marks.append((self._written, len(data), in_start, in_len))

    def _forget_marks(self, played: int) -> None:
        while len(self._marks) > 1 and self._marks[0][0] < played:  # bounded: the marks kept
            self._marks.popleft()
