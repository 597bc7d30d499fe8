"""app.pyside_hook: PySide6's per-import check no longer reads module sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import linecache, sys
import PySide6.QtCore
from app import pyside_hook
assert pyside_hook.install()
feature = sys.modules["shibokensupport.feature"]
sys.path.insert(0, sys.argv[1])
import snappy_uses_qt, snappy_plain  # imported after the hook
assert not [k for k in linecache.cache if "snappy_" in k], "a source was read"
assert feature.pyside_feature_dict["snappy_uses_qt"] == 0, "uses PySide6: takes part as before"
assert feature.pyside_feature_dict["snappy_plain"] == -1
print("ok")
"""


def test_imports_after_pyside_read_no_source(tmp_path: Path) -> None:
    (tmp_path / "snappy_uses_qt.py").write_text("from PySide6.QtCore import QObject\n")
    (tmp_path / "snappy_plain.py").write_text("import json\nVALUE = 1\n")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
