"""The KPI bar: today's 通次 and 通时 against targets, connect rate, conversions, quick refusals, callbacks."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.kpi import KpiSnapshot, format_duration


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


class ProgressLine(QWidget):
    """A thin progress bar. QProgressBar.setValue repaints synchronously (tens of ms with a
    style sheet); this one only schedules an update, so a KPI refresh never delays a frame."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fraction = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(6)

    def sizeHint(self) -> QSize:
        return QSize(120, 6)

    def value(self) -> int:
        return round(self._fraction * 1000)

    def set_fraction(self, fraction: float) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if fraction != self._fraction:
            self._fraction = fraction
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(0, 0, 0, 0))
        r = QRectF(self.rect())
        painter.setBrush(QColor("#dfe6e9"))
        painter.drawRoundedRect(r, 3, 3)
        if self._fraction > 0:
            painter.setBrush(QColor("#27ae60") if self._fraction >= 1 else QColor("#2e86de"))
            painter.drawRoundedRect(QRectF(r.x(), r.y(), r.width() * self._fraction, r.height()), 3, 3)


class _Meter(QWidget):
    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title)
        self.value = QLabel("0")
        self.value.setObjectName(f"{name}Value")
        self.bar = ProgressLine()
        self.bar.setObjectName(f"{name}Bar")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.value)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.bar)

    def set(self, text: str, progress: float) -> None:
        self.value.setText(text)
        self.bar.set_fraction(progress)


class KpiBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiBar")
        self.calls = _Meter("", "kpiCalls")
        self.talk = _Meter("", "kpiTalk")
        self.connect_rate = QLabel()
        self.connect_rate.setObjectName("kpiConnectRate")
        self.average = QLabel()
        self.conversions = QLabel()
        self.conversions.setObjectName("kpiConversions")
        self.quick = QLabel()
        self.quick.setObjectName("kpiQuickRefusals")
        self.callbacks = QLabel()
        self.callbacks.setObjectName("kpiCallbacks")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.calls, 2)
        layout.addWidget(self.talk, 2)
        for label in (self.connect_rate, self.average, self.conversions, self.quick, self.callbacks):
            layout.addWidget(label, 1)
        self.snapshot = KpiSnapshot()
        self.retranslate()

    def retranslate(self) -> None:
        self.calls.title.setText(self.tr("Calls made"))
        self.talk.title.setText(self.tr("Talk time"))
        self.quick.setToolTip(self.tr("Share of connected calls refused within 30 seconds"))
        self.set_snapshot(self.snapshot)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def set_snapshot(self, snap: KpiSnapshot) -> None:
        self.snapshot = snap
        t = snap.targets
        self.calls.set(f"{snap.calls_made} / {t.calls_per_day}", snap.calls_progress)
        self.talk.set(f"{format_duration(snap.talk_seconds)} / {t.talk_minutes_per_day}:00", snap.talk_progress)
        self.connect_rate.setText(self.tr("Connected %1 (%2)").replace("%1", str(snap.connected))
                                  .replace("%2", _percent(snap.connect_rate)))
        self.average.setText(self.tr("Avg talk %1").replace("%1", format_duration(snap.average_talk_seconds)))
        self.conversions.setText(self.tr("Sales %1").replace("%1", str(snap.conversions)))
        self.quick.setText(self.tr("Refused <30s %1").replace("%1", _percent(snap.quick_refusal_share)))
        self.callbacks.setText(self.tr("Callbacks due %1, overdue %2").replace("%1", str(snap.callbacks_due))
                               .replace("%2", str(snap.callbacks_overdue)))
        self.callbacks.setStyleSheet("color: #c0392b; font-weight: bold;" if snap.callbacks_overdue else "")
