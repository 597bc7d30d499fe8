"""Memory breakdown: `python -m tests.bench.bench_memory [--leads N] [--call-seconds S] [--no-call]
[--frozen dist/seatmate …]`.

Fresh processes on the foundation benchmark's 100,000-lead cache, and the references (an
empty PySide6 window; linphonec in a call) in the same run:

1. parts — what each piece costs, loaded one after the other in one process (RSS delta
   after each step; VmHWM shows the transient peak of the index build): PySide6 and an
   empty window, SQLAlchemy and the ORM models, the opened cache, the search index (and
   whether it loaded numpy: it no longer does), pjsua2, phonenumbers, the card's region/carrier tables;
2. app — the real start-up (app.application.Application) sampled at its stages: window
   built, first page painted, index ready, workspace attached (softphone started), and 3 s
   later (first card, next lead, KPIs), with the peak (VmHWM). Same run, the same app with
   one measure switched off each: glibc's malloc defaults, the workspace attached during
   the index build, and SQLAlchemy's unused imports loaded with SQLite's 2 MB page caches;
   and the same app under ``python -OO`` (as the frozen build is: build_installer.spec optimize=2),
   and with its bold texts drawn from the CJK family's bold file (before ui/style.py synthesized them);
3. call — the app with Qt audio on a private PulseAudio (the frozen bundle's Qt plugins: no
   FFmpeg media backend) on a copy of the cache, settled, then in a call to the embedded
   demo's customer (a pjsua2 peer process on 127.0.0.1 that answers and stays) for
   ``--call-seconds``, then hung up: RSS, what the call adds (anon / files, threads); and
   linphonec in a call to a sipp UAS (inside ``unshare -n``, as bench_softphone runs it), and the
   app in a call with the bold file as above;
4. with ``--frozen DIST`` (repeatable): the frozen bundle started as users start it
   (``DIST/seatmate --data-dir …`` on a copy of the cache), RSS 3 s after its log says the
   workspace attached, with the venv's ``python -m app`` started the same way as its reference.

Prints the tables with the machine's load and merges bench-results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_COMMON = r"""
import json, sys, time
def rss():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["VmRSS"].split()[0]) / 1024, int(f["VmHWM"].split()[0]) / 1024
def anon_file():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(f["RssAnon"].split()[0]) / 1024, int(f["RssFile"].split()[0]) / 1024
def split():
    # /proc/self/smaps by kind: anonymous memory (heap, Python objects, Qt's data: private
    # dirty) vs pages mapped from files (libraries, fonts: clean, shared with every process
    # that maps the same file, dropped and re-read by the kernel under memory pressure).
    out = dict.fromkeys(("anon", "private_dirty", "file", "fonts", "bold_fonts", "qt", "pjsua2", "python", "system"), 0)
    name = ""
    for line in open("/proc/self/smaps"):
        head = line.split(None, 6)
        if "-" in head[0] and not head[0].endswith(":"):
            name = head[5].strip() if len(head) > 5 else ""
        elif head[0] == "Private_Dirty:":
            out["private_dirty"] += int(head[1])
        elif head[0] == "Rss:":
            kb = int(head[1])
            if not name.startswith("/"):
                out["anon"] += kb
                continue
            out["file"] += kb
            kind = ("fonts" if name.lower().endswith((".ttc", ".ttf", ".otf")) else
                    "pjsua2" if "pjsua2" in name else "qt" if "/PySide6/" in name or "/shiboken6/" in name else
                    "python" if "python3" in name or "site-packages" in name else "system")
            out[kind] += kb
            if kind == "fonts" and "bold" in name.lower():
                out["bold_fonts"] += kb
    return {k: round(v / 1024, 1) for k, v in out.items()}
ROWS = []
_last = [rss()[0], *anon_file()]
def step(name):
    now, peak = rss()
    anon, file = anon_file()
    ROWS.append({"step": name, "rss": now, "delta": now - _last[0], "peak": peak,
                 "anon": anon - _last[1], "file": file - _last[2]})
    _last[:] = [now, anon, file]
step("python")
"""

_PARTS = _COMMON + r"""
from pathlib import Path
from PySide6.QtWidgets import QApplication, QMainWindow
from app import pyside_hook
pyside_hook.install()  # as the app does
qa = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1280, 800); w.show(); qa.processEvents()
step("qt")
from app import deferred_import
deferred_import.defer()  # as app.application does before anything imports SQLAlchemy
import sqlalchemy, sqlalchemy.orm
import cache.models, cache.repository
step("sqlalchemy")
from cache.db import open_cache
from cache.repository import Repository
repo = Repository(open_cache(Path(sys.argv[1]) / "cache.sqlite3"))
step("cache_open")
repo.warm_up()
step("index")
ROWS[-1]["numpy_loaded"] = "numpy" in sys.modules  # the search index used to bring numpy (~11 MB)
import pjsua2
step("pjsua2_import")
import phonenumbers
step("phonenumbers")
from core.phone import region_and_carrier
region_and_carrier("+8613812345678"); region_and_carrier("+862787654321")
step("card_tables")
# The app's own window over the open cache, zh_CN, its style: widgets, CJK fonts, a painted page.
from app.i18n import Translations
from app.lead_service import LeadService
from ui.main_window import MainWindow
from ui.style import apply_style
Translations.of(qa).apply("zh_CN"); apply_style(qa)
leads = LeadService(repo); mw = MainWindow(leads, language="zh_CN"); mw.resize(1280, 800); mw.show(); mw.refresh()
for _ in range(400):  # bounded: ~4 s
    qa.processEvents()
    if mw.model.rowCount():
        break
    time.sleep(0.01)
mw.table.viewport().repaint(); qa.processEvents()
step("window_fonts")
import app.workspace.runtime, ui.workspace.wiring, app.session_service, ui.login_dialog, softphone.engine
step("workspace_modules")
ROWS[-1]["split"] = split()
leads.shutdown()
print("RESULT " + json.dumps(ROWS), flush=True)
"""

_APP = _COMMON + r"""
import argparse, os
# app.application first, as the app: it tunes malloc and defers imports before anything else loads.
from pathlib import Path
from app.application import Application
if os.environ.get("BENCH_ATTACH_DURING_INDEX"):  # the same-run reference: the workspace no longer waits
    import app.workspace.attach as _attach
    _attach.INDEX_WAIT_MS = 0
if os.environ.get("BENCH_TEXT_CARD_TABLE"):  # the same-run reference: the card tables as they were
    # (the whole text file read and kept as fixed-width digit strings, bisected; core/phone_geo.py
    # before it read blocks of a binary file)
    import core.phone_geo as _geo
    _text = {}
    def _text_tables():
        if not _text:
            tables = {"geo": {}, "carrier": {}}
            names = []
            for line in Path(os.environ["BENCH_TEXT_CARD_TABLE"]).read_text(encoding="utf-8").splitlines():
                parts = line.split("\t")
                if parts[0] == "names":
                    names = parts[1:]
                elif parts[0] in tables:
                    tables[parts[0]][int(parts[1])] = (parts[2], parts[3])
            _text.update(tables=tables, names=names, width=len(str(len(names) - 1)))
        return _text
    def _text_longest_prefix(kind, digits):
        t = _text_tables()
        tables = t["tables"][kind]
        for length in sorted(tables, reverse=True):
            if len(digits) < length:
                continue
            keys, vals = tables[length]
            key = digits[:length]
            lo, hi = 0, len(keys) // length
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid * length:(mid + 1) * length] < key:
                    lo = mid + 1
                else:
                    hi = mid
            if keys[lo * length:(lo + 1) * length] == key:
                return t["names"][int(vals[lo * t["width"]:(lo + 1) * t["width"]])]
        return ""
    _geo._longest_prefix = _text_longest_prefix
if os.environ.get("BENCH_BOLD_FACE"):  # the same-run reference: bold texts from the family's bold file
    import ui.style as _style  # (before ui/style.py made every bold a synthesized bold of the regular face)
    _style._regular_style = lambda family: ""
from PySide6.QtCore import QEventLoop, QTimer
a = Application(argparse.Namespace(data_dir=sys.argv[1], number=None, lang="zh_CN", command=None))
if a.start() is not None:  # (not an assert: `python -OO` would drop the call)
    raise SystemExit("the app did not start")
step("window_built")
loop = QEventLoop()
def until(cond, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        t = QTimer(singleShot=True, interval=5); t.timeout.connect(loop.quit); t.start(); loop.exec()
until(lambda: a.window.model.rowCount() > 0)
a.window.table.viewport().repaint()
step("first_page")
until(lambda: a.leads.index_ready)
step("index_ready")
until(lambda: a.workspace is not None and a.workspace.runtime.controller.phone is not None)
step("workspace")
t0 = time.monotonic()
until(lambda: time.monotonic() - t0 > 3.0, 5.0)
step("settled")
ROWS[-1]["split"] = split()
ROWS[-1]["numpy_loaded"] = "numpy" in sys.modules
print("RESULT " + json.dumps(ROWS), flush=True)
a._shutdown()
"""

# 3. the app in a call: settled (Qt audio on a private PulseAudio, the frozen bundle's plugins),
# then a call to the embedded demo's customer (a real pjsua2 peer process on 127.0.0.1 that
# answers and stays), sampled for BENCH_CALL_S seconds, then hung up.
_CALL = _COMMON + r"""
import argparse, os
from pathlib import Path
from app.application import Application  # first, as the app: allocator and deferred imports
import app.workspace.runtime as _rt
_ws = _rt.workspace_settings
def _bench_ws(settings):  # what a user runs: Qt audio on the sound server; the demo customer answers and stays
    options = _ws(settings)
    options.update(audio_backend=os.environ.get("BENCH_AUDIO", "qt"), demo_behaviour="answer",
                   demo_answer_delay_s=0.5)
    return options
_rt.workspace_settings = _bench_ws
if os.environ.get("BENCH_BOLD_FACE"):  # the same-run reference: bold texts from the family's bold file
    import ui.style as _style  # (before ui/style.py made every bold a synthesized bold of the regular face)
    _style._regular_style = lambda family: ""
from PySide6.QtCore import QEventLoop, QTimer
if os.environ.get("BENCH_PLUGINS_AS_BUNDLED"):
    # The frozen bundle has no multimedia/ plugin (packaging/bundle_trim.py: the FFmpeg backend,
    # with Qt Quick/QML); Qt Multimedia then plays through PulseAudio itself. Same plugins here.
    import tempfile
    from PySide6.QtCore import QCoreApplication, QLibraryInfo
    _plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    _mirror = Path(tempfile.mkdtemp(prefix="bench-plugins-"))
    for _kind in _plugins.iterdir():
        if _kind.name != "multimedia":
            (_mirror / _kind.name).symlink_to(_kind)
    QCoreApplication.setLibraryPaths([str(_mirror)])
a = Application(argparse.Namespace(data_dir=sys.argv[1], number=None, lang="zh_CN", command=None))
if a.start() is not None:  # (not an assert: `python -OO` would drop the call)
    raise SystemExit("the app did not start")
loop = QEventLoop()
def until(cond, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        t = QTimer(singleShot=True, interval=5); t.timeout.connect(loop.quit); t.start(); loop.exec()
    return cond()
until(lambda: a.leads.index_ready)
until(lambda: a.workspace is not None and a.workspace.runtime.controller.phone is not None)
t0 = time.monotonic(); until(lambda: time.monotonic() - t0 > 3.0, 5.0)
def threads():
    return len(os.listdir("/proc/self/task"))
step("settled"); ROWS[-1]["split"] = split(); ROWS[-1]["threads"] = threads()
ctrl = a.workspace.runtime.controller
placed = ctrl.dial_next()
answered = until(lambda: ctrl.active is not None and ctrl.active.answered_at is not None, 20.0)
step("call_answered"); ROWS[-1]["ok"] = bool(placed and answered)
ROWS[-1]["gate"] = str(getattr(ctrl.last_gate, "rule", ""))
top = 0.0
t0 = time.monotonic()
while time.monotonic() - t0 < float(os.environ.get("BENCH_CALL_S", "10")):  # bounded: the call's seconds
    until(lambda: False, 0.25)
    top = max(top, rss()[0])
import collections
_per = collections.Counter(); _name = ""
for _line in open("/proc/self/smaps"):
    _h = _line.split(None, 6)
    if "-" in _h[0] and not _h[0].endswith(":"):
        _name = _h[5].strip() if len(_h) > 5 else "[anon]"
    elif _h[0] == "Rss:":
        _per[_name.split("/")[-1]] += int(_h[1])
step("in_call"); ROWS[-1]["files"] = _per.most_common(12); ROWS[-1]["split"] = split(); ROWS[-1]["threads"] = threads(); ROWS[-1]["max"] = top
ROWS[-1]["still_up"] = ctrl.active is not None and ctrl.active.answered_at is not None
ctrl.hangup() if hasattr(ctrl, "hangup") else None
until(lambda: ctrl.active is None, 10.0)
t0 = time.monotonic(); until(lambda: time.monotonic() - t0 > 2.0, 4.0)
step("after_call"); ROWS[-1]["split"] = split(); ROWS[-1]["threads"] = threads()
print("RESULT " + json.dumps(ROWS), flush=True)
a._shutdown()
"""

_PEER = _COMMON + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
qa = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1280, 800); w.show(); qa.processEvents()
step("empty_window")
print("RESULT " + json.dumps(ROWS), flush=True)
"""


def _child(code: str, *args: str, **env_extra: str) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), **env_extra)
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"memory benchmark child failed:\n{proc.stderr[-3000:]}")


def _text_card_table(path: Path) -> Path:
    """core/data/cn_phone_zh.bin written back in the text format it replaced (for the reference)."""
    from core import phone_geo

    reader = phone_geo._Reader(phone_geo.DATA_FILE)
    width = len(str(len(reader.names) - 1))
    lines = ["names\t" + "\t".join(reader.names)]
    for kind, tables in sorted(reader.tables.items()):
        for table in sorted(tables, key=lambda t: t.length):
            keys = phone_geo._uint(reader._read(table.keys_at, 4 * table.count), "I")
            vals = phone_geo._uint(reader._read(table.vals_at, 2 * table.count), "H")
            lines.append(f"{kind}\t{table.length}\t" + "".join(f"{k:0{table.length}d}" for k in keys) + "\t"
                         + "".join(f"{v:0{width}d}" for v in vals))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _copy_cache(root: Path, prefix: str) -> Path:
    """A private copy of bench_foundation's cache in a new temporary folder (SQLite's backup, so
    a consistent copy even of a WAL database): runs that write to it leave the shared one as built."""
    import sqlite3
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=prefix))
    src = sqlite3.connect(f"file:{root / 'cache.sqlite3'}?mode=ro", uri=True)
    dst = sqlite3.connect(work / "cache.sqlite3")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return work


def _call_run(root: Path, call_s: float, **env_extra: str) -> tuple[list[dict], str]:
    """The in-call child on a copy of the cache (a call writes call records, outbox events, a
    wrap-up draft and a recording: the shared bench cache stays as bench_foundation built it)."""
    work = _copy_cache(root, "seatmate-bench-call-")
    env = {"BENCH_CALL_S": str(call_s), "BENCH_PLUGINS_AS_BUNDLED": "1", **env_extra}
    pulse = None
    if shutil.which("pulseaudio"):
        from tests.integration.audio.pulse import PulseDaemon

        pulse = PulseDaemon(warm_taps=False).start()
        env.update(pulse.env)
        audio = "Qt audio on a private PulseAudio (null sinks)"
    else:
        env["BENCH_AUDIO"] = "tone"
        audio = "no sound server: the tone backend (no Qt Multimedia)"
    try:
        return _child(_CALL, str(work), **env), audio
    finally:
        if pulse is not None:
            pulse.stop()
        shutil.rmtree(work, ignore_errors=True)


def _status(pid: int) -> dict[str, float]:
    f = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
    return {k: int(f[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def _external_run(cmd: list[str], root: Path) -> dict[str, float]:
    """The app started as users start it (``cmd --data-dir …``: the frozen bundle, or the venv's
    ``python -m app`` as its reference), on a copy of the cache, measured from outside: RSS 3 s
    after its log says the workspace attached (bounded 60 s), then stopped with SIGTERM."""
    import signal
    import time

    work = _copy_cache(root, "seatmate-bench-ext-")
    try:
        if (root / "config").is_dir():
            shutil.copytree(root / "config", work / "config")
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        proc = subprocess.Popen([*cmd, "--data-dir", str(work), "--lang", "zh_CN"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = work / "logs" / "seatmate.log"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:  # bounded: 60 s
                if log.exists() and "workspace attached" in log.read_text(encoding="utf-8", errors="replace"):
                    break
                time.sleep(0.1)
            else:
                raise SystemExit(f"{cmd[0]}: the workspace did not attach within 60 s")
            time.sleep(3.0)
            return _status(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _linphonec_in_call(call_s: float) -> dict:
    """The reference, run by ``unshare -n`` (PEERS.md: outside a private namespace linphonec puts
    the machine's external address in its SDP): linphonec in a call to a sipp UAS that answers
    with PCMU and echoes RTP, playing a WAV (as bench_softphone measures it). RSS idle and in call."""
    import array
    import math
    import tempfile
    import time
    import wave

    from tests.bench.bench_softphone import UAS_PORT, UAS_URI, LinphoneUA, rss_mb
    from tests.processes import stop_popen

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = Path(tempfile.mkdtemp(prefix="seatmate-bench-linphonec-"))
    wav = work / "tone.wav"
    with wave.open(str(wav), "wb") as w:  # 8 kHz, 16-bit, 440 Hz, 60 s
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(array.array("h", (int(9830 * math.sin(2 * math.pi * 440 * i / 8000))
                                        for i in range(8000 * 60))).tobytes())
    sipp = subprocess.Popen(["sipp", "-sn", "uas", "-p", str(UAS_PORT), "-i", "127.0.0.1", "-mi", "127.0.0.1",
                             "-rtp_echo", "-mp", "6000", "-nostdin"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    ua = LinphoneUA(work, wav)
    try:
        ua.start()
        time.sleep(2.0)
        idle = rss_mb(ua.pid)
        ua.dial(UAS_URI)
        ua.wait_established(10)
        top, t0 = 0.0, time.monotonic()
        while time.monotonic() - t0 < call_s:  # bounded: the call's seconds
            time.sleep(0.25)
            top = max(top, rss_mb(ua.pid))
        ua.hangup()
        return {"idle": idle, "in_call": top}
    finally:
        ua.stop()
        stop_popen(sipp)
        shutil.rmtree(work, ignore_errors=True)


def _linphonec_reference(call_s: float) -> dict | None:
    if not all(shutil.which(t) for t in ("unshare", "ip", "sipp", "linphonec")):
        return None
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.bench.bench_memory",
                           "--linphonec-ref", str(call_s)], cwd=ROOT, capture_output=True, text=True,
                          timeout=90)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"(linphonec reference failed: {proc.stderr[-500:]})")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seatmate memory breakdown")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "memory.json"))
    parser.add_argument("--call-seconds", type=float, default=10.0, help="the in-call sample window")
    parser.add_argument("--no-call", action="store_true", help="skip the in-call runs (app and linphonec)")
    parser.add_argument("--linphonec-ref", type=float, help=argparse.SUPPRESS)  # the child inside unshare -n
    parser.add_argument("--frozen", action="append", default=[], metavar="DIST",
                        help="also start this frozen bundle (a dist/seatmate folder; repeatable) as users do, "
                             "with the venv's `python -m app` started the same way as its reference")
    args = parser.parse_args(argv)
    if args.linphonec_ref is not None:
        print("RESULT " + json.dumps(_linphonec_in_call(args.linphonec_ref)), flush=True)
        return 0
    from tests.bench.bench_foundation import build_cache
    from tests.bench.results import merge_results

    root = build_cache(args.leads)
    load_before = os.getloadavg()
    peer = _child(_PEER)
    parts = _child(_PARTS, str(root))
    app = _child(_APP, str(root))
    # Same run, glibc's malloc defaults (app/allocator.py switched off): what the tuning saves.
    untuned = _child(_APP, str(root), SEATMATE_MALLOC_TUNE="0")
    # … and with the workspace attached while the index builds (app.workspace.attach._after_index).
    overlapped = _child(_APP, str(root), BENCH_ATTACH_DURING_INDEX="1")
    # … and without this session's three start-up cuts: SQLAlchemy's asyncio and importlib.metadata
    # imported (app/deferred_import.py), SQLite's default 2 MB page caches, the card tables as text.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        text_table = _text_card_table(Path(tmp) / "cn_phone_zh.tsv")
        uncut = _child(_APP, str(root), SEATMATE_DEFER_IMPORTS="0", SEATMATE_SQLITE_CACHE_KIB="2000",
                       BENCH_TEXT_CARD_TABLE=str(text_table))
    # … and under `python -OO` (docstrings and asserts dropped), as the frozen build's bytecode is
    # (build_installer.spec: optimize=2). Run twice: the first run only writes the .opt-2.pyc files.
    _child(_APP, str(root), PYTHONOPTIMIZE="2")
    optimized = _child(_APP, str(root), PYTHONOPTIMIZE="2")
    # … and with bold texts drawn from the CJK family's bold file (ui/style.py: synthesized bold).
    bold_face = _child(_APP, str(root), BENCH_BOLD_FACE="1")
    external = []
    if args.frozen:
        external.append(("venv: python -m app", _external_run([sys.executable, "-m", "app"], root)))
        for dist in args.frozen:
            external.append((f"frozen: {dist}", _external_run([str(Path(dist) / "seatmate")], root)))
    call, audio = _call_run(root, args.call_seconds) if not args.no_call else ([], "")
    call_bold = _call_run(root, args.call_seconds, BENCH_BOLD_FACE="1")[0] if not args.no_call else []
    linphonec = _linphonec_reference(args.call_seconds) if not args.no_call else None
    load_after = os.getloadavg()
    out: list[dict] = []
    print(f"\nMemory breakdown — {args.leads:,} leads; load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    print(f"{'part (loaded in this order)':32} {'RSS delta':>10} {'anon':>8} {'files':>8} {'RSS':>8} {'peak':>8}")
    for r in parts[1:]:
        print(f"{r['step']:32} {r['delta']:>+8.1f} MB {r['anon']:>+6.1f} MB {r['file']:>+6.1f} MB "
              f"{r['rss']:>6.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"part_{r['step']}_mb", "value": round(r["delta"], 1), "unit": "MB"})
    index = next(r for r in parts if r["step"] == "index")
    before = parts[parts.index(index) - 1]
    out.append({"metric": "part_index_build_transient_mb", "value": round(index["peak"] - before["rss"]
                                                                         - index["delta"], 1), "unit": "MB"})
    print(f"{'app stage':32} {'RSS':>10} {'peak':>8}")
    for r in app[1:]:
        print(f"{r['step']:32} {r['rss']:>8.1f} MB {r['peak']:>6.1f} MB")
        out.append({"metric": f"app_rss_{r['step']}_mb", "value": round(r["rss"], 1), "unit": "MB"})
    out.append({"metric": "app_rss_peak_mb", "value": round(app[-1]["peak"], 1), "unit": "MB"})
    # The highest RSS until the index was ready: the index build's peak (the workspace comes after it).
    build_peak = next(r for r in app if r["step"] == "index_ready")["peak"]
    print(f"{'peak until the index was ready':32} {build_peak:>17.1f} MB")
    out.append({"metric": "app_rss_peak_until_index_ready_mb", "value": round(build_peak, 1), "unit": "MB"})
    print(f"numpy loaded: by the search index {index.get('numpy_loaded')}, "
          f"in the app after start-up {app[-1].get('numpy_loaded')}")
    out += [{"metric": "part_index_loads_numpy", "value": int(bool(index.get("numpy_loaded"))), "unit": "bool"},
            {"metric": "app_numpy_loaded", "value": int(bool(app[-1].get("numpy_loaded"))), "unit": "bool"}]
    print(f"{'glibc malloc defaults (same run)':32} {untuned[-1]['rss']:>8.1f} MB {untuned[-1]['peak']:>6.1f} MB")
    out += [{"metric": "app_rss_settled_mb", "value": round(untuned[-1]["rss"], 1), "unit": "MB",
             "peer": "glibc malloc defaults (SEATMATE_MALLOC_TUNE=0)"},
            {"metric": "app_rss_peak_mb", "value": round(untuned[-1]["peak"], 1), "unit": "MB",
             "peer": "glibc malloc defaults (SEATMATE_MALLOC_TUNE=0)"}]
    print(f"{'workspace during the index build':32} {overlapped[-1]['rss']:>8.1f} MB {overlapped[-1]['peak']:>6.1f} MB")
    out += [{"metric": "app_rss_settled_mb", "value": round(overlapped[-1]["rss"], 1), "unit": "MB",
             "peer": "workspace attached during the index build"},
            {"metric": "app_rss_peak_mb", "value": round(overlapped[-1]["peak"], 1), "unit": "MB",
             "peer": "workspace attached during the index build"}]
    label = "asyncio/importlib.metadata imported, SQLite 2 MB page caches, text card tables (same run)"
    print(f"{'without the 3 cuts of session 6':32} {uncut[-1]['rss']:>8.1f} MB {uncut[-1]['peak']:>6.1f} MB"
          f"   ({label})")
    out += [{"metric": "app_rss_settled_mb", "value": round(uncut[-1]["rss"], 1), "unit": "MB", "peer": label},
            {"metric": "app_rss_peak_mb", "value": round(uncut[-1]["peak"], 1), "unit": "MB", "peer": label}]
    label = "python -OO: docstrings and asserts dropped, as in the frozen build (same run)"
    print(f"{'python -OO':32} {optimized[-1]['rss']:>8.1f} MB {optimized[-1]['peak']:>6.1f} MB   ({label})")
    out += [{"metric": "app_rss_settled_mb", "value": round(optimized[-1]["rss"], 1), "unit": "MB", "peer": label},
            {"metric": "app_rss_peak_mb", "value": round(optimized[-1]["peak"], 1), "unit": "MB", "peer": label}]
    label = "bold texts from the CJK family's bold file, not synthesized (same run)"
    print(f"{'bold face file':32} {bold_face[-1]['rss']:>8.1f} MB {bold_face[-1]['peak']:>6.1f} MB   ({label}; "
          f"bold font pages {bold_face[-1]['split']['bold_fonts']:.1f} MB, app {app[-1]['split']['bold_fonts']:.1f})")
    bold_build_peak = next(r for r in bold_face if r["step"] == "index_ready")["peak"]
    print(f"{'  its peak until the index ready':32} {bold_build_peak:>17.1f} MB")
    out += [{"metric": "app_rss_settled_mb", "value": round(bold_face[-1]["rss"], 1), "unit": "MB", "peer": label},
            {"metric": "app_rss_peak_mb", "value": round(bold_face[-1]["peak"], 1), "unit": "MB", "peer": label},
            {"metric": "app_rss_peak_until_index_ready_mb", "value": round(bold_build_peak, 1), "unit": "MB",
             "peer": label}]
    for name, st in external:
        print(f"{'started as users do':32} {st['VmRSS']:>8.1f} MB {st['VmHWM']:>6.1f} MB   ({name}; anon "
              f"{st['RssAnon']:.1f}, files {st['RssFile']:.1f})")
        out += [{"metric": "app_rss_settled_mb", "value": round(st["VmRSS"], 1), "unit": "MB", "peer": name},
                {"metric": "app_rss_peak_mb", "value": round(st["VmHWM"], 1), "unit": "MB", "peer": name}]
    if call:
        by = {r["step"]: r for r in call}
        settled, in_call = by["settled"], by["in_call"]
        print(f"in a call — {audio}; Qt plugins as bundled (no FFmpeg media backend); "
              f"the demo customer answered: {by['call_answered'].get('ok')}, still up after "
              f"{args.call_seconds:.0f} s: {in_call.get('still_up')}")
        for name in ("settled", "call_answered", "in_call", "after_call"):
            r = by[name]
            print(f"  {name:30} {r['rss']:>8.1f} MB  (anon {r['anon']:+.1f}, files {r['file']:+.1f} vs the row above)")
        print(f"  {'highest RSS during the call':30} {in_call['max']:>8.1f} MB; threads {settled['threads']} → "
              f"{in_call['threads']}; the call added {in_call['max'] - settled['rss']:+.1f} MB "
              f"(anon {in_call['split']['anon'] - settled['split']['anon']:+.1f}, "
              f"files {in_call['split']['file'] - settled['split']['file']:+.1f})")
        out += [{"metric": "call_app_rss_settled_mb", "value": round(settled["rss"], 1), "unit": "MB"},
                {"metric": "call_app_rss_in_call_mb", "value": round(in_call["max"], 1), "unit": "MB"},
                {"metric": "call_app_rss_after_call_mb", "value": round(by["after_call"]["rss"], 1), "unit": "MB"},
                {"metric": "call_adds_anon_mb", "value": round(in_call["split"]["anon"] - settled["split"]["anon"], 1),
                 "unit": "MB"},
                {"metric": "call_adds_file_mb", "value": round(in_call["split"]["file"] - settled["split"]["file"], 1),
                 "unit": "MB"},
                {"metric": "call_answered", "value": int(bool(by["call_answered"].get("ok"))), "unit": "bool"}]
        out += [{"metric": f"call_settled_{k}_mb", "value": v, "unit": "MB"} for k, v in settled["split"].items()]
    if call_bold:
        bold_in_call = next(r for r in call_bold if r["step"] == "in_call")
        label = "bold texts from the CJK family's bold file, not synthesized (same run)"
        print(f"  {'reference: bold face file':30} {bold_in_call['max']:>8.1f} MB highest in the call ({label})")
        out.append({"metric": "call_app_rss_in_call_mb", "value": round(bold_in_call["max"], 1), "unit": "MB",
                    "peer": label})
    if linphonec:
        print(f"  {'reference: linphonec in a call':30} {linphonec['in_call']:>8.1f} MB (idle {linphonec['idle']:.1f})")
        out.append({"metric": "call_app_rss_in_call_mb", "value": round(linphonec["in_call"], 1), "unit": "MB",
                    "peer": "linphonec in a call (sipp UAS, same run)"})
    print("settled, by kind (MB): anonymous = private dirty; file-backed = libraries and fonts, shared/reclaimable")
    for label, rows in (("app", app), ("glibc malloc defaults", untuned), ("bold face file", bold_face),
                        ("parts, all loaded", parts),
                        *((("app with Qt audio", [call[1]]),) if call else ())):
        sp = rows[-1]["split"]
        print(f"  {label:22} " + "  ".join(f"{k} {v:.1f}" for k, v in sp.items()))
    out += [{"metric": f"app_settled_{k}_mb", "value": v, "unit": "MB"} for k, v in app[-1]["split"].items()]
    ref = peer[-1]["rss"]
    print(f"{'reference: empty PySide6 window':32} {ref:>8.1f} MB")
    out.append({"metric": "app_rss_settled_mb", "value": round(ref, 1), "unit": "MB",
                "peer": "empty PySide6 window"})
    out += [{"metric": "load_avg_1min_start", "value": round(load_before[0], 2), "unit": "load"},
            {"metric": "load_avg_1min_end", "value": round(load_after[0], 2), "unit": "load"}]
    merge_results(out, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
