"""``emit(signal, *args)``: Signal.emit without PySide6 6.12.0's leaked reference to ``True``.

See .coord/URGENT-pyside-emit.md; the probe and the fix live in softphone.qt_compat.
Workspace signals fire all day (countdown ticks, draft edits, KPI updates), so
they all go through here.
"""

from __future__ import annotations

from softphone.qt_compat import emit

__all__ = ["emit"]
