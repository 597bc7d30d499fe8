"""The call-audio pump in C (pump.c), when it is built: one call per pump instead of Python per frame.

In a call the audio thread pumps every 80 ms: the microphone's bytes into a ring, four bridge
frames through pjmedia, the speaker topped up. In Python that was ~380 µs of thread CPU a pump,
two thirds of it the interpreter and the bindings (perf, issue #16); ``seat_pump_run`` does the
same steps with FrameRing's rules (ring.py) in one ctypes call that releases the GIL.

Built by ``pip install`` (setup.py, an optional extension: a machine without a C compiler gets
none) and bundled by the installer. It calls Qt's non-virtual ``QIODevice::read``/``write`` and
``QAudioSink::bytesFree``/``processedUSecs`` through their exported symbols, found here in the Qt
libraries PySide6 has already loaded; so it is used on Linux only (the Itanium C++ ABI; Qt keeps
those symbols for all of Qt 6). Elsewhere, if a symbol or the library is missing, or with
``SEATMATE_AUDIO_PUMP=python``, the audio thread keeps the Python pump (qt_bridge.py) and logs why.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PUMP_ENV = "SEATMATE_AUDIO_PUMP"  # "python": the Python pump even where the C one is built

# Qt 6 (libQt6Core / libQt6Multimedia), Itanium-mangled: name -> what the C side calls it.
_QT_CORE = "libQt6Core.so.6"
_QT_MULTIMEDIA = "libQt6Multimedia.so.6"
_IO_READ = "_ZN9QIODevice4readEPcx"  # qint64 QIODevice::read(char *, qint64)
_IO_WRITE = "_ZN9QIODevice5writeEPKcx"  # qint64 QIODevice::write(const char *, qint64)
_SINK_BYTES_FREE = "_ZNK10QAudioSink9bytesFreeEv"  # qsizetype QAudioSink::bytesFree() const
_SINK_PROCESSED = "_ZNK10QAudioSink14processedUSecsEv"  # qint64 QAudioSink::processedUSecs() const
_SINK_STATE = "_ZNK10QAudioSink5stateEv"  # QtAudio::State QAudioSink::state() const


class _Ring(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("cap", ctypes.c_int32), ("len", ctypes.c_int32), ("prime", ctypes.c_int32), ("primed", ctypes.c_int32),
        ("overruns", ctypes.c_int32), ("underruns", ctypes.c_int32), ("count_underruns", ctypes.c_int32),
        ("last_write", ctypes.c_double),
    ]


class _Pump(ctypes.Structure):
    """``seat_pump`` in pump.c, field for field."""

    _fields_ = [
        ("mic", _Ring), ("speaker", _Ring), ("mic_tap", _Ring), ("speaker_tap", _Ring),
        ("taps_on", ctypes.c_int32),
        ("source_io", ctypes.c_void_p), ("sink", ctypes.c_void_p), ("sink_io", ctypes.c_void_p),
        ("port", ctypes.c_void_p),
        ("io_read", ctypes.c_void_p), ("io_write", ctypes.c_void_p),
        ("sink_bytes_free", ctypes.c_void_p), ("sink_processed_usecs", ctypes.c_void_p),
        ("put_frame", ctypes.c_void_p), ("get_frame", ctypes.c_void_p),
        ("frame_bytes", ctypes.c_int32),
        ("frame_in", ctypes.c_void_p), ("frame_out", ctypes.c_void_p),
        ("scratch", ctypes.c_void_p), ("scratch_bytes", ctypes.c_int32),
        ("mic_requested_at", ctypes.c_double), ("mic_listen_s", ctypes.c_double),
        ("mic_bytes", ctypes.c_int64), ("source_delivered", ctypes.c_int64), ("steady_after", ctypes.c_int64),
        ("speaker_primed", ctypes.c_int32), ("speaker_started", ctypes.c_int32),
        ("speaker_high_since", ctypes.c_double),
        ("ring_high", ctypes.c_int32), ("ring_low", ctypes.c_int32), ("trim_after_s", ctypes.c_double),
        ("failures", ctypes.c_int32),
        ("ioqueue", ctypes.c_void_p), ("ioqueue_poll", ctypes.c_void_p),
    ]


class NativeRing:
    """FrameRing's face (counters, ``clear``) for code outside the pump; the audio moves in C."""

    def __init__(self, ring: _Ring) -> None:
        self._r = ring  # a view into the pump's struct

    @property
    def prime(self) -> int:
        return self._r.prime

    @property
    def overruns(self) -> int:
        return self._r.overruns

    @property
    def underruns(self) -> int:
        return self._r.underruns

    @property
    def last_write(self) -> float:
        return self._r.last_write

    @property
    def count_underruns(self) -> bool:
        return bool(self._r.count_underruns)

    @count_underruns.setter
    def count_underruns(self, on: bool) -> None:
        self._r.count_underruns = int(on)

    def available(self) -> int:
        return self._r.len

    def clear(self) -> None:
        self._r.len = 0
        self._r.primed = 0


class _Symbols:
    """The C library and every function pointer it is handed."""

    def __init__(self, lib: ctypes.CDLL, pointers: dict[str, int], sink_state: Any) -> None:
        self.run = lib.seat_pump_run
        self.run.restype = ctypes.c_int32
        self.run.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        self.pointers = pointers
        # QAudioSink::state() as an int (PySide converts the enum into a Python enum: ~30 µs).
        self.sink_state = sink_state
        self.sink_state.restype = ctypes.c_int
        self.sink_state.argtypes = [ctypes.c_void_p]


_symbols: dict[str, _Symbols | None] = {}  # by the value of PUMP_ENV (a test switches pumps)


def _library_path() -> Path | None:
    here = Path(__file__).resolve().parent
    found = sorted(here.glob("_pump*.so"))
    return found[0] if found else None


def _address(fn: Any) -> int:
    """A ctypes function's address (0: none)."""
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


def _load() -> _Symbols | None:
    if os.environ.get(PUMP_ENV, "").lower() == "python":
        log.info("audio pump: Python (%s=python)", PUMP_ENV)
        return None
    if not sys.platform.startswith("linux"):
        log.info("audio pump: Python (the C pump is built for Linux only)")
        return None
    path = _library_path()
    if path is None:
        log.warning("audio pump: Python (the C pump was not built: softphone/audio/_pump*.so is missing; "
                    "a C compiler at install time builds it); calls cost more CPU")
        return None
    from softphone.audio.master_port import MasterPortUnavailable, _pj

    try:
        lib = ctypes.CDLL(str(path))
        # Loaded with PySide6's modules (from its own folder, not on the library path): dlopen
        # by soname then returns that copy.
        import PySide6.QtMultimedia  # noqa: F401

        core, multimedia = ctypes.CDLL(_QT_CORE), ctypes.CDLL(_QT_MULTIMEDIA)
        pj = _pj()
        pointers = {
            "io_read": _address(getattr(core, _IO_READ)),
            "io_write": _address(getattr(core, _IO_WRITE)),
            "sink_bytes_free": _address(getattr(multimedia, _SINK_BYTES_FREE)),
            "sink_processed_usecs": _address(getattr(multimedia, _SINK_PROCESSED)),
            "put_frame": _address(pj.put_frame),
            "get_frame": _address(pj.get_frame),
            "ioqueue_poll": _address(pj.ioqueue_poll),
        }
        symbols = _Symbols(lib, pointers, getattr(multimedia, _SINK_STATE))
    except (OSError, AttributeError, MasterPortUnavailable) as exc:
        log.warning("audio pump: Python (the C pump cannot be used: %s); calls cost more CPU", exc)
        return None
    if not all(pointers.values()):
        log.warning("audio pump: Python (missing: %s)", ", ".join(k for k, v in pointers.items() if not v))
        return None
    log.info("audio pump: C (%s)", path.name)
    return symbols


def symbols() -> _Symbols | None:
    """The C pump's symbols, or None: use the Python pump (logged once, with the reason)."""
    choice = os.environ.get(PUMP_ENV, "")
    if choice not in _symbols:
        _symbols[choice] = _load()
    return _symbols[choice]


def _cpp_pointer(obj: Any) -> int:
    import shiboken6

    return int(shiboken6.getCppPointer(obj)[0])


class NativePump:
    """One ``seat_pump``: the rings, the current devices and the counters. Audio thread only,
    except the read-only counters."""

    def __init__(self, syms: _Symbols, *, frame_bytes: int, mic_capacity: int, mic_prime: int,
                 speaker_capacity: int, speaker_prime: int, tap_capacity: int, ring_high: int,
                 ring_low: int, trim_after_s: float, steady_after: int, listen_s: float) -> None:
        self._run = syms.run
        self._sink_state = syms.sink_state
        self._buffers: list[ctypes.Array[ctypes.c_char]] = []  # kept alive as long as the struct
        p = self._p = _Pump()
        self._ref = ctypes.addressof(p)
        for name, value in syms.pointers.items():
            setattr(p, name, value)
        self._ring(p.mic, mic_capacity, mic_prime)
        self._ring(p.speaker, speaker_capacity, speaker_prime)
        self._ring(p.mic_tap, tap_capacity, 0)
        self._ring(p.speaker_tap, tap_capacity, 0)
        p.frame_bytes = frame_bytes
        p.frame_in = self._buffer(frame_bytes)
        p.frame_out = self._buffer(frame_bytes)
        p.scratch_bytes = 4096
        p.scratch = self._buffer(p.scratch_bytes)
        p.mic_listen_s = listen_s
        p.steady_after = steady_after
        p.ring_high, p.ring_low, p.trim_after_s = ring_high, ring_low, trim_after_s
        p.mic.count_underruns = p.speaker.count_underruns = 1
        self.mic = NativeRing(p.mic)
        self.speaker = NativeRing(p.speaker)

    def _buffer(self, size: int) -> int:
        buf = ctypes.create_string_buffer(size)
        self._buffers.append(buf)
        return ctypes.addressof(buf)

    def _ring(self, ring: _Ring, capacity: int, prime: int) -> None:
        ring.buf = self._buffer(capacity)
        ring.cap, ring.prime = capacity, prime

    # ---- devices (audio thread, as streams open and close) -------------------------------
    def set_source(self, io: Any | None) -> None:
        self._p.source_io = _cpp_pointer(io) if io is not None else None
        self._p.source_delivered = 0

    def set_sink(self, sink: Any | None, io: Any | None) -> None:
        p = self._p
        if sink is None or io is None:
            p.sink = p.sink_io = None
        else:
            p.sink, p.sink_io = _cpp_pointer(sink), _cpp_pointer(io)
        p.speaker_primed = p.speaker_started = 0
        p.speaker_high_since = 0.0

    def unprime_speaker(self) -> None:
        """The speaker starved: keep the jitter reserve again before it plays."""
        self._p.speaker_primed = 0

    # ---- the pump (audio thread, master port lock held) ---------------------------------
    def run(self, frames: int, port: int | None, ioqueue: int | None) -> int:
        """The media sockets polled (``ioqueue``, None: not), microphone in, ``frames`` bridge
        frames (0 or no port: none), speaker out. Returns pjmedia's refusals so far."""
        p = self._p
        p.port, p.ioqueue = port, ioqueue
        return self._run(self._ref, frames)

    # ---- level meters -------------------------------------------------------------------
    def set_taps(self, on: bool) -> None:
        self._p.taps_on = int(on)
        if not on:
            self._p.mic_tap.len = self._p.speaker_tap.len = 0

    def take_taps(self) -> tuple[bytes, bytes]:
        """What the microphone and the speaker carried since the last take."""
        out = []
        for ring in (self._p.mic_tap, self._p.speaker_tap):
            out.append(ctypes.string_at(ring.buf, ring.len))
            ring.len = 0
        return out[0], out[1]

    # ---- counters (any thread) ----------------------------------------------------------
    @property
    def mic_bytes(self) -> int:
        return self._p.mic_bytes

    @property
    def mic_requested_at(self) -> float:
        return self._p.mic_requested_at

    def sink_state(self) -> int:
        """The speaker's QtAudio::State value now (audio thread; ActiveState without a speaker)."""
        sink = self._p.sink
        return self._sink_state(sink) if sink else 0
