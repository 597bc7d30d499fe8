"""Bold texts are a synthesized bold of the CJK family's regular face (ui/style.py): they still
look bold, and the family's separate bold file (NotoSansCJK-Bold.ttc, ~4.5 MB RSS at start) is
never mapped. In a fresh interpreter: the fonts this pytest process already loaded do not count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, os, sys
from PySide6.QtGui import QColor, QFontDatabase, QImage
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget
app = QApplication([])
if "Noto Sans CJK SC" not in QFontDatabase.families():
    print("RESULT " + json.dumps({"skip": True})); sys.exit(0)
from ui.style import apply_style
apply_style(app)
text = "就绪 逾期 500 张伟"
window = QWidget(); layout = QVBoxLayout(window)
plain, qss, code = QLabel(text), QLabel(text), QLabel(text)
qss.setStyleSheet("color: #111111; font-weight: bold;")  # as the workspace's status texts
font = code.font(); font.setBold(True); code.setFont(font)  # as QFont.setBold in the views
plain.setStyleSheet("color: #111111;"); code.setStyleSheet("color: #111111;")
for label in (plain, qss, code):
    layout.addWidget(label)
window.show(); app.processEvents()
def ink(label):  # how much dark the text puts on the widget
    image = label.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    return sum(255 - QColor(image.pixel(x, y)).red() for y in range(image.height()) for x in range(image.width()))
fonts = []
for line in open("/proc/self/smaps"):
    head = line.split()
    if len(head) > 5 and "-" in head[0] and head[5].lower().endswith((".ttc", ".otf", ".ttf")):
        fonts.append(head[5])
print("RESULT " + json.dumps({"ink": [ink(plain), ink(qss), ink(code)],
                              "bold": [plain.fontInfo().bold(), qss.fontInfo().bold(), code.fontInfo().bold()],
                              "fonts": sorted(set(fonts))}))
"""


def test_bold_texts_are_drawn_without_the_bold_face_file():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, proc.stderr[-2000:]
    result = json.loads(line[7:])
    # The font the app is styled for on Linux; .ci/run installs it (fonts-noto-cjk).
    assert not result.get("skip"), "Noto Sans CJK SC is not installed (apt install fonts-noto-cjk)"
    plain, qss, code = result["ink"]
    assert result["bold"] == [False, True, True]
    # Still visibly bold: the emboldened strokes put clearly more ink down than the regular text.
    assert qss > 1.15 * plain and code > 1.15 * plain, result["ink"]
    fonts = result["fonts"]
    assert any("NotoSansCJK" in f for f in fonts), fonts  # the CJK family drew the text
    assert not [f for f in fonts if "bold" in Path(f).name.lower()], fonts
