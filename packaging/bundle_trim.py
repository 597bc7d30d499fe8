"""Trim the frozen bundle to what the desktop app uses (called from build_installer.spec).

PyInstaller's PySide6 hook collects every Qt plugin and translation of the modules the app
imports, and each plugin drags its own libraries in (the GTK3 platform theme alone brings
GTK, GDK, Cairo, Pango, ATK: ~15 MB). ``drop_unused`` removes the plugins, Qt modules and
translations listed below, then every library that only the removed files needed (found
from the ELF ``NEEDED`` entries, so a library something kept still links is never
dropped). ``trim_icu`` rebuilds Qt's ICU data library (32 MB) with only what Qt Core
calls ICU for: case mapping, collation, time-zone names and codecs, in the root, English
and Chinese locales (~5 MB). Linux only: on other platforms both leave the lists alone.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

Entry = tuple[str, str, str]  # PyInstaller TOC entry: (name in the bundle, source, typecode)

QT = "PySide6/Qt/"
# Qt plugins the app never loads. Kept: platforms xcb / wayland / offscreen / minimal (the
# desktops and the headless self-test), xcb GL integrations, the wayland xdg shell, image
# formats ico / jpeg / gif / svg, the svg icon engine, the compose and ibus input contexts
# (Chinese input methods), multimedia/ffmpeg (QMediaPlayer in the coaching player; QAudioSink
# and QAudioSource for the softphone's Qt audio bridge), xdgdesktopportal (file dialogs).
DROP_PLUGINS = (
    "platformthemes/libqgtk3.so",  # GTK3 look: links GTK/GDK/Cairo/Pango/ATK; the app has its own style
    "platforminputcontexts/libqtvirtualkeyboardplugin.so",  # on-screen keyboard: links Qt Quick/QML
    "imageformats/libqpdf.so",  # PDF as an image format: links Qt Pdf (4.5 MB)
    "imageformats/libqicns.so", "imageformats/libqtga.so", "imageformats/libqtiff.so",
    "imageformats/libqwbmp.so", "imageformats/libqwebp.so",
    "egldeviceintegrations/",  # EGLFS (embedded full-screen) and its KMS support
    "platforms/libqeglfs.so", "platforms/libqlinuxfb.so", "platforms/libqvnc.so",
    "platforms/libqvkkhrdisplay.so", "platforms/libqminimalegl.so",
    "generic/",  # evdev/tuio input for the framebuffer platforms above
    "networkinformation/",  # QNetworkInformation: not used (sync has its own reachability)
    "tls/",  # Qt's TLS backends: HTTPS goes through httpx; QtNetwork is only QLocalServer here
    "wayland-shell-integration/libfullscreen-shell-v1.so", "wayland-shell-integration/libivi-shell.so",
    "wayland-shell-integration/libwl-shell-plugin.so", "wayland-shell-integration/libqt-shell.so",
    "wayland-decoration-client/libadwaita.so",
)
# Python bindings the PySide6 hooks pull in for type signatures but the app never imports.
DROP_BINDINGS = ("QtOpenGL", "QtMultimediaWidgets", "QtConcurrent")
# Qt's own translations: only those of the UI languages the app ships (resources/i18n).
KEEP_QT_TRANSLATIONS = re.compile(r"^qt(base|multimedia)?_(zh_CN|en)\.qm$")


def _dest(entry: Entry) -> str:
    return entry[0].replace("\\", "/")


def _dropped_by_rule(dest: str) -> bool:
    if dest.startswith(QT + "plugins/"):
        rel = dest[len(QT + "plugins/"):]
        return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in DROP_PLUGINS)
    if dest.startswith(QT + "translations/"):
        return not KEEP_QT_TRANSLATIONS.match(dest.rsplit("/", 1)[1])
    if dest.startswith("PySide6/") and dest.count("/") == 1:
        return dest.split("/")[1].split(".")[0] in DROP_BINDINGS
    return False


def _needed(path: str) -> list[str]:
    """The ELF NEEDED entries (sonames) of a shared object; objdump comes with PyInstaller's needs."""
    out = subprocess.run(["objdump", "-p", path], capture_output=True, text=True, check=False).stdout
    return [line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED")]


def _closure(roots: Iterable[str], by_name: dict[str, str], deps: dict[str, list[str]]) -> set[str]:
    """Bundle names reachable through NEEDED from the roots (bounded by the bundle's size)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for soname in deps.get(name, ()):
            target = by_name.get(soname)
            if target is not None and target not in seen:
                todo.append(target)
    return seen


def drop_unused(binaries: list[Entry], datas: list[Entry]) -> tuple[list[Entry], list[Entry], list[str]]:
    """(binaries, datas, names of what was dropped). Libraries are dropped only when every
    file that linked them was dropped; libraries nothing links (loaded with dlopen) stay."""
    if not sys.platform.startswith("linux"):
        return binaries, datas, []
    files = {_dest(e): e for e in binaries if e[2] in ("BINARY", "EXTENSION")}
    links = {_dest(e): e[1].replace("\\", "/") for e in binaries if e[2] == "SYMLINK"}
    by_name: dict[str, str] = {}  # soname -> bundle name of the real file
    for dest in files:
        by_name.setdefault(dest.rsplit("/", 1)[-1], dest)
    for dest, target in links.items():
        if target in files:
            by_name.setdefault(dest.rsplit("/", 1)[-1], target)
    deps = {dest: _needed(entry[1]) for dest, entry in files.items()}
    linked = {by_name[s] for d in deps.values() for s in d if s in by_name}
    roots = [d for d in files if d not in linked or files[d][2] == "EXTENSION" or "/plugins/" in d]
    before = _closure(roots, by_name, deps)
    kept_roots = [d for d in roots if not _dropped_by_rule(d)]
    after = _closure(kept_roots, by_name, deps)
    drop = {d for d in files if _dropped_by_rule(d) or (d in before and d not in after)}
    drop |= {d for d, target in links.items() if target in drop}
    new_binaries = [e for e in binaries if _dest(e) not in drop]
    new_datas = [e for e in datas if not _dropped_by_rule(_dest(e))]
    dropped = sorted(drop) + sorted(_dest(e) for e in datas if _dropped_by_rule(_dest(e)))
    return new_binaries, new_datas, dropped


def strip_debug(binaries: list[Entry], work: Path) -> list[Entry]:
    """Entries whose source carries DWARF debug info point at a copy without it.

    libpython, zstandard, PyYAML's and SQLAlchemy's extensions come with their debug info
    (~60 MB together); nothing reads it at run time. Only ``strip --strip-debug`` on those
    files: PyInstaller's strip=True strips every binary, which breaks the libraries that
    auditwheel rewrote with patchelf (numpy's OpenBLAS, pjsua2: "ELF load command
    address/offset not page-aligned")."""
    if not sys.platform.startswith("linux"):
        return binaries
    out: list[Entry] = []
    for dest, src, kind in binaries:
        if kind in ("BINARY", "EXTENSION"):
            sections = subprocess.run(["readelf", "-S", "-W", src], capture_output=True, text=True).stdout
            if ".debug_info" in sections:
                target = work / "strip" / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists() or target.stat().st_mtime < Path(src).stat().st_mtime:
                    subprocess.run(["strip", "--strip-debug", "-o", str(target), src], check=True)
                src = str(target)
        out.append((dest, src, kind))
    return out


# --- ICU ----------------------------------------------------------------------------------
# Qt Core calls ICU for case mapping (u_strToUpper/Lower), collation (ucol_*), time-zone
# display names (ucal_*) and codecs (ucnv_*) -- checked with `nm -D --undefined-only` on
# libQt6Core; nothing else in the bundle links ICU. So the data keeps the top-level tables
# (.icu/.nrm/.spp/.cfu, supplemental data), coll/ and zone/ for root, English and Chinese,
# and the Chinese codecs; it drops break iterators (2 MB of dictionaries), units,
# currencies, language / region names, transliterators and rule-based number formats.
_ICU_DROP_TREES = ("brkitr", "unit", "curr", "lang", "region", "translit", "rbnf")
_ICU_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$")
_ICU_KEEP_LOCALE = re.compile(r"^(root|en|zh)(_[A-Za-z0-9]+)*\.res$")
_ICU_KEEP_CNV = re.compile(r"gb18030|windows-936|ibm-1386|ibm-5478|windows-950|ibm-1373|ibm-1383")


def _keep_icu_item(name: str) -> bool:
    parts = name.split("/")[1:]  # drop the "icudt73l" package prefix
    if len(parts) > 1 and parts[0] in _ICU_DROP_TREES:
        return False
    leaf = parts[-1]
    if leaf.endswith(".cnv"):
        return bool(_ICU_KEEP_CNV.search(leaf))
    if leaf == "res_index.res" or not _ICU_LOCALE.match(leaf):
        return True
    return bool(_ICU_KEEP_LOCALE.match(leaf))


def filter_icu_package(data: bytes) -> bytes:
    """An ICU common-data package (.dat, "CmnD") with only the items _keep_icu_item keeps.

    Layout (ICU udata.h / ucmndata.h): a DataHeader of headerSize bytes, then the TOC
    (uint32 count, count × (uint32 name offset, uint32 data offset), offsets from the TOC
    start), the names, then the items, each 16-byte aligned. Little-endian only."""
    header_size = struct.unpack_from("<H", data, 0)[0]
    if data[2:4] != b"\xda\x27" or data[12:16] != b"CmnD":
        raise ValueError("not an ICU common data package")
    count = struct.unpack_from("<I", data, header_size)[0]
    toc = [struct.unpack_from("<II", data, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_off, data_off) in enumerate(toc):
        start = header_size + name_off
        name = data[start:data.index(b"\0", start)]
        end = toc[i + 1][1] if i + 1 < count else len(data) - header_size
        items.append((name, data[header_size + data_off:header_size + end]))
    kept = [(n, d) for n, d in items if _keep_icu_item(n.decode("ascii"))]
    names_start = 4 + 8 * len(kept)
    names = b""
    name_offsets = []
    for name, _ in kept:
        name_offsets.append(names_start + len(names))
        names += name + b"\0"
    body_start = names_start + len(names)
    body_start += -body_start % 16
    body = b""
    toc_out = struct.pack("<I", len(kept))
    for (_, item), name_off in zip(kept, name_offsets, strict=True):
        body += b"\0" * (-len(body) % 16)
        toc_out += struct.pack("<II", name_off, body_start + len(body))
        body += item
    toc_out += names
    toc_out += b"\0" * (body_start - len(toc_out))
    return data[:header_size] + toc_out + body


def trim_icu(lib: str, work: Path) -> str:
    """A libicudata with the filtered package; returns its path (the input lib if not possible)."""
    if not sys.platform.startswith("linux"):
        return lib
    syms = subprocess.run(["nm", "-D", "-S", "--defined-only", lib], capture_output=True, text=True).stdout
    match = re.search(r"^([0-9a-f]+) ([0-9a-f]+) R (icudt\d+_dat)$", syms, re.M)
    sections = subprocess.run(["readelf", "-S", "-W", lib], capture_output=True, text=True).stdout
    rodata = re.search(r"\.rodata\s+PROGBITS\s+([0-9a-f]+) ([0-9a-f]+)", sections)
    if match is None or rodata is None:
        return lib
    addr, size, symbol = int(match[1], 16), int(match[2], 16), match[3]
    offset = addr - int(rodata[1], 16) + int(rodata[2], 16)  # file offset of the symbol
    with open(lib, "rb") as f:
        f.seek(offset)
        package = f.read(size)
    work.mkdir(parents=True, exist_ok=True)
    dat = work / f"{symbol.removesuffix('_dat')}l.dat"  # the package's own name (icupkg wants it)
    dat.write_bytes(filter_icu_package(package))
    asm = work / "icudata.S"
    asm.write_text(f'.section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign 16\n'
                   f'{symbol}:\n.incbin "{dat}"\n.size {symbol}, . - {symbol}\n'
                   '.section .note.GNU-stack,"",@progbits\n')
    out = work / Path(lib).name
    soname = Path(lib).name
    subprocess.run(["cc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(out), str(asm)], check=True)
    return str(out)
