"""Keyboard shortcuts of the workspace: one table, overridable from settings.

Settings key ``shortcuts`` maps an action name to a key sequence string
(``{"dial_next": "F5"}``); unknown actions and empty values are ignored so a
bad settings file never removes a shortcut the loop depends on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP


@dataclass(frozen=True)
class ShortcutDef:
    action: str
    keys: str
    description: str  # English source; translated in context "Shortcuts"


DEFAULTS: tuple[ShortcutDef, ...] = (
    ShortcutDef("dial_next", "F5", QT_TRANSLATE_NOOP("Shortcuts", "Dial the next best lead")),
    ShortcutDef("dial_selected", "Ctrl+D", QT_TRANSLATE_NOOP("Shortcuts", "Dial the selected lead")),
    ShortcutDef("hangup", "F8", QT_TRANSLATE_NOOP("Shortcuts", "Hang up")),
    ShortcutDef("answer", "F6", QT_TRANSLATE_NOOP("Shortcuts", "Answer an incoming call")),
    ShortcutDef("mute", "Ctrl+M", QT_TRANSLATE_NOOP("Shortcuts", "Mute / unmute")),
    ShortcutDef("hold", "Ctrl+H", QT_TRANSLATE_NOOP("Shortcuts", "Hold / resume")),
    ShortcutDef("dialpad", "Ctrl+P", QT_TRANSLATE_NOOP("Shortcuts", "Show the dialpad")),
    ShortcutDef("save_wrapup", "Ctrl+Return", QT_TRANSLATE_NOOP("Shortcuts", "Save the wrap-up")),
    ShortcutDef("cancel_countdown", "Esc", QT_TRANSLATE_NOOP("Shortcuts", "Cancel the power-dial countdown")),
    ShortcutDef("toggle_power", "Ctrl+Shift+P", QT_TRANSLATE_NOOP("Shortcuts", "Switch preview / power mode")),
    ShortcutDef("ready", "F2", QT_TRANSLATE_NOOP("Shortcuts", "Ready")),
    ShortcutDef("pause", "F3", QT_TRANSLATE_NOOP("Shortcuts", "Pause (break)")),
    ShortcutDef("search", "Ctrl+F", QT_TRANSLATE_NOOP("Shortcuts", "Search leads")),
    ShortcutDef("script_search", "Ctrl+K", QT_TRANSLATE_NOOP("Shortcuts", "Search objection answers")),
    ShortcutDef("next_section", "Ctrl+.", QT_TRANSLATE_NOOP("Shortcuts", "Next script section")),
    ShortcutDef("prev_section", "Ctrl+Shift+.", QT_TRANSLATE_NOOP("Shortcuts", "Previous script section")),
    ShortcutDef("new_question", "Ctrl+Q", QT_TRANSLATE_NOOP("Shortcuts", "Record a new question")),
    ShortcutDef("help", "F1", QT_TRANSLATE_NOOP("Shortcuts", "Show this help")),
)

# Fixed keys inside the wrap-up panel (not configurable: they are its numbering).
WRAPUP_KEYS = QT_TRANSLATE_NOOP("Shortcuts", "1–9, 0: choose a disposition code in the wrap-up panel")


def resolve(overrides: Mapping[str, str] | None = None) -> dict[str, ShortcutDef]:
    table = {d.action: d for d in DEFAULTS}
    for action, keys in (overrides or {}).items():
        if action in table and isinstance(keys, str) and keys.strip():
            old = table[action]
            table[action] = ShortcutDef(action, keys.strip(), old.description)
    return table
