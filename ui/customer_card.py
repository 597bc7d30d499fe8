"""The customer card: who the agent is talking to. Numbers are shown masked,
with their home region (归属地) and carrier (运营商)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QVBoxLayout, QWidget

from ui import formatting


class CustomerCard(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("customerCard")
        self._detail: Any = None
        self.title = QLabel(objectName="cardTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._fields: dict[str, tuple[QLabel, QLabel]] = {}
        for key in ("phones", "city", "plate", "vehicle", "policy_expiry", "last_premium", "source", "status", "notes"):
            label, value = QLabel(), QLabel()
            value.setWordWrap(True)
            value.setObjectName(f"card_{key}")
            self.form.addRow(label, value)
            self._fields[key] = (label, value)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        labels = {
            "phones": QCoreApplication.translate("CustomerCard", "Phones"),
            "city": QCoreApplication.translate("CustomerCard", "City"),
            "plate": QCoreApplication.translate("CustomerCard", "Plate"),
            "vehicle": QCoreApplication.translate("CustomerCard", "Vehicle"),
            "policy_expiry": QCoreApplication.translate("CustomerCard", "Policy expiry"),
            "last_premium": QCoreApplication.translate("CustomerCard", "Last premium"),
            "source": QCoreApplication.translate("CustomerCard", "Source"),
            "status": QCoreApplication.translate("CustomerCard", "Status"),
            "notes": QCoreApplication.translate("CustomerCard", "Notes"),
        }
        for key, (label, _value) in self._fields.items():
            label.setText(labels[key])
        self.show_lead(self._detail)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def show_lead(self, detail: Any) -> None:
        from ui.lead_table_model import STATUS_LABELS

        self._detail = detail
        if detail is None:
            self.title.setText(QCoreApplication.translate("CustomerCard", "No customer selected"))
            for _label, value in self._fields.values():
                value.clear()
            return
        gender = getattr(detail, "gender", "") or ""
        self.title.setText(f"{detail.name}  {gender}".strip())
        phones = []
        for p in getattr(detail, "phones", ()) or ():
            where = " ".join(x for x in (getattr(p, "region", ""), getattr(p, "carrier", "")) if x)
            phones.append(f"{p.masked}  <span class='muted'>{where}</span>" if where else p.masked)
        self._set("phones", "<br>".join(phones) or QCoreApplication.translate("CustomerCard", "(no number)"), rich=True)
        self._set("city", getattr(detail, "city", ""))
        self._set("plate", getattr(detail, "plate", ""))
        self._set("vehicle", getattr(detail, "vehicle", ""))
        self._set("policy_expiry", formatting.date_long(getattr(detail, "policy_expiry", None)))
        self._set("last_premium", formatting.money(getattr(detail, "last_premium", None)))
        self._set("source", getattr(detail, "source", ""))
        status = getattr(detail, "status", "")
        label = STATUS_LABELS.get(status)
        self._set("status", QCoreApplication.translate("LeadStatus", label) if label else status)
        self._set("notes", getattr(detail, "notes", ""))

    def _set(self, key: str, text: str | None, rich: bool = False) -> None:
        value = self._fields[key][1]
        value.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        value.setText(text or "")
