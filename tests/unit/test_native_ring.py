"""The C pump's rings keep FrameRing's rules (ring.py), byte for byte and counter for counter:
the same random writes and frame reads through both give the same audio out, the same overruns
and underruns. The library must be built here (setup.py; CI has a compiler): a missing one fails."""

from __future__ import annotations

import ctypes
import random

from softphone.audio import native_pump
from softphone.audio.ring import FrameRing


def _library() -> ctypes.CDLL:
    path = native_pump._library_path()
    assert path is not None, "softphone/audio/_pump*.so is not built (pip install -e . with a C compiler)"
    lib = ctypes.CDLL(str(path))
    lib.seat_ring_write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_double]
    lib.seat_ring_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32]
    lib.seat_ring_read.restype = ctypes.c_int
    return lib


def test_c_ring_matches_frame_ring_under_random_traffic() -> None:
    lib = _library()
    rng = random.Random(16)
    frame = 320
    for capacity, prime in ((2400, 1280), (3200, 640), (960, 320)):
        py = FrameRing(capacity=capacity, prime=prime)
        buf = ctypes.create_string_buffer(capacity)
        c = native_pump._Ring(buf=ctypes.addressof(buf), cap=capacity, prime=prime, count_underruns=1)
        out = ctypes.create_string_buffer(frame)
        sample = 0
        for _step in range(3000):
            if rng.random() < 0.5:
                # a device delivery: 0 to ~2 frames, whole samples, recognisable bytes
                n = rng.randrange(0, 2 * capacity // frame + 2) * rng.choice((2, 160, 320))
                n = min(n, 2 * capacity)
                data = bytes((sample + i) % 251 for i in range(n))
                sample += n
                py.write(data)
                lib.seat_ring_write(ctypes.byref(c), data, n, 1.0)
            else:
                want = py.read(frame)
                got = lib.seat_ring_read(ctypes.byref(c), out, frame)
                assert (want is not None) == bool(got)
                if want is not None:
                    assert out.raw == want
            assert (c.len, c.overruns, c.underruns, bool(c.primed)) == \
                (py.available(), py.overruns, py.underruns, py._primed)
        assert py.overruns > 0 and py.underruns > 0  # both rules were exercised
