"""Name the calling OS thread (Linux), so ``top -H``, ``/proc/PID/task/*/comm`` and the
softphone benchmark's per-thread CPU tell the SIP thread apart from the GUI thread
(Python 3.11's ``threading`` names only its own objects, not the OS thread)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_PR_SET_NAME = 15


def set_os_thread_name(name: str) -> None:
    """Best effort: 15 bytes at most (the kernel's limit); elsewhere than Linux, nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass
