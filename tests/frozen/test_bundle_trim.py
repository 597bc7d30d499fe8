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


def test_no_ffmpeg_backend_takes_qt_quick_and_ffmpeg_but_keeps_qt_audio() -> None:
    """On PySide6's real libraries (their ELF NEEDED entries): without the multimedia (FFmpeg)
    plugin, FFmpeg and Qt Quick/QML leave the bundle; Qt Multimedia (QAudioSink/QAudioSource),
    Qt Charts and the OpenGL libraries Charts links stay."""
    import PySide6

    pyside = Path(PySide6.__file__).parent
    qt_lib = pyside / "Qt" / "lib"
    roots = [*(pyside.glob(f"{m}.abi3.so") for m in ("QtCore", "QtGui", "QtWidgets", "QtNetwork",
                                                       "QtMultimedia", "QtCharts", "QtDBus"))]
    entries = {f"PySide6/{p.name}": (str(p), "EXTENSION") for g in roots for p in g}
    for plugin in ("multimedia/libffmpegmediaplugin.so", "platforms/libqxcb.so"):
        entries[f"PySide6/Qt/plugins/{plugin}"] = (str(pyside / "Qt" / "plugins" / plugin), "BINARY")
    # The Qt libraries those reach (as PyInstaller's dependency scan collects them).
    todo = [src for src, _k in entries.values()]
    while todo:  # bounded: the Qt lib folder
        for soname in bundle_trim._needed(todo.pop()):
            lib = qt_lib / soname
            dest = f"PySide6/Qt/lib/{soname}"
            if lib.exists() and dest not in entries:
                entries[dest] = (str(lib.resolve()), "BINARY")
                todo.append(str(lib))
    binaries = [(dest, src, kind) for dest, (src, kind) in entries.items()]
    assert any("libQt6Quick.so" in d for d in entries) and any("libavcodec" in d for d in entries)
    kept, _datas, dropped = bundle_trim.drop_unused(binaries, [])
    kept_names = {e[0].rsplit("/", 1)[-1] for e in kept}
    for gone in ("libffmpegmediaplugin.so", "libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6QmlModels.so.6"):
        assert gone not in kept_names, gone
    assert not any(n.startswith(("libavcodec", "libavformat", "libavutil", "libswscale", "libswresample"))
                   for n in kept_names), sorted(kept_names)
    for stays in ("libQt6Multimedia.so.6", "libQt6Charts.so.6", "libQt6OpenGL.so.6", "libQt6Network.so.6",
                  "QtMultimedia.abi3.so", "libqxcb.so"):
        assert stays in kept_names, stays
    assert len(dropped) >= 8, dropped


def test_no_client_module_imports_numpy() -> None:
    """The spec excludes numpy from the frozen app, so nothing the client runs (app, ui, cache,
    sync, softphone, core) may import it; the server's waveform endpoint does (not bundled)."""
    import ast

    allowed: set[str] = set()
    found = []
    for package in ("app", "ui", "cache", "sync", "softphone", "core"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "numpy" or n.startswith("numpy.") for n in names) and rel not in allowed:
                    found.append(f"{rel}:{node.lineno}")
    assert not found, f"numpy imported by client code (the frozen app has no numpy): {found}"
