"""The call script (话术), rendered from Markdown, with the current customer's
details filled into its {placeholders}."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from ui import formatting

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_PLACEHOLDER = re.compile(r"\{([^{}\n]{1,20})\}")



def lead_placeholders(detail: Any) -> dict[str, str]:
    """Values for the script placeholders the demo scripts use."""
    if detail is None:
        return {}
    gender = getattr(detail, "gender", "")
    surname = (detail.name or "")[:1]
    return {
        "客户姓名": detail.name or "",
        "称呼": {"男": "先生", "女": "女士"}.get(gender, ""),
        "客户称呼": surname + {"男": "先生", "女": "女士"}.get(gender, ""),
        "车牌号": getattr(detail, "plate", "") or "",
        "车型": getattr(detail, "vehicle", "") or "",
        "保单到期日": formatting.date_long(getattr(detail, "policy_expiry", None)),
        "上年保费": formatting.integer(detail.last_premium) if getattr(detail, "last_premium", None) else "",
    }


class ScriptPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scriptPanel")
        self.heading = QLabel(objectName="panelHeading")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.browser, 1)
        self._markdown = ""
        self._title = ""
        self._values: dict[str, str] = {}
        self.retranslate()

    def set_script(self, title: str, markdown: str) -> None:
        self._title = title
        self._markdown = _FRONT_MATTER.sub("", markdown or "")
        self._render()

    def set_lead(self, detail: Any) -> None:
        self._values = lead_placeholders(detail)
        self._render()

    def _render(self) -> None:
        if not self._markdown:
            self.browser.setPlainText(QCoreApplication.translate("ScriptPanel", "No script for this campaign."))
            return
        # Unknown placeholders stay visible in brackets so the agent fills them in speech.
        text = _PLACEHOLDER.sub(lambda m: self._values.get(m.group(1)) or f"【{m.group(1)}】", self._markdown)
        self.browser.setMarkdown(text)

    def retranslate(self) -> None:
        self.heading.setText(QCoreApplication.translate("ScriptPanel", "Script") + (f" · {self._title}" if self._title else ""))
        self._render()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
