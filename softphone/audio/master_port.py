"""The conference bridge's master port, clocked by the audio thread itself.

Why: with pjsua's null sound device a pjmedia clock thread ticks the bridge
every 20 ms and hands each frame to Python through a SWIG director
(``AudioMediaPort.onFrameRequested/onFrameReceived``); the audio thread then
wakes up separately to move those frames to the Qt devices. Two threads wake
50 times a second, two director calls build proxy objects per frame, and the
frames cross a locked ring. Measured in the softphone benchmark this was ~1.5
points of a core in the clock thread alone.

``pjsua_set_no_snd_dev()`` detaches the bridge from any sound device and
returns its master port (conference slot 0, the "sound device" slot). The
audio thread that already wakes to serve the Qt devices then drives the bridge
directly: ``pjmedia_port_put_frame`` (the agent's voice into slot 0) and
``pjmedia_port_get_frame`` (the mix the agent hears out of slot 0), two plain C
calls through ctypes that release the GIL while pjmedia mixes. pjsua's own
samples (pjsua_app's ``--no-snd`` / ``pjsua_set_no_snd_dev``) use this to
plug in foreign sound devices.

Rules:
- ``attach``/``detach`` run on the SIP thread (they change pjsua's sound
  state); ``tick_many`` runs on the audio thread.
- The port pointer dies with ``libDestroy``: ``detach`` takes the same lock as
  ``tick_many``, so once it returns no tick is inside pjmedia and none will start.
- A thread calling into pjlib must be registered with it (once per library
  generation: after ``libDestroy``/``libCreate`` pjlib's thread-local key is
  new, so ``pj_thread_is_registered`` is asked again).

The symbols come from the ``_pjsua2`` extension itself (the wheel links
pjproject statically and exports its C API); a missing symbol raises
``MasterPortUnavailable`` and the caller keeps the null-device design.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from softphone.audio.ring import FrameRing

log = logging.getLogger(__name__)

PJMEDIA_FRAME_TYPE_NONE = 0
PJMEDIA_FRAME_TYPE_AUDIO = 1
PJ_THREAD_DESC_SIZE = 64  # pj_thread_desc is long[PJ_THREAD_DESC_SIZE]


class MasterPortUnavailable(RuntimeError):
    pass


class _Frame(ctypes.Structure):
    """pjmedia_frame (pjmedia/frame.h)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buf", ctypes.c_void_p),
        ("size", ctypes.c_size_t),
        ("timestamp", ctypes.c_uint64),
        ("bit_info", ctypes.c_uint32),
    ]


class _PjApi:
    """The handful of pjproject C functions this module needs, from the loaded extension."""

    def __init__(self) -> None:
        import pjsua2

        candidates = sorted(Path(pjsua2.__file__).parent.glob("_pjsua2*.so"))
        if not candidates:
            raise MasterPortUnavailable("the pjsua2 extension library was not found")
        # dlopen of a library already loaded by the import returns that same copy (same globals).
        lib = ctypes.CDLL(str(candidates[0]))
        try:
            self.set_no_snd_dev = lib.pjsua_set_no_snd_dev
            self.get_frame = lib.pjmedia_port_get_frame
            self.put_frame = lib.pjmedia_port_put_frame
            self.active_ports = lib.pjsua_conf_get_active_ports
            self.thread_is_registered = lib.pj_thread_is_registered
            self.thread_register = lib.pj_thread_register
            self.media_endpoint = lib.pjsua_get_pjmedia_endpt
            self.stop_media_threads = lib.pjmedia_endpt_stop_threads
            self.media_ioqueue = lib.pjmedia_endpt_get_ioqueue
            self.ioqueue_poll = lib.pj_ioqueue_poll
        except AttributeError as exc:
            raise MasterPortUnavailable(f"pjsua2 does not export {exc}") from exc
        self.set_no_snd_dev.restype = ctypes.c_void_p
        self.set_no_snd_dev.argtypes = []
        for fn in (self.get_frame, self.put_frame):
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Frame)]
        self.active_ports.restype = ctypes.c_uint
        self.active_ports.argtypes = []
        self.thread_is_registered.restype = ctypes.c_int
        self.thread_is_registered.argtypes = []
        self.thread_register.restype = ctypes.c_int
        self.thread_register.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        self.media_endpoint.restype = ctypes.c_void_p
        self.media_endpoint.argtypes = []
        self.stop_media_threads.restype = ctypes.c_int
        self.stop_media_threads.argtypes = [ctypes.c_void_p]
        self.media_ioqueue.restype = ctypes.c_void_p
        self.media_ioqueue.argtypes = [ctypes.c_void_p]
        self.ioqueue_poll.restype = ctypes.c_int
        self.ioqueue_poll.argtypes = [ctypes.c_void_p, ctypes.POINTER(TimeVal)]


class TimeVal(ctypes.Structure):
    """pj_time_val (pj/types.h)."""

    _fields_ = [("sec", ctypes.c_long), ("msec", ctypes.c_long)]


_api: _PjApi | None = None


def _pj() -> _PjApi:
    global _api
    if _api is None:
        _api = _PjApi()
    return _api


class PumpInC(Protocol):
    """native_pump.NativePump, as the clock sees it (that module imports this one)."""

    def run(self, frames: int, port: int | None, ioqueue: int | None) -> int: ...


class MasterPortClock:
    """Slot 0 of the conference bridge, ticked by whoever owns the sound devices."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._lock = threading.Lock()
        self._port: int | None = None
        self._generation = 0
        self._registered_generation = -1
        self._desc = (ctypes.c_long * PJ_THREAD_DESC_SIZE)()  # must outlive the registration
        self._thread_handle = ctypes.c_void_p()
        self._out = ctypes.create_string_buffer(frame_bytes)
        self._in = ctypes.create_string_buffer(frame_bytes)
        self._get = _Frame()
        self._put = _Frame()
        # The buffers never move: set once; a tick only resets what pjmedia may change.
        self._put.buf = ctypes.addressof(self._in)
        self._get.buf = ctypes.addressof(self._out)
        self._put_ref = ctypes.byref(self._put)
        self._get_ref = ctypes.byref(self._get)
        self._registered_thread = 0  # threading.get_ident() of the thread registered in this generation
        self.failures = 0  # pjmedia returned an error for a tick (logged once)
        self._ioqueue: int | None = None  # the media endpoint's sockets, polled with each tick
        self._no_wait = TimeVal(0, 0)
        self._no_wait_ref = ctypes.byref(self._no_wait)

    # ---- SIP thread ----------------------------------------------------------------------
    def attach(self) -> None:
        """Close pjsua's sound device and take the bridge's master port (after libStart); stop
        pjmedia's worker thread, whose RTP the ticks receive from now on (see ``receive``)."""
        api = _pj()
        port = api.set_no_snd_dev()
        if not port:
            raise MasterPortUnavailable("pjsua_set_no_snd_dev returned no port")
        endpoint = api.media_endpoint()
        ioqueue = api.media_ioqueue(endpoint) if endpoint else None
        if ioqueue:
            # Its one job is polling the media sockets, with a 10 ms timeout: 100 wake-ups a
            # second (~0.25 % of a core) for 50 packets. The thread that clocks the bridge
            # polls them itself right before each pump's frames: the packets reach the jitter
            # buffer just before they are played, with no wake-up of their own.
            api.stop_media_threads(endpoint)
        with self._lock:
            self._port = port
            self._ioqueue = ioqueue or None
            self._generation += 1

    def detach(self) -> None:
        """No tick (and no poll of the media sockets) runs after this returns (call before
        libDestroy)."""
        with self._lock:
            self._port = None
            self._ioqueue = None

    def _receive(self) -> None:
        """What arrived on the media sockets since the last pump into the jitter buffers (no
        wait; each poll handles a bounded batch of events)."""
        if self._ioqueue is not None:
            poll = _pj().ioqueue_poll
            for _ in range(8):  # bounded: 50 packets a second arrive, ~4 a pump
                if poll(self._ioqueue, self._no_wait_ref) <= 0:
                    break

    # ---- audio thread --------------------------------------------------------------------
    def bridge_busy(self) -> bool:
        """True while anything besides slot 0 is in the bridge (a call's media, a recorder)."""
        with self._lock:
            if self._port is None:
                return False
            self._ensure_registered()
            return _pj().active_ports() > 1

    def tick_many(self, frames: int, mic: FrameRing, heard: FrameRing) -> int:
        """``frames`` ticks back to back (one pump's worth): the agent's voice from ``mic`` (an
        empty ring sends silence), what the agent hears into ``heard``. One lock, one
        registration check and the ctypes functions looked up once for all of them (the pump's
        per-frame Python is most of its cost). Returns the frames run (0: detached)."""
        with self._lock:
            port = self._port
            if port is None:
                return 0
            self._register_thread()
            self._receive()
            api = _pj()
            put_frame, get_frame = api.put_frame, api.get_frame
            put, get, put_ref, get_ref = self._put, self._get, self._put_ref, self._get_ref
            buf_in, buf_out, n = self._in, self._out, self.frame_bytes
            for _ in range(frames):
                voice = mic.read(n)
                if voice is not None:
                    ctypes.memmove(buf_in, voice, min(len(voice), n))
                else:  # silence as audio: pjmedia's delay buffer for slot 0 stays primed
                    ctypes.memset(buf_in, 0, n)
                put.type = PJMEDIA_FRAME_TYPE_AUDIO
                put.size = n  # the bridge asserts whole frames
                put.timestamp = put.bit_info = 0
                get.type = PJMEDIA_FRAME_TYPE_NONE
                get.size = n
                get.timestamp = get.bit_info = 0
                if put_frame(port, put_ref) | get_frame(port, get_ref):
                    self.failures += 1
                    if self.failures == 1:
                        log.warning("conference bridge tick failed")
                    continue
                if get.type == PJMEDIA_FRAME_TYPE_AUDIO and get.size:
                    heard.write(buf_out.raw[: get.size])
            return frames

    def run_native(self, pump: PumpInC, frames: int) -> None:
        """One pump in C (native_pump.py): the media sockets polled, the devices' audio moved
        and, when ``frames`` and attached, the bridge run that many frames, under the same lock
        as ``tick_many``."""
        with self._lock:
            port = self._port
            if port is not None:
                self._register_thread()
            failures = pump.run(frames, port, self._ioqueue)
        if failures and not self.failures:
            log.warning("conference bridge tick failed")
        self.failures = failures

    def _register_thread(self) -> None:
        """Before calling into pjlib (lock held): the cheap check per tick, the real one when the
        library generation or the calling thread changed."""
        if self._registered_generation != self._generation or self._registered_thread != threading.get_ident():
            self._ensure_registered()

    def _ensure_registered(self) -> None:
        api = _pj()
        if self._registered_generation == self._generation and api.thread_is_registered():
            return
        if not api.thread_is_registered():
            ctypes.memset(self._desc, 0, ctypes.sizeof(self._desc))
            status = api.thread_register(b"seatmate-audio", self._desc, ctypes.byref(self._thread_handle))
            if status != 0:
                raise MasterPortUnavailable(f"pj_thread_register failed ({status})")
        self._registered_generation = self._generation
        self._registered_thread = threading.get_ident()
