"""packaging/bundle_trim.py without a build (~3 s): the cut ICU data still serves what Qt
Core asks ICU for in Chinese and English, and the library pruning keeps what a kept file links.

The whole trimmed bundle is checked by scripts/smoke-frozen.sh after scripts/build-installer.sh.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import bundle_trim  # noqa: E402

_QT_ICU = """
from PySide6.QtCore import QCollator, QDateTime, QLocale, QStringDecoder, QTimeZone
names = ["赵六", "张三", "阿明", "王五", "李四"]
print("zh", " ".join(sorted(names, key=QCollator(QLocale("zh_CN")).sortKey)))
print("sv", " ".join(sorted(["ö", "z", "o"], key=QCollator(QLocale("sv_SE")).sortKey)))
print("upper", QLocale("en_US").toUpper("straße"))
print("gb18030", QStringDecoder("GB18030").isValid())
tz, now = QTimeZone(b"Asia/Shanghai"), QDateTime.currentDateTime()
print("tz", tz.displayName(now, QTimeZone.NameType.LongName, QLocale("zh_CN")), "|",
      tz.displayName(now, QTimeZone.NameType.LongName, QLocale("en_US")))
"""


def _qt_icu_answers(preload: str | None) -> dict[str, str]:
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    if preload:
        env["LD_PRELOAD"] = preload  # same soname: the dynamic linker takes it instead of Qt's
    out = subprocess.run([sys.executable, "-c", _QT_ICU], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_cut_icu_data_serves_chinese_and_english(tmp_path: Path) -> None:
    import PySide6

    lib = next((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    trimmed = Path(bundle_trim.trim_icu(str(lib), tmp_path))
    assert trimmed != lib and trimmed.stat().st_size < lib.stat().st_size / 4
    full, cut = _qt_icu_answers(None), _qt_icu_answers(str(trimmed))
    # Chinese collation (pinyin order), case mapping, the GB18030 codec, zone names in zh and en.
    assert cut["zh"] == full["zh"] == "阿明 李四 王五 张三 赵六"
    assert cut["upper"] == full["upper"] == "STRASSE"
    assert cut["gb18030"] == "True"
    assert cut["tz"] == full["tz"] and "中国标准时间" in cut["tz"] and "China Standard Time" in cut["tz"]
    # Swedish collation data is gone: the root order (ö beside o) instead of ö after z. This is
    # what proves the preloaded, cut library was the one in use.
    assert full["sv"] == "o z ö" and cut["sv"] == "o ö z"


def test_icu_item_choice() -> None:
    keep = bundle_trim._keep_icu_item
    for name in ("icudt73l/coll/zh.res", "icudt73l/coll/root.res", "icudt73l/coll/ucadata.icu",
                 "icudt73l/zone/en_GB.res", "icudt73l/zh_Hans_CN.res", "icudt73l/res_index.res",
                 "icudt73l/supplementalData.res", "icudt73l/ucase.icu", "icudt73l/gb18030.cnv",
                 "icudt73l/cnvalias.icu", "icudt73l/coll/zh_Hant_TW.res"):
        assert keep(name), name
    for name in ("icudt73l/brkitr/cjdict.dict", "icudt73l/coll/ja.res", "icudt73l/fr.res",
                 "icudt73l/zone/sv.res", "icudt73l/translit/root.res", "icudt73l/ibm-943_P15A-2003.cnv",
                 "icudt73l/curr/zh.res", "icudt73l/coll/de_.res"):
        assert not keep(name), name


def test_pruning_keeps_what_a_kept_file_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_trim.sys, "platform", "linux")
    needed = {
        "/s/libqgtk3.so": ["libgtk-3.so.0", "libQt6Gui.so.6"],
        "/s/libgtk-3.so.0": ["libcairo.so.2", "libglib-2.0.so.0"],
        "/s/libcairo.so.2": [],
        "/s/libglib-2.0.so.0": [],
        "/s/libqxcb.so": ["libQt6Gui.so.6", "libglib-2.0.so.0"],
        "/s/libQt6Gui.so.6": [],
        "/s/libdlopened.so": [],
    }
    monkeypatch.setattr(bundle_trim, "_needed", lambda path: needed[path])
    binaries = [
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/s/libqgtk3.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("libgtk-3.so.0", "/s/libgtk-3.so.0", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libglib-2.0.so.0", "/s/libglib-2.0.so.0", "BINARY"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libdlopened.so", "/s/libdlopened.so", "BINARY"),
    ]
    datas = [("PySide6/Qt/translations/qtbase_zh_CN.qm", "x", "DATA"),
             ("PySide6/Qt/translations/qtbase_de.qm", "x", "DATA")]
    kept, kept_datas, dropped = bundle_trim.drop_unused(binaries, datas)
    names = {e[0] for e in kept}
    # The GTK theme and what only it links go; glib stays (xcb links it), and so does a
    # library nothing links (it may be dlopen()ed).
    assert names == {"PySide6/Qt/plugins/platforms/libqxcb.so", "libglib-2.0.so.0", "PySide6/Qt/lib/libQt6Gui.so.6",
                     "libQt6Gui.so.6", "libdlopened.so"}
    assert [e[0] for e in kept_datas] == ["PySide6/Qt/translations/qtbase_zh_CN.qm"]
    assert "libcairo.so.2" in dropped and "PySide6/Qt/translations/qtbase_de.qm" in dropped
