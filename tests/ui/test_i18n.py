"""Translations: complete for zh_CN, built from the sources, loaded with Qt's own."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

from PySide6.QtCore import QCoreApplication, QLocale

from app import i18n_build
from app.i18n import Translations, resolve_language


def _unfinished(ts_path) -> list[str]:
    root = ET.parse(ts_path).getroot()
    bad = []
    for context in root.iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            tr = message.find("translation")
            has_text = bool(tr is not None and ((tr.text or "").strip() or tr.find("numerusform") is not None))
            if tr is None or tr.get("type") == "unfinished" or not has_text:
                bad.append(f"{name}: {message.findtext('source')}")
    return bad


def test_zh_cn_ts_has_no_unfinished_entry():
    bad = _unfinished(i18n_build.ts_path("zh_CN"))
    assert not bad, "untranslated zh_CN strings (run `python -m app.i18n_build --update`, then translate):\n" + "\n".join(bad)


def test_every_source_string_is_in_the_ts(tmp_path):
    """lupdate over today's sources adds nothing unfinished: no tr() string was forgotten."""
    work = tmp_path / "seatmate_zh_CN.ts"
    shutil.copy(i18n_build.ts_path("zh_CN"), work)
    i18n_build.update([work])
    assert not _unfinished(work)


def test_qm_builds_and_loads_with_qtbase(qapp, tmp_path):
    i18n_build.release()
    t = Translations.of(qapp)
    try:
        assert t.apply("zh_CN") == "zh_CN"
        assert QCoreApplication.translate("MainWindow", "To call") == "待拨打"
        # Qt's own strings are Chinese too (qtbase_zh_CN).
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消"
        assert QLocale().toString(1234567) == "1,234,567"
        assert QLocale().name() == "zh_CN"
        t.apply("en")
        assert QCoreApplication.translate("MainWindow", "To call") == "To call"
    finally:
        t.apply("zh_CN")


def test_language_resolution():
    assert resolve_language(None, QLocale("en_US")) == "en"
    assert resolve_language("system", QLocale("zh_TW")) == "zh_CN"
    assert resolve_language("system", QLocale("de_DE")) == "zh_CN"
    assert resolve_language("en") == "en"
    assert resolve_language("zh_CN", QLocale("en_US")) == "zh_CN"


def test_setup_time_build_needs_only_lrelease(tmp_path):
    out = subprocess.run(
        [i18n_build.sys.executable, "-m", "app.i18n_build", "--force"],
        cwd=i18n_build.ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no venv on PATH; tools found next to the interpreter
    )
    assert out.returncode == 0, out.stderr
    assert (i18n_build.I18N / "seatmate_zh_CN.qm").exists()
