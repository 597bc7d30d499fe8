"""Work around PySide6 6.12.0: ``SignalInstance.emit()`` returns ``True`` without a new reference.

Every emit (with or without receivers, from any thread) therefore drops one reference to the
``True`` singleton; after a few thousand emits CPython frees ``True`` and the process aborts
("Fatal Python error: bool_dealloc"), typically at exit. ``emit()`` below gives the reference
back when the running PySide6 has the bug (probed once at import), and does nothing otherwise.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def _emit_drops_true() -> bool:
    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(20):
        probe.ping.emit()
    dropped = before - sys.getrefcount(True)
    if dropped > 0:
        for _ in range(20):  # repay what the probe itself took
            _incref(True)
    return dropped >= 15  # other threads may move the count a little meanwhile


EMIT_DROPS_TRUE = _emit_drops_true()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)`` without the reference leak."""
    result = signal.emit(*args)
    if EMIT_DROPS_TRUE and result is True:
        _incref(True)
