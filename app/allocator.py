"""The C heap's settings for a long-running GUI process (glibc on Linux; elsewhere a no-op).

Measured on the 100,000-lead start-up (tests/bench/bench_memory.py runs the app with
``SEATMATE_MALLOC_TUNE=0`` as its same-run reference): 4–11 MB less after start and
3–10 MB less at the peak while the search index builds, no CPU cost measured. Why:

* glibc's mmap threshold starts at 128 KiB but moves up (to 32 MiB at most) each time a
  big block is freed. The index build frees big temporary arrays early, so the later
  ones came from the heap, and a heap page stays resident while anything after it in
  the heap lives. Fixed at 256 KiB, every block that big gets its own mapping, returned
  to the system on free. The price: such a block costs page faults each time it is made
  (~0.25 ms for 0.5 MB). A search keystroke makes none that big (the hits are read as
  the list shows them); its CPU time measured the same with 128 KiB, 256 KiB, 1 MiB and
  glibc's default. 128 KiB saved no more memory than 256 KiB.
* Fixing the mmap threshold also fixes the trim threshold (how much free space at the
  heap's top is given back on free): 4 MiB, so blocks just under 256 KiB do not make
  the heap shrink and grow over and over (the periodic :func:`trim` gives the rest back).
* Each thread that allocates gets its own arena (up to 8 per core), each with its own
  free space nobody else reuses. The app has ~12 threads (Qt, the lead and workspace
  workers, pjsua2's); two arenas are plenty for how little they allocate at once.
* :func:`trim` hands back the free pages inside the heaps (``malloc_trim``: a few MB,
  ~0.5 ms); app.application calls it once start-up is over, and now and then after.

``SEATMATE_MALLOC_TUNE=0`` leaves glibc's defaults (and makes :func:`trim` do nothing).
"""

from __future__ import annotations

import ctypes
import os
import sys

ENV_SWITCH = "SEATMATE_MALLOC_TUNE"

# mallopt() parameters (glibc <malloc.h>)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

MMAP_THRESHOLD = 256 * 1024
TRIM_THRESHOLD = 4 * 1024 * 1024
ARENA_MAX = 2

_libc: ctypes.CDLL | None = None
_tuned = False


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt  # noqa: B018 — musl has no mallopt: treat as "not glibc"
            libc.malloc_trim  # noqa: B018
        except (OSError, AttributeError):
            return None
        _libc = libc
    return _libc


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1") != "0"


def tune() -> bool:
    """Apply the settings above (once; call before threads start). True when applied."""
    global _tuned
    if _tuned:
        return True
    libc = _glibc() if enabled() else None
    if libc is None:
        return False
    ok = all(libc.mallopt(param, value) == 1 for param, value in (
        (_M_ARENA_MAX, ARENA_MAX), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD)))
    _tuned = ok
    return ok


def trim() -> bool:
    """Give the heaps' free pages back to the system (glibc ``malloc_trim``). True if any were."""
    libc = _glibc() if enabled() else None
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
