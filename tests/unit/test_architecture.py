"""Layering rules from DESIGN.md, checked on the source text of every module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_engines_never_import_widgets() -> None:
    assert _violations("softphone", ("ui",)) == []
    assert _violations("sync", ("ui",)) == []
    assert _violations("server", ("ui", "softphone", "sync")) == []


def test_widgets_never_touch_sip_http_or_sql() -> None:
    assert _violations("ui", ("pjsua2", "httpx", "sqlalchemy", "sqlite3", "softphone", "sync")) == []
