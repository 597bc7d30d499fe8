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
from collections.abc import Callable, Iterable
from pathlib import Path

Entry = tuple[str, str, str]  # PyInstaller TOC entry: (name in the bundle, source, typecode)

QT = "PySide6/Qt/"
# Qt plugins the app never loads. Kept: platforms xcb / wayland / offscreen / minimal (the
# desktops and the headless self-test), xcb GL integrations, the wayland xdg shell, image
# formats ico / jpeg / gif / svg, the svg icon engine, the compose and ibus input contexts
# (Chinese input methods), xdgdesktopportal (file dialogs).
DROP_PLUGINS = (
    # Qt Multimedia's media backend (FFmpeg): only QMediaPlayer and friends need it. The app
    # plays sound through QAudioSink / QAudioSource only (the softphone's Qt audio, the TL's
    # recording player: app/supervisor/recording_player.py), which libQt6Multimedia does
    # itself (PulseAudio). With the plugin go libavcodec/avformat/avutil/swscale/swresample,
    # the FFmpeg stubs, and Qt Quick / QML, which only the plugin links (~35 MB).
    "multimedia/",
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
# Libraries the target desktop provides and that are better taken from it (top-level files of
# the bundle, where PyInstaller puts the build host's system libraries). Two reasons:
# 1. AppImage's excludelist (github.com/AppImageCommunity/pkg2appimage, "assumed to be present
#    on the host"): a private copy breaks against the host's newer X11/xcb, fonts config or
#    C++ runtime (libstdc++: glibc already comes from the host, ≥ the build host's 2.36, and a
#    distro with that glibc has a libstdc++ at least as new as Debian 12's).
# 2. Clients of the desktop session's servers, which must match them, like libjack/libpipewire
#    on that list: PulseAudio's client (also PipeWire's pulse layer) and D-Bus.
# What only these linked (libsndfile and its codecs, libsystemd, libgcrypt, libpng, ...) goes
# with them. scripts/smoke-frozen.sh checks that every NEEDED entry of the bundle resolves to a
# bundled file, to this list or to glibc.
HOST_LIBS = frozenset({
    "libstdc++.so.6", "libgcc_s.so.1",  # excludelist: the C++ runtime
    "libX11.so.6", "libX11-xcb.so.1", "libxcb.so.1",  # excludelist: the X server's client side
    "libfontconfig.so.1", "libfreetype.so.6", "libharfbuzz.so.0",  # excludelist: the host's fonts
    "libz.so.1", "libexpat.so.1", "libuuid.so.1", "libcom_err.so.2", "libgpg-error.so.0",  # excludelist: base
    "libasound.so.2", "libGL.so.1", "libEGL.so.1", "libdrm.so.2", "libgbm.so.1",  # excludelist: drivers
    # excludelist: the Wayland compositor's client side (PyInstaller leaves these out itself;
    # only the wayland platform plugins link them, and load on a Wayland session, which has them)
    "libwayland-client.so.0", "libwayland-cursor.so.0", "libwayland-egl.so.1",
    "libpulse.so.0", "libpulse-simple.so.0",  # the sound server's client (PulseAudio / PipeWire)
    "libdbus-1.so.3",  # the session bus's client
})
# Libraries that come with glibc: never bundled, always the target's.
GLIBC = frozenset({"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
                   "libresolv.so.2", "ld-linux-x86-64.so.2", "libanl.so.1", "libmvec.so.1"})

# Python bindings the PySide6 hooks pull in for type signatures but the app never imports.
# (QtDBus and QtOpenGLWidgets: importing QtGui/QtCharts does not import them; their Qt
# libraries stay, Qt Gui and Qt Charts link those.)
DROP_BINDINGS = ("QtOpenGL", "QtMultimediaWidgets", "QtConcurrent", "QtDBus", "QtOpenGLWidgets")
# Qt's own translations: only those of the UI languages the app ships (resources/i18n).
KEEP_QT_TRANSLATIONS = re.compile(r"^qt(base|multimedia)?_(zh_CN|en)\.qm$")


def _dest(entry: Entry) -> str:
    return entry[0].replace("\\", "/")


def _dropped_by_rule(dest: str) -> bool:
    if "/" not in dest and dest in HOST_LIBS:
        return True
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


def _closure(roots: Iterable[str], by_name: dict[str, str], deps: dict[str, list[str]],
             skip: Callable[[str], bool] = lambda _name: False) -> set[str]:
    """Bundle names reachable through NEEDED from the roots, not through a ``skip`` one (those
    come from the host: what they link is the host's business); bounded by the bundle's size."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for soname in deps.get(name, ()):
            target = by_name.get(soname)
            if target is not None and target not in seen and not skip(target):
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
    after = _closure(kept_roots, by_name, deps, skip=_dropped_by_rule)
    drop = {d for d in files if _dropped_by_rule(d) or (d in before and d not in after)}
    drop |= {d for d, target in links.items() if target in drop}
    # PyInstaller also lists top-level symlinks to Qt's libraries among the datas: they go with
    # their target (a dangling link would be all that is left of it).
    gone_datas = {_dest(e) for e in datas if _dropped_by_rule(_dest(e))
                  or (e[2] == "SYMLINK" and e[1].replace("\\", "/") in drop)}
    new_binaries = [e for e in binaries if _dest(e) not in drop]
    new_datas = [e for e in datas if _dest(e) not in gone_datas]
    dropped = sorted(drop) + sorted(gone_datas)
    return new_binaries, new_datas, dropped


# Files whose symbol tables (.symtab/.strtab: for debuggers; the dynamic linker reads .dynsym)
# are stripped too: ~5 MB (cryptography's Rust module 2.9, ICU 1.4, libpython 0.7). Not every
# file: the ones auditwheel rewrote with patchelf (numpy's OpenBLAS, pjsua2's module and its
# .libs) break when strip rewrites them ("ELF load command address/offset not page-aligned").
STRIP_SYMBOLS = re.compile(r"^(libpython3[\d.]*\.so[\d.]*|PySide6/Qt/lib/libicu(uc|i18n)\.so[\d.]*"
                           r"|cryptography/hazmat/bindings/_rust\.abi3\.so)$")


def strip_debug(binaries: list[Entry], work: Path) -> list[Entry]:
    """Entries whose source carries DWARF debug info (or, for STRIP_SYMBOLS, a symbol table)
    point at a copy without it.

    libpython, zstandard, PyYAML's and SQLAlchemy's extensions come with their debug info
    (~60 MB together); nothing reads it at run time. Only ``strip --strip-debug`` on those
    files (``--strip-unneeded`` on STRIP_SYMBOLS): PyInstaller's strip=True strips every
    binary, which breaks the libraries that auditwheel rewrote with patchelf."""
    if not sys.platform.startswith("linux"):
        return binaries
    out: list[Entry] = []
    for dest, src, kind in binaries:
        if kind in ("BINARY", "EXTENSION"):
            sections = subprocess.run(["readelf", "-S", "-W", src], capture_output=True, text=True).stdout
            symbols = bool(STRIP_SYMBOLS.match(dest.replace("\\", "/"))) and ".symtab" in sections
            if ".debug_info" in sections or symbols:
                target = work / "strip" / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists() or target.stat().st_mtime < Path(src).stat().st_mtime:
                    mode = "--strip-unneeded" if symbols else "--strip-debug"
                    subprocess.run(["strip", mode, "-o", str(target), src], check=True)
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
