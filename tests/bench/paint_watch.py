"""When did the lead table last paint? For "key press → result painted" timings.

The benchmarks used to call ``viewport().repaint()`` after the result arrived to be
sure it was painted. But the event loop had usually painted the new rows already
(the model reset schedules an update that runs before ``exec()`` returns), so the
forced repaint was a second full paint no user waits for (~6–9 ms per keystroke).
Now the measurement ends when the loop has painted the viewport after the result;
only if it has not, the benchmark paints it once itself.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class PaintWatch(QObject):
    def __init__(self, viewport: QWidget) -> None:
        super().__init__(viewport)
        self.viewport = viewport
        self.last_paint = 0.0  # perf_counter() when the latest Paint event was delivered
        viewport.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.last_paint = time.perf_counter()
        return False

    def ensure_painted_since(self, since: float) -> None:
        """Return once the viewport has painted after ``since`` (painting it now if not).
        A Paint event seen after ``since`` has finished by the time the event loop returned:
        delivery is synchronous."""
        if self.last_paint <= since:
            self.viewport.repaint()
