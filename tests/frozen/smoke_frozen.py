"""Smoke test of the FROZEN build (dist/seatmate/seatmate), as a user would start it.

Run through scripts/smoke-frozen.sh (it adds the private D-Bus session). Not a
pytest test: it needs a build made first (scripts/build-installer.sh, ~1 min).

Checks, each on the frozen binary with a private HOME / XDG folders:
  1. ``seatmate --self-test`` on the embedded demo: the window shows the demo leads,
     the UI is in Chinese (a translated title), the cache was created through the
     Alembic migration files (revision == cache/db.py HEAD_REVISION), the
     workspace attached, the softphone (a pjsua2 Endpoint) registered with the demo
     line (a second frozen process: ``seatmate -m app.demo.customer``), and the OS
     keyring (gnome-keyring over D-Bus) stores and returns a secret.
     The demo customer (``seatmate -m app.demo.customer``) reads all its voice lines from
     the build's resources/sounds/demo, and the app icon's PNG sizes are shipped.
  2. ``seatmate import-leads <the demo CSV shipped in the build> --json`` imports rows.
  3. ``seatmate --lang en --self-test`` again on that cache: English UI, the imported
     leads are there, a warm start.
  4. A desktop session: Xvfb (the xcb platform plugin) and a private PulseAudio with
     null sinks, ``audio_backend: qt``: Qt Multimedia lists the sound devices, and the TL's
     recording player (``seatmate -m app.supervisor.player_check``) plays a WAV on the
     default output at 1× and 2× (QAudioSink: the build has no FFmpeg backend).
  0. (first) What the build leaves out is out (numpy, FFmpeg, Qt Quick/QML), and every
     NEEDED entry of every ELF file resolves to a bundled file, to
     packaging/bundle_trim.HOST_LIBS (taken from the target) or to glibc.
The log files must hold no ERROR line or traceback. Prints a table; exit 0 = passed.
Writes bench-results/frozen.json (build size, start → ready times).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "seatmate"
BINARY = DIST / "seatmate"
RUN_TIMEOUT_S = 120
SELF_TEST_TIMEOUT_S = 60
sys.path.insert(0, str(ROOT))


class SmokeError(AssertionError):
    pass


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise SmokeError(f"{what}{': ' + str(detail) if detail != '' else ''}")
    print(f"  ok  {what}")


def private_env(home: Path) -> dict[str, str]:
    """A fresh user: nothing from the developer's HOME, venv or Python setup leaks in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "XDG_", "SEATMATE_", "QT_", "LD_"))}
    run = home / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".local/state"),
               XDG_CACHE_HOME=str(home / ".cache"), QT_QPA_PLATFORM="offscreen",
               SEATMATE_SELF_TEST_KEYRING="1", LANG="C.UTF-8")
    # The venv's bin must not be found: the frozen app has to start its helpers from itself.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def _secret_service_up() -> bool:
    out = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                          "string:org.freedesktop.secrets"], capture_output=True, text=True, timeout=10)
    return "boolean true" in out.stdout


@contextlib.contextmanager
def keyring_daemon(env: dict[str, str]):
    """A real, unlocked gnome-keyring Secret Service in this D-Bus session."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        raise SmokeError("no D-Bus session bus: run scripts/smoke-frozen.sh (it uses dbus-run-session)")
    daemon = shutil.which("gnome-keyring-daemon")
    if daemon is None:
        raise SmokeError("gnome-keyring-daemon is not installed (apt: gnome-keyring)")
    proc = None
    if not _secret_service_up():
        proc = subprocess.Popen([daemon, "--unlock", "--components=secrets", "--foreground"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        proc.stdin.write(b"smoke-unlock-password")
        proc.stdin.close()
        deadline = time.monotonic() + 10
        while not _secret_service_up():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SmokeError(f"gnome-keyring-daemon did not come up: {proc.stderr.read().decode(errors='replace')}")
            time.sleep(0.05)
    try:
        yield
    finally:
        if proc is not None:
            _stop(proc)


@contextlib.contextmanager
def desktop(env: dict[str, str]):
    """An X server (Xvfb) and a private PulseAudio with fake devices, for one run."""
    from tests.integration.audio.pulse import PulseDaemon

    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SmokeError("Xvfb is not installed (apt: xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        display = ""
        deadline = time.monotonic() + 15
        while not display.endswith("\n") and time.monotonic() < deadline and proc.poll() is None:
            chunk = os.read(read_fd, 16).decode()
            if not chunk:
                break
            display += chunk
        if not display.strip():
            raise SmokeError("Xvfb did not start")
        with PulseDaemon(warm_taps=False) as pulse:
            yield dict(env, DISPLAY=f":{display.strip()}", QT_QPA_PLATFORM="xcb",
                       PULSE_SERVER=pulse.env["PULSE_SERVER"])
    finally:
        os.close(read_fd)
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it has not gone within 5 s."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def set_audio_backend(home: Path, backend: str) -> None:
    settings = home / ".config" / "Seatmate" / "settings.json"
    data = json.loads(settings.read_text(encoding="utf-8")) if settings.exists() else {}
    data.setdefault("workspace", {})["audio_backend"] = backend
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def run_frozen(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, cwd=env["HOME"])
    except subprocess.TimeoutExpired as exc:
        raise SmokeError(f"seatmate {' '.join(args)} did not finish in {RUN_TIMEOUT_S} s; "
                         f"stderr tail: {(exc.stderr or b'')[-2000:]!r}") from exc
    return proc, time.perf_counter() - t0


def json_line(proc: subprocess.CompletedProcess[str], key: str) -> dict:
    """The report line: other stdout lines (pjlib's banner) are skipped."""
    for line in reversed(proc.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if key in data:
                    return data
    raise SmokeError(f"no JSON report on stdout (exit {proc.returncode}); "
                     f"stdout tail: {proc.stdout[-1500:]!r}; stderr tail: {proc.stderr[-3000:]!r}")


def self_test(env: dict[str, str], *extra: str) -> tuple[dict, float]:
    proc, wall = run_frozen([*extra, "--self-test", "--self-test-timeout", str(SELF_TEST_TIMEOUT_S)], env)
    report = json_line(proc, "ok")
    print("  report: " + json.dumps(report, ensure_ascii=False))
    check(proc.returncode == 0 and report["ok"], "self-test passed", f"exit {proc.returncode}")
    return report, wall


def demo_customer_voices(env: dict[str, str]) -> int:
    """How many voice lines the frozen demo customer read from its WAV files (its ready event)."""
    proc = subprocess.Popen([str(BINARY), "-m", "app.demo.customer", "--port", "0"], env=env, cwd=env["HOME"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "ready":
                    return int(event.get("voices", 0))
        raise SmokeError("the frozen demo customer sent no ready event")
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.write("quit\n")
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def bundle_layout() -> dict[str, object]:
    """Step 0: what the trim removed is gone, and nothing needs a library that is neither in
    the bundle nor in the declared host list (bundle_trim.HOST_LIBS) nor glibc."""
    sys.path.insert(0, str(ROOT / "packaging"))
    import bundle_trim

    files = [p for p in DIST.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in DIST.rglob("*") if p.is_file()}  # symlinks that resolve count too
    dangling = sorted(p.name for p in DIST.rglob("*") if p.is_symlink() and not p.exists())
    unwanted = sorted(p.relative_to(DIST).as_posix() for p in files
                      if p.name.startswith(("libavcodec", "libavformat", "libavutil", "libQt6Quick", "libQt6Qml",
                                            "libffmpegmediaplugin", "libscipy_openblas"))
                      or "/numpy/" in p.as_posix())
    missing: dict[str, list[str]] = {}
    for path in files:
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        for soname in bundle_trim._needed(str(path)):
            if soname not in names and soname not in bundle_trim.HOST_LIBS and soname not in bundle_trim.GLIBC:
                missing.setdefault(soname, []).append(path.relative_to(DIST).as_posix())
    return {"unwanted": unwanted, "missing": missing, "dangling": dangling}


def player_check(env: dict[str, str], home: Path) -> dict:
    """The TL's recording player in the frozen build: a 10 s stereo WAV on the default output."""
    import math
    import struct
    import wave

    rate, path = 8000, home / "recording.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<hh", int(12000 * math.sin(2 * math.pi * 440 * i / rate)),
                                           int(8000 * math.sin(2 * math.pi * 300 * i / rate)))
                               for i in range(10 * rate)))
    proc, _wall = run_frozen(["-m", "app.supervisor.player_check", str(path)], env)
    report = json_line(proc, "on_device")
    print("  player: " + json.dumps(report, ensure_ascii=False))
    return report


def log_problems(home: Path) -> list[str]:
    bad = []
    for log in home.rglob("*.log"):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                bad.append(f"{log.name}: {line}")
    return bad


def main() -> int:
    from cache.db import HEAD_REVISION

    if not BINARY.exists():
        print(f"smoke-frozen: {BINARY.relative_to(ROOT)} is missing: run scripts/build-installer.sh first",
              file=sys.stderr)
        return 1
    csv = DIST / "_internal" / "resources" / "data" / "leads_renewal_demo.csv"
    metrics: dict[str, float] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seatmate-frozen-") as tmp:
        home = Path(tmp)
        env = private_env(home)
        try:
            print("0. what the build leaves out, and what it takes from the target")
            layout = bundle_layout()
            check(not layout["unwanted"], "no numpy, FFmpeg or Qt Quick/QML in the build", layout["unwanted"])
            check(not layout["missing"], "every NEEDED library is bundled, a declared host library or glibc",
                  layout["missing"])
            check(not layout["dangling"], "no symlink to a dropped file", layout["dangling"])
            with keyring_daemon(env):
                print("1. frozen start on the embedded demo (zh_CN)")
                report, wall = self_test(env)
                check(report["frozen"], "it is the frozen build")
                check(report["mode"] == "demo", "embedded demo mode")
                check(report["window_visible"], "main window shown")
                check(report["leads_shown"] > 0 and report["leads_total"] == report["leads_shown"],
                      f"demo leads on screen ({report['leads_shown']})")
                check(report["language"] == "zh_CN" and report["window_title"] == "坐席助手",
                      "zh_CN translation loaded (title 坐席助手)", report["window_title"])
                check("条名单" in report["lead_count_text"], "status bar in Chinese", report["lead_count_text"])
                check(report["schema"].get("revision") == HEAD_REVISION
                      and report["schema"].get("migrations_head") == HEAD_REVISION,
                      f"cache migrated by Alembic to {HEAD_REVISION}", report["schema"])
                check((home / ".local/share/Seatmate/cache.sqlite3").exists(), "cache in the user's data folder")
                check(report["phone"]["started"] and report["phone"]["registered"],
                      "pjsua2 softphone registered with the demo line", report["phone"])
                check(report["keyring"].get("secure") and report["keyring"].get("roundtrip") is True,
                      "keyring SecretService backend stores a secret", report["keyring"])
                metrics["first_start_wall_s"] = wall
                metrics["first_start_ready_ms"] = report["ready_ms"]
                demo_leads = report["leads_total"]
                from app.demo.personas import LINES

                voices = demo_customer_voices(env)
                check(voices == len(LINES), f"the demo customer speaks: {voices} voice lines shipped", voices)
                icons = DIST / "_internal" / "resources" / "icons"
                check(all((icons / f"seatmate-{size}.png").exists() for size in (16, 32, 48, 256)),
                      "the app icon is shipped", icons)

                print("2. seatmate import-leads (the CSV shipped in the build)")
                check(csv.exists(), "demo CSV shipped in the build", csv)
                proc, wall = run_frozen(["import-leads", str(csv), "--campaign", "冒烟测试", "--json"], env)
                check(proc.returncode == 0, "import-leads exit 0", proc.stderr[-2000:])
                imported = json_line(proc, "imported")
                check(imported["imported"] > 0 and not imported.get("skipped"),
                      f"{imported['imported']} leads imported", imported)
                metrics["import_leads_wall_s"] = wall

                print("3. second start, English UI, same cache")
                report, wall = self_test(env, "--lang", "en")
                check(report["language"] == "en" and report["window_title"] == "Seatmate", "English UI",
                      report["window_title"])
                check(report["leads_total"] == demo_leads + imported["imported"],
                      f"imported leads in the cache ({report['leads_total']})")
                metrics["warm_start_wall_s"] = wall
                metrics["warm_start_ready_ms"] = report["ready_ms"]

                print("4. desktop session: X11 (Xvfb) and PulseAudio, Qt audio")
                set_audio_backend(home, "qt")
                with desktop(env) as desk_env:
                    report, wall = self_test(desk_env)
                    player = player_check(desk_env, home)
                check(report["platform"] == "xcb", "xcb platform plugin", report["platform"])
                audio = report["audio"]
                check(audio["backend"] == "qt" and audio["outputs"] > 0 and audio["inputs"] > 0
                      and audio["speaker"] and audio["microphone"],
                      f"Qt Multimedia sees the sound devices ({audio['outputs']} out, {audio['inputs']} in)", audio)
                check(audio.get("pump") == "c", "the call audio moves in the bundled C pump", audio)
                check(player["on_device"] and player["device_took_ms"] > 0,
                      f"the recording player plays on the sound device ({player['device']})", player)
                check(0.7 < player["speed_1x"] < 1.3 and 1.5 < player["speed_2x"] < 2.5,
                      f"1× and 2× ({player['speed_1x']}, {player['speed_2x']} s of recording per second)", player)
                metrics["desktop_start_wall_s"] = wall
            problems = log_problems(home)
            check(not problems, "no ERROR or traceback in the logs", "\n".join(problems[:20]))
        except SmokeError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            for line in log_problems(home)[:20]:
                print(f"  log: {line}", file=sys.stderr)
            return 1
    metrics["smoke_total_s"] = time.perf_counter() - t_all
    size = sum(f.stat().st_size for f in DIST.rglob("*") if f.is_file() and not f.is_symlink())
    metrics["dist_size_mb"] = size / 1e6
    units = {"_s": "s", "_ms": "ms", "_mb": "MB"}
    rows = [{"metric": k, "value": round(v, 1), "unit": next(u for s, u in units.items() if k.endswith(s))}
            for k, v in metrics.items()]
    print(f"\n{'metric':<24}{'value':>10}  unit")
    for r in rows:
        print(f"{r['metric']:<24}{r['value']:>10}  {r['unit']}")
    out = ROOT / "bench-results" / "frozen.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print("smoke-frozen: PASSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
