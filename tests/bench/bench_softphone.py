"""Softphone benchmark: Seatmate vs baresip vs linphonec against one sipp UAS.

Run:  .venv/bin/python -m tests.bench.bench_softphone [--quick] [--runs N]

Everything runs inside a private network namespace (``unshare -n``: the script
re-executes itself there), so every address is 127.0.0.1, fixed ports cannot
collide with anything else on the machine, and the capture on ``lo`` sees only
this benchmark. Per UA and run (5 runs by default):

- call setup: the dial timestamp (taken just before the dial command, wall
  clock) to the 200 OK's kernel timestamp in a dumpcap capture on lo (same clock);
- CPU: the sum of the process's threads' run time (/proc/PID/task/*/schedstat, ns) over a 20 s
  established call, in % of one core (utime+stime if a thread came or went meanwhile);
- RSS: VmRSS idle (2 s after start) and during the call.

Then one 60 s Seatmate call with the GUI thread kept 30 % busy in pure Python:
audio frame underruns and overruns from the audio bridge's counters.

The comparison is fair only if every UA really sends audio during the measured window
(the app's first microphone, a module-sine-source, handed Qt 2-4 KB in 4 s: the mic path
idled). So the app's microphone is a null sink's monitor with a tone played into the sink
without a break, and the bench prints, per UA and window, what reached the UAS: RTP packets
a second, the share of 20 ms packets carrying sound, the tone's pitch, the longest gap (a
dumpcap capture of the RTP sent to sipp), and for the app the bytes Qt's source delivered
(AudioStats.mic_bytes); the check "every UA sent its tone ..." fails otherwise.
``--peer-audio pulse`` puts baresip and linphonec on the same PulseAudio microphone and
speaker as the app (the default, file audio, has them read a WAV and play nowhere).

Seatmate runs as a real app process (QApplication + SIP engine + Qt audio on a
private PulseAudio daemon with null sinks) in three rows: ``seatmate`` (the
app's default 8 kHz bridge for G.711 trunks), ``seatmate-wideband`` (16 kHz
bridge, ``audio.wideband``) and ``seatmate-engine`` (headless audio, to split
the engine's cost from the audio path); baresip and linphonec use file audio
(PEERS.md). sipp answers with PCMU and echoes RTP. Results: a table on
stdout and bench-results/softphone.json ({"metric", "value", "unit"} rows,
"peer" on the reference rows). Targets (issue 3): setup <= 1.2x the fastest
peer, zero underruns; issue 16: CPU within 0.5 points of baresip and not above linphonec.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pty
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.bench.results import merge_results
from tests.processes import stop_popen

ROOT = Path(__file__).resolve().parents[2]
UAS_PORT = 5090  # fixed ports are safe: the namespace is ours alone
UAS_URI = f"sip:service@127.0.0.1:{UAS_PORT}"
CLK_TCK = os.sysconf("SC_CLK_TCK")
UAS_RTP_PORT = 6000  # sipp's RTP echo port (-mp)
SETTLE_S = 3.0  # established call -> measured window
BENCH_MIC, BENCH_SPEAKER = "seat_bench_mic", "seat_speaker"  # PulseAudio names ("Bench Mic", "Speakers")
MIC_TONE_HZ = 440.0  # what every UA "says": the peers' WAV and the tone in the app's microphone
FRAME_RATE = 50  # RTP packets a second at 20 ms ptime


class BenchError(RuntimeError):
    pass


class _Done(Exception):
    """Nothing more was asked for (--only)."""


# ---- measuring a process --------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (where a process spends its time), from each thread's
    schedstat: nanoseconds on a CPU, where utime/stime count 10 ms ticks (0.1 % of a core
    over a 10 s window per tick: too coarse for threads that use 0.2 %)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        # Threads inherit their creator's name: the thread id keeps same-named ones apart.
        out[f"{comm}/{task.name}"] = ns / 1e9
    return out


def task_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread id, from schedstat (ns resolution)."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return out


def thread_wakeups(pid: int) -> dict[str, int]:
    """Context switches per thread name: how often each thread sleeps and wakes."""
    out: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
        except OSError:
            continue
        n = sum(int(line.split()[1]) for line in status.splitlines()
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        out[comm] = out.get(comm, 0) + n
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- the app's microphone -------------------------------------------------------------
class ToneFeed:
    """A sine played into a null sink without a break, for as long as the bench runs: pacat
    reads it from a pipe, so PulseAudio paces it (a restarted paplay would leave gaps that
    count as microphone underruns)."""

    RATE = 16000

    def __init__(self, env: dict[str, str], sink: str, hz: float, latency_ms: int) -> None:
        # One second of a tone with a whole number of cycles: chunks join without a click.
        n = self.RATE
        self.chunk = (0.4 * 32767 * np.sin(2 * np.pi * round(hz) * np.arange(n) / n)).astype("<i2").tobytes()
        self.proc = subprocess.Popen(
            ["pacat", "--playback", "-d", sink, "--raw", f"--rate={self.RATE}", "--channels=1", "--format=s16le",
             f"--latency-msec={latency_ms}"],
            env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        assert self.proc.stdin is not None
        while not self._stop.is_set():  # bounded by stop(); each write blocks while pacat's pipe is full
            try:
                self.proc.stdin.write(self.chunk)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return

    def stop(self) -> None:
        self._stop.set()
        stop_popen(self.proc)
        self.thread.join(5)


# ---- the user agents --------------------------------------------------------------------
class UA:
    name = ""
    pid = 0
    tone_hz = MIC_TONE_HZ  # what its microphone (or file) sends

    def start(self) -> None: ...
    def dial(self, uri: str) -> float: ...  # returns the dial timestamp (time.time())
    def wait_established(self, timeout: float) -> None: ...
    def hangup(self) -> None: ...
    def stop(self) -> None: ...


class SeatmateUA(UA):
    name = "seatmate"

    def __init__(self, env: dict[str, str], gui_busy: float = 0.0, audio: str = "qt",
                 clock_rate: int = 16000, slot_times: bool = False, sip_profile: Path | None = None,
                 tree: Path | None = None) -> None:
        self.env = env
        self.slot_times = slot_times
        self.sip_profile = sip_profile
        self.clock_rate = clock_rate
        self.gui_busy = gui_busy
        self.audio = audio
        if audio != "qt":
            self.name = "seatmate-engine"
            self.tone_hz = 300.0  # seatmate_ua's headless tone
        else:
            self.name = "seatmate-wideband" if clock_rate == 16000 else "seatmate"
        self.tree = tree or ROOT  # another checkout of the app (the "before" of a change)
        if tree is not None:
            self.name = "seatmate-before"
            self.env = {**env, "PYTHONPATH": str(tree)}
        self.proc: subprocess.Popen[str] | None = None
        self._buf = ""

    def start(self) -> None:
        cmd = [sys.executable, "-m", "tests.bench.seatmate_ua", "--audio", self.audio,
               "--clock-rate", str(self.clock_rate)]
        if self.gui_busy:
            cmd += ["--gui-busy", str(self.gui_busy)]
        if self.slot_times:
            cmd += ["--slot-times"]
        if self.sip_profile is not None:
            self.sip_profile.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--sip-profile", str(self.sip_profile)]
        self.log = Path(tempfile.mkstemp(prefix="seatmate-ua-", suffix=".log")[1])
        self.proc = subprocess.Popen(cmd, cwd=self.tree, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log.open("wb"), text=True, bufsize=1)
        self.pid = int(self.expect("ready", 30)["pid"])

    def expect(self, event: str, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            while "\n" in self._buf:
                line, self._buf = self._buf.split("\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("event") == "error":
                    raise BenchError(f"seatmate: {msg.get('msg')}")
                if msg.get("event") == event:
                    return msg
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536).decode()
                if not chunk:
                    tail = self.log.read_text(errors="replace")[-3000:]
                    raise BenchError(f"seatmate exited before {event!r}; its log ends:\n{tail}")
                self._buf += chunk
        raise BenchError(f"seatmate: no {event!r} within {timeout} s")

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def dial(self, uri: str) -> float:
        self.send(f"dial {uri}")
        return float(self.expect("dialed", 10)["t"])

    def wait_established(self, timeout: float) -> None:
        self.expect("answered", timeout)

    def stats(self) -> dict:
        self.send("stats")
        return self.expect("stats", 10)

    def hangup(self) -> None:
        self.send("hangup")
        self.expect("ended", 10)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.send("quit")
            self.proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        self.log.unlink(missing_ok=True)


class BaresipUA(UA):
    """baresip 1.0 driven through ctrl_tcp (netstring JSON). File audio in, nothing out; or, with
    ``pulse_env``, the same PulseAudio microphone and speaker as the app (its pulse module)."""

    name = "baresip"

    def __init__(self, work: Path, wav: Path, pulse_env: dict[str, str] | None = None) -> None:
        self.dir = work / "baresip"
        self.dir.mkdir(exist_ok=True)
        self.ctrl_port = 4444
        self.env = {**os.environ, **(pulse_env or {})}
        audio = ([f"audio_source pulse,{BENCH_MIC}", f"audio_player pulse,{BENCH_SPEAKER}",
                  f"audio_alert pulse,{BENCH_SPEAKER}", "module pulse.so"] if pulse_env else
                 [f"audio_source aufile,{wav}", "audio_player aubridge,nil", "audio_alert aubridge,nil",
                  "module aufile.so", "module aubridge.so"])
        (self.dir / "config").write_text("\n".join([
            "poll_method epoll",
            "sip_listen 127.0.0.1:5062",
            "net_interface 127.0.0.1",
            *audio[:3],
            "module_path /usr/lib/baresip/modules",
            "module g711.so", *audio[3:],
            "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
        ]) + "\n")
        (self.dir / "accounts").write_text("<sip:bench@127.0.0.1>;regint=0\n")
        (self.dir / "contacts").write_text("")
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self._buf = b""

    def start(self) -> None:
        self.proc = subprocess.Popen(["baresip", "-f", str(self.dir)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise BenchError("baresip: ctrl_tcp did not come up")

    def _send(self, command: str, params: str = "") -> None:
        assert self.sock is not None
        body = json.dumps({"command": command, "params": params, "token": "b"}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def _events(self, timeout: float):  # type: ignore[no-untyped-def]
        assert self.sock is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b":" in self._buf:
                head, rest = self._buf.split(b":", 1)
                n = int(head)
                if len(rest) < n + 1:
                    break
                self._buf = rest[n + 1:]
                yield json.loads(rest[:n])
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise BenchError("baresip closed ctrl_tcp")
            self._buf += data

    def dial(self, uri: str) -> float:
        t = time.time()
        self._send("dial", uri)
        return t

    def wait_established(self, timeout: float) -> None:
        for ev in self._events(timeout):
            if ev.get("type") == "CALL_ESTABLISHED":
                return
            if ev.get("type") == "CALL_CLOSED":
                raise BenchError(f"baresip call closed: {ev}")
        raise BenchError("baresip: call not established")

    def hangup(self) -> None:
        self._send("hangup")
        for ev in self._events(5):
            if ev.get("type") == "CALL_CLOSED":
                return

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            stop_popen(self.proc)
            self.proc = None


class LinphoneUA(UA):
    """linphonec through a pty (its console needs one), ``soundcard use files``."""

    name = "linphonec"

    def __init__(self, work: Path, wav: Path, pulse_env: dict[str, str] | None = None) -> None:
        self.home = work / "linphone"
        (self.home / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.rc = self.home / "linphonerc"
        self.rc.write_text("[sip]\nsip_port=5064\nsip_tcp_port=-1\nsip_tls_port=-1\nipv6_migration_done=1\n"
                           "use_ipv6=0\n[rtp]\naudio_rtp_port=7078\n[sound]\nechocancellation=0\n"
                           "[net]\nfirewall_policy=0\n")
        self.wav = wav
        self.pulse_env = pulse_env  # None: file audio ("soundcard use files" and "play WAV")
        self.proc: subprocess.Popen[bytes] | None = None
        self.master = -1
        self.out = b""

    def _read(self, seconds: float, until: bytes | None = None) -> bool:
        deadline = time.monotonic() + seconds
        start = len(self.out)
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    return False
            if until is not None and until in self.out[start:]:
                return True
        return False

    def _cmd(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def start(self) -> None:
        for _attempt in range(3):  # one start in fifty hangs (PEERS.md): time-box and retry
            master, slave = pty.openpty()
            self.proc = subprocess.Popen(["linphonec", "-c", str(self.rc)], stdin=slave, stdout=slave,
                                         stderr=slave, close_fds=True,
                                         env={**os.environ, **(self.pulse_env or {}), "HOME": str(self.home)})
            os.close(slave)
            self.master, self.out, self.pid = master, b"", self.proc.pid
            if self._read(10, b"linphonec>"):
                if self.pulse_env is not None and self._use_pulse_cards():
                    return
                if self.pulse_env is None:
                    self._cmd("soundcard use files")
                    if self._read(5, b"Using wav files"):
                        return
            self.stop()
        raise BenchError("linphonec did not start")

    def _use_pulse_cards(self) -> bool:
        """Capture from the bench microphone and play to the bench speaker (PulseAudio cards,
        listed by description)."""
        self.out = b""
        self._cmd("soundcard list")
        self._read(3, b"ALSA")
        cards = {m.group(2).strip(): m.group(1)
                 for m in re.finditer(rb"(\d+): PulseAudio [^:]*: ([^\r\n]+)", self.out)}
        mic, spk = cards.get(b"Bench Mic"), cards.get(b"Speakers")
        if mic is None or spk is None:
            return False
        for cmd in (f"soundcard capture {mic.decode()}", f"soundcard playback {spk.decode()}",
                    f"soundcard ring {spk.decode()}"):
            self._cmd(cmd)
            self._read(0.3)
        return True

    def dial(self, uri: str) -> float:
        self.out = b""
        t = time.time()
        self._cmd(f"call {uri}")
        return t

    def wait_established(self, timeout: float) -> None:
        if not self._read(timeout, b"connected."):
            raise BenchError(f"linphonec: call not connected: {self.out[-300:]!r}")
        if self.pulse_env is None:
            self._cmd(f"play {self.wav}")
        self._read(0.2)

    def hangup(self) -> None:
        self._cmd("terminate")
        self._read(3, b"ended")

    def stop(self) -> None:
        if self.proc is not None:
            try:
                self._cmd("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


# ---- one run ----------------------------------------------------------------------------
@dataclass
class Run:
    ua: str
    dial_t: float
    cpu_pct: float
    rss_idle_mb: float
    rss_call_mb: float
    setup_ms: float | None = None
    extra: dict = field(default_factory=dict)
    window: tuple[float, float] = (0.0, 0.0)  # the measured window, wall clock (the capture's clock)
    far_end: dict = field(default_factory=dict)  # what the UA sent to the UAS in that window (far_end_audio)


def profile(pid: int, seconds: float, out: Path, name: str) -> None:
    """Where the process spends its CPU in a call, without touching the measured runs:
    py-spy (Python frames per thread, on-CPU samples only) then perf (native, kernel included)."""
    out.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    # Python frames only: --native unwinding costs so much per sample that py-spy falls far behind
    # its rate (perf below covers the native side).
    subprocess.run([spy, "record", "--threads", "-r", "1000", "-d", str(int(seconds)), "-f", "raw",
                    "-o", str(out / f"{name}.pyspy.txt"), "-p", str(pid)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 60)
    if shutil.which("perf"):
        data = out / f"{name}.perf.data"
        subprocess.run(["perf", "record", "-F", "4999", "-g", "-p", str(pid), "-o", str(data), "--",
                        "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=seconds + 60)
        with (out / f"{name}.perf.txt").open("w") as f:
            subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                            "--sort", "comm,dso,sym", "--percent-limit", "0.5", "-g", "none"],
                           stdout=f, stderr=subprocess.DEVNULL, timeout=120)


def measure(ua: UA, call_s: float, profile_dir: Path | None = None) -> Run:
    ua.start()
    try:
        time.sleep(2.0)  # idle, registered-or-not, before the call
        rss_idle = rss_mb(ua.pid)
        t_dial = ua.dial(UAS_URI)
        ua.wait_established(10)
        # Media settles and the app's microphone gets past its start-up (devices open when the
        # call's media enters the bridge; the first sound reaches the UAS ~0.2-0.4 s after the
        # answer, printed per UA; the peers read files): the window measures every UA with its
        # microphone path running steadily.
        time.sleep(SETTLE_S)
        if profile_dir is not None:  # before the measured window, which stays unperturbed
            profile(ua.pid, call_s, profile_dir, ua.name)
        before = ua.stats() if isinstance(ua, SeatmateUA) else {}  # outside the window
        k0, c0, w0, wall0 = task_cpu(ua.pid), cpu_seconds(ua.pid), time.monotonic(), time.time()
        t0, s0 = thread_cpu(ua.pid), thread_wakeups(ua.pid)
        time.sleep(call_s)
        k1, c1, w1, wall1 = task_cpu(ua.pid), cpu_seconds(ua.pid), time.monotonic(), time.time()
        t1, s1 = thread_cpu(ua.pid), thread_wakeups(ua.pid)
        rss_call = rss_mb(ua.pid)
        extra = ua.stats() if isinstance(ua, SeatmateUA) else {}
        extra["tone_hz_expected"] = ua.tone_hz
        if isinstance(ua, SeatmateUA) and ua.audio == "qt" and "mic_bytes" in extra:  # (a --before tree may lack it)
            extra["mic_bytes_expected_per_s"] = ua.clock_rate * 2
        if "mic_bytes" in extra and "mic_bytes" in before:  # what Qt's source handed the app
            extra["mic_bytes_per_s"] = round((extra["mic_bytes"] - before["mic_bytes"]) / (w1 - w0))
        busiest = sorted(((t1[k] - t0.get(k, 0.0)) * 100 / (w1 - w0), k) for k in t1)[::-1][:6]
        extra["threads_pct"] = {k: round(v, 2) for v, k in busiest if v > 0.005}
        # The process's CPU: the sum of its threads' schedstat (ns), when the same threads lived
        # through the window; else utime+stime (10 ms ticks: ±0.05 points over 20 s).
        ticks_pct = 100 * (c1 - c0) / (w1 - w0)
        extra["cpu_pct_ticks"] = round(ticks_pct, 3)
        cpu_pct = (100 * sum(k1[t] - k0[t] for t in k1) / (w1 - w0)) if set(k0) == set(k1) else ticks_pct
        extra["wakeups_per_s"] = {k: round((s1[k] - s0.get(k, 0)) / (w1 - w0)) for k in s1
                                  if s1[k] - s0.get(k, 0) > 0}
        ua.hangup()
        return Run(ua.name, t_dial, cpu_pct, rss_idle, rss_call, extra=extra, window=(wall0, wall1))
    finally:
        ua.stop()


# ---- capture and its analysis -------------------------------------------------------------
class Capture:
    def __init__(self, path: Path) -> None:
        self.path = path
        # SIP both ways, and the RTP the UAs send to the UAS (what the far end hears).
        self.proc = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f",
                                      f"udp port {UAS_PORT} or udp dst port {UAS_RTP_PORT}", "-w", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (path.exists() and path.stat().st_size > 0):
            time.sleep(0.05)
        if not path.exists():
            raise BenchError("dumpcap did not start")
        time.sleep(0.3)

    def stop(self) -> list[tuple[float, str, str, str]]:
        time.sleep(0.5)
        self.proc.terminate()
        self.proc.wait(10)
        out = subprocess.run(
            ["tshark", "-r", str(self.path), "-d", f"udp.port=={UAS_PORT},sip", "-Y", "sip", "-T", "fields",
             "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code",
             "-e", "sip.CSeq.method"],
            capture_output=True, text=True, timeout=60, check=True).stdout
        rows = []  # (time, Call-ID, request method, "status/CSeq method")
        for line in out.splitlines():
            t, call_id, method, status, cseq = (line.split("\t") + [""] * 5)[:5]
            rows.append((float(t), call_id, method, f"{status}/{cseq}"))
        return rows


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    mag = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return np.where(u & 0x80, 0x84 - mag, mag - 0x84).astype(np.int16)


ULAW = _ulaw_table()


def far_end_audio(runs: list[Run], rtp: list[tuple[float, int, bytes]]) -> None:
    """What each UA really sent the UAS during its measured window: RTP packets a second, the
    share of 20 ms packets carrying sound (not silence or comfort noise), the tone's pitch and the
    longest gap. A UA whose microphone path idles (no audio captured) shows it here."""
    from tests.integration.audio.pulse import dominant_hz

    for run in runs:
        w0, w1 = run.window
        mine = [p for p in rtp if w0 <= p[0] < w1]
        dur = max(w1 - w0, 1e-9)
        pcmu = [ULAW[np.frombuffer(p[2], dtype=np.uint8)] for p in mine if p[1] == 0]
        voiced = sum(1 for x in pcmu if _voiced(x))
        times = [p[0] for p in mine]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # The first words: answer -> the first packet carrying the agent's tone (the mic plays
        # from before the call; a slow device start-up would cut off the greeting).
        answered = run.extra.get("answered_t")
        first_sound = next((p[0] for p in rtp if answered is not None and answered <= p[0] < w1 and p[1] == 0
                            and _voiced(ULAW[np.frombuffer(p[2], dtype=np.uint8)])), None)
        run.far_end = {
            "rtp_per_s": round(len(mine) / dur, 1),
            "payload_bytes_per_s": round(sum(len(p[2]) for p in mine) / dur),
            "voiced_share": round(voiced / len(mine), 3) if mine else 0.0,
            "tone_hz": round(dominant_hz(np.concatenate(pcmu), 8000), 1) if pcmu else 0.0,
            "longest_gap_ms": round(1000 * max(gaps), 1) if gaps else None,
            "first_sound_ms": round(1000 * (first_sound - answered), 1) if first_sound and answered else None,
        }


def _voiced(x: np.ndarray) -> bool:
    return bool(x.size) and float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) > 300


def far_end_ok(run: Run) -> bool:
    f = run.far_end
    ok = abs(f.get("rtp_per_s", 0) - FRAME_RATE) <= 0.1 * FRAME_RATE and f.get("voiced_share", 0) >= 0.95
    ok = ok and abs(f.get("tone_hz", 0) - run.extra.get("tone_hz_expected", MIC_TONE_HZ)) <= 15
    if "mic_bytes_expected_per_s" in run.extra:  # the app: Qt's source delivered (nearly) real time
        ok = ok and run.extra.get("mic_bytes_per_s", 0) >= 0.9 * run.extra["mic_bytes_expected_per_s"]
    return ok


def _capture_rtp(path: Path) -> list[tuple[float, int, bytes]]:
    """(time, payload type, payload) of every RTP packet sent to the UAS."""
    out = subprocess.run(
        ["tshark", "-r", str(path), "-d", f"udp.port=={UAS_RTP_PORT},rtp", "-Y", f"rtp && udp.dstport=={UAS_RTP_PORT}",
         "-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.p_type", "-e", "rtp.payload"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    rows = []
    for line in out.splitlines():
        t, pt, payload = [*line.split("\t"), "", "", ""][:3]
        if t and pt:
            rows.append((float(t), int(pt), bytes.fromhex(payload.replace(":", ""))))
    return rows


def setup_times(runs: list[Run], packets: list[tuple[float, str, str, str]]) -> None:
    """dial -> 200 OK to the INVITE, per run (the first INVITE after the dial is that run's)."""
    for run in runs:
        invite = next((p for p in packets if p[2] == "INVITE" and p[0] >= run.dial_t - 0.001), None)
        if invite is None:
            continue
        ok = next((p for p in packets if p[1] == invite[1] and p[3] == "200/INVITE" and p[0] >= invite[0]), None)
        if ok is not None:
            run.setup_ms = (ok[0] - run.dial_t) * 1000
            run.extra["answered_t"] = ok[0]  # the UAS answered: the customer listens from here
            run.extra["dial_to_invite_ms"] = (invite[0] - run.dial_t) * 1000


# ---- report -------------------------------------------------------------------------------
def summary(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 runs, 5 s calls, 15 s underrun call")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--call-seconds", type=float)
    ap.add_argument("--underrun-seconds", type=float)
    ap.add_argument("--gui-busy", type=float, default=0.3)
    ap.add_argument("--clock-rate", type=int, default=8000,
                    help="the 'seatmate' row's bridge rate (8000, the app's default for G.711 trunks; "
                         "the 'seatmate-wideband' row always runs at 16000)")
    ap.add_argument("--only", action="append",
                    choices=("seatmate", "seatmate-wideband", "seatmate-engine", "baresip", "linphonec", "underruns"),
                    help="measure only these (repeatable; default: all)")
    ap.add_argument("--before", metavar="TREE",
                    help="also measure the app from another checkout (e.g. `git archive HEAD | tar -x -C TREE`) "
                         "as 'seatmate-before', interleaved with the rest: before/after in one run")
    ap.add_argument("--profile", metavar="DIR",
                    help="also profile each Seatmate row's first call (py-spy, perf, cProfile of the SIP loop) into DIR; "
                         "the Seatmate rows then also time the audio thread's Python methods (not for the table)")
    ap.add_argument("--peer-audio", choices=("file", "pulse"), default="file",
                    help="the peers' audio: files (no device: the reference since issue 3), or the app's "
                         "PulseAudio microphone and speaker (the same device work as the app)")
    ap.add_argument("--mic-feed-latency-ms", type=int, default=500,
                    help="latency of the tone player feeding the app's microphone (a null sink's monitor)")
    ap.add_argument("--out", default=str(ROOT / "bench-results" / "softphone.json"))
    args = ap.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    call_s = args.call_seconds or (5.0 if args.quick else 20.0)
    underrun_s = args.underrun_seconds or (15.0 if args.quick else 60.0)

    if os.environ.get("SEATMATE_BENCH_NETNS") != "1":
        for tool in ("unshare", "ip", "sipp", "baresip", "linphonec", "dumpcap", "tshark", "pulseaudio"):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} not found: install the packages in .ci/apt-packages.txt")
        env = {**os.environ, "SEATMATE_BENCH_NETNS": "1"}
        return subprocess.call(["unshare", "-n", sys.executable, "-m", "tests.bench.bench_softphone", *argv],
                               cwd=ROOT, env=env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    from tests.integration.audio.pulse import PulseDaemon

    work = Path(tempfile.mkdtemp(prefix="seatmate-bench-"))
    wav = work / "tone.wav"
    with wave.open(str(wav), "wb") as w:  # what the peers "say": 8 kHz, 16-bit, 440 Hz, 2 minutes
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(8000 * 120) / 8000)).astype("<i2").tobytes())
    pulse = PulseDaemon(warm_taps=False).start()
    # The agent's microphone: a remap of a null sink's monitor with a tone playing into the sink
    # without a break, as in the audio tests. (Not module-sine-source: PulseAudio renders it 2 s
    # at a time and Qt's source, asking no latency, handed the app 2-4 KB in 4 s instead of
    # 64 KB, so the mic path was nearly idle. Nor an idle monitor: it runs slow.) The name stays
    # "Bench Mic" so that a --before checkout's UA finds it too.
    pulse.pactl("load-module", "module-remap-source", "source_name=seat_bench_mic",
                "master=seat_builtin_feed.monitor", "rate=16000", "channels=1",
                "source_properties=\"device.description='Bench Mic'\"")
    # The player's latency decides how often the null sink renders, hence how often its monitor
    # hands audio on: a player at 40 ms makes every capture stream on the monitor get ~100 small
    # blocks a second whatever it asked for. A real microphone delivers at the fragment size its
    # capture stream asks for; with a player at 500 ms the monitor does too (the sink renders
    # for the most demanding of its monitor's readers). --mic-feed-latency-ms 40 for the other.
    mic_feed = ToneFeed(pulse.env, "seat_builtin_feed", MIC_TONE_HZ, args.mic_feed_latency_ms)
    seat_env = {**os.environ, **pulse.env, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    peer_env = dict(pulse.env) if args.peer_audio == "pulse" else None
    sipp = subprocess.Popen(["sipp", "-sn", "uas", "-p", str(UAS_PORT), "-i", "127.0.0.1", "-mi", "127.0.0.1",
                             "-rtp_echo", "-mp", "6000", "-nostdin"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=work)
    capture = Capture(work / "sip.pcapng")
    results: list[Run] = []
    busy_stats: dict = {}
    busy_run: Run | None = None
    load = [os.getloadavg()]  # the machine is shared: the report states the load at start and end
    try:
        time.sleep(0.5)
        if sipp.poll() is not None:
            raise BenchError("sipp exited at start")
        makers = {
            "seatmate": lambda: SeatmateUA(seat_env, clock_rate=args.clock_rate, slot_times=bool(args.profile),
                                           sip_profile=Path(args.profile) / "seatmate-sip.pstats"
                                           if args.profile else None),
            "seatmate-wideband": lambda: SeatmateUA(seat_env, clock_rate=16000, slot_times=bool(args.profile)),
            "seatmate-engine": lambda: SeatmateUA(seat_env, audio="tone"),
            "baresip": lambda: BaresipUA(work, wav, peer_env),
            "linphonec": lambda: LinphoneUA(work, wav, peer_env),
        }
        only = set(args.only or ("seatmate", "seatmate-wideband", "seatmate-engine", "baresip", "linphonec",
                                 "underruns"))
        if args.before:
            makers["seatmate-before"] = lambda: SeatmateUA(seat_env, clock_rate=args.clock_rate,
                                                           tree=Path(args.before).resolve())
            only.add("seatmate-before")
        # Round-robin (one call of each UA per round): on a shared machine the load drifts over
        # minutes, and interleaving puts every UA under the same drift.
        for i in range(runs):
            for name, make in makers.items():
                if name not in only:
                    continue
                print(f"  {name} run {i + 1}/{runs} (load {os.getloadavg()[0]:.1f}) …", file=sys.stderr, flush=True)
                prof = (Path(args.profile) if args.profile and i == 0 and name in ("seatmate", "seatmate-wideband")
                        else None)
                results.append(measure(make(), call_s, prof))
                if results[-1].extra:  # counters and the busiest threads
                    print(f"    {results[-1].extra}", file=sys.stderr, flush=True)
        if "underruns" not in only:
            raise _Done
        print(f"  seatmate {underrun_s:.0f} s call, GUI thread {args.gui_busy:.0%} busy …", file=sys.stderr, flush=True)
        ua = SeatmateUA(seat_env, gui_busy=args.gui_busy, clock_rate=args.clock_rate)
        ua.start()
        try:
            ua.dial(UAS_URI)
            ua.wait_established(10)
            time.sleep(SETTLE_S)
            first, m0, wall0 = ua.stats(), time.monotonic(), time.time()
            time.sleep(max(0.0, underrun_s - SETTLE_S))
            busy_stats = ua.stats()
            m1, wall1 = time.monotonic(), time.time()
            busy_stats["mic_bytes_per_s"] = round((busy_stats.get("mic_bytes", 0) - first.get("mic_bytes", 0))
                                                  / (m1 - m0))
            busy_run = Run("seatmate (GUI busy)", 0.0, 0.0, 0.0, 0.0, window=(wall0, wall1),
                           extra={"tone_hz_expected": ua.tone_hz, "mic_bytes_per_s": busy_stats["mic_bytes_per_s"],
                                  "mic_bytes_expected_per_s": ua.clock_rate * 2})
            ua.hangup()
        finally:
            ua.stop()
    except _Done:
        pass
    finally:
        packets = capture.stop()
        rtp = _capture_rtp(capture.path)
        mic_feed.stop()
        stop_popen(sipp)
        pulse.stop()
    setup_times(results, packets)
    far_end_audio(results + ([busy_run] if busy_run else []), rtp)
    shutil.rmtree(work, ignore_errors=True)
    load.append(os.getloadavg())
    return report(results, busy_stats, runs, call_s, underrun_s, args.gui_busy, Path(args.out), load, busy_run,
                  args.peer_audio, args.mic_feed_latency_ms)


def report(results: list[Run], busy: dict, runs: int, call_s: float, underrun_s: float, gui_busy: float,
           out: Path, load: list[tuple[float, float, float]], busy_run: Run | None = None,
           peer_audio: str = "file", feed_ms: int = 500) -> int:
    rows: list[dict] = []
    table = []
    uas = ["seatmate", "seatmate-before", "seatmate-wideband", "seatmate-engine", "baresip", "linphonec"]
    med: dict[tuple[str, str], float] = {}
    metrics = [("call setup (dial → 200 OK)", "ms", lambda r: r.setup_ms),
               ("  of which dial → INVITE sent", "ms", lambda r: r.extra.get("dial_to_invite_ms")),
               (f"CPU during a {call_s:.0f} s call", "% of one core", lambda r: r.cpu_pct),
               ("RSS idle", "MB", lambda r: r.rss_idle_mb),
               ("RSS in call", "MB", lambda r: r.rss_call_mb),
               # The comparison is fair only if every UA really sends its microphone's audio.
               ("audio sent to the UAS in the window: RTP", "packets/s", lambda r: r.far_end.get("rtp_per_s")),
               ("  of which carrying sound (not silence)", "share", lambda r: r.far_end.get("voiced_share")),
               ("  tone heard at the UAS", "Hz", lambda r: r.far_end.get("tone_hz")),
               ("answer → first packet with the agent's sound at the UAS", "ms",
                lambda r: r.far_end.get("first_sound_ms")),
               ("app microphone: bytes from Qt's source", "bytes/s", lambda r: r.extra.get("mic_bytes_per_s"))]
    for ua in uas:
        mine = [r for r in results if r.ua == ua]
        for label, unit, get in metrics:
            values = [v for v in (get(r) for r in mine) if v is not None]
            if not values:
                continue
            lo, mid, hi = summary(values)
            med[(ua, label)] = mid
            table.append((ua, label, lo, mid, hi, unit))
            for stat, value in (("min", lo), ("median", mid), ("max", hi)):
                row = {"metric": f"{label} {stat}", "value": round(value, 3), "unit": unit}
                if ua == "seatmate-before":
                    row["metric"] = f"{label} {stat} (before: the other checkout, same run)"
                elif ua == "seatmate-engine":
                    row["metric"] = f"{label} {stat} (engine with headless audio)"
                elif ua == "seatmate-wideband":
                    row["metric"] = f"{label} {stat} (16 kHz bridge)"
                elif ua != "seatmate":
                    row["peer"] = ua
                    if peer_audio == "pulse":  # its own rows: the file-audio reference stays
                        row["metric"] = f"{label} {stat} (peer on the PulseAudio microphone and speaker)"
                rows.append(row)
    for key in ("speaker_underruns", "mic_underruns", "speaker_overruns", "mic_overruns"):
        if key in busy:
            rows.append({"metric": f"{key.replace('_', ' ')} in a {underrun_s:.0f} s call, GUI {gui_busy:.0%} busy",
                         "value": busy[key], "unit": "count"})
    for when, avg in (("start", load[0]), ("end", load[-1])):
        rows.append({"metric": f"softphone bench load average (1 min) at {when}", "value": round(avg[0], 2),
                     "unit": "runnable tasks (2 cores)"})
    merge_results(rows, out)

    print(f"\nSoftphone benchmark: {runs} runs each, sipp UAS on loopback (PCMU, RTP echo); load average "
          f"(1/5/15 min) at start {'/'.join(f'{x:.1f}' for x in load[0])}, "
          f"at end {'/'.join(f'{x:.1f}' for x in load[-1])}; peers' audio: "
          f"{'the same PulseAudio microphone and speaker as the app' if peer_audio == 'pulse' else 'files'}; "
          f"the app's microphone: a null sink's monitor fed by a tone player at {feed_ms} ms latency\n")
    print("| UA | metric | min | median | max | unit |\n|---|---|---:|---:|---:|---|")
    for ua, label, lo, mid, hi, unit in table:
        d = 2 if unit.startswith("%") or unit == "share" else (0 if unit == "bytes/s" else 1)
        print(f"| {ua} | {label} | {lo:.{d}f} | {mid:.{d}f} | {hi:.{d}f} | {unit} |")
    if busy:
        print(f"\nSeatmate, {underrun_s:.0f} s call with the GUI thread {gui_busy:.0%} busy: "
              f"speaker underruns {busy.get('speaker_underruns')}, mic underruns {busy.get('mic_underruns')}, "
              f"speaker overruns {busy.get('speaker_overruns')}, mic overruns {busy.get('mic_overruns')}")
    audited = results + ([busy_run] if busy_run is not None else [])
    print("\nWhat each UA sent the UAS in its measured window (RTP to sipp; the app's mic bytes from Qt):")
    for r in audited:
        f = r.far_end
        print(f"  {'ok  ' if far_end_ok(r) else 'BAD '} {r.ua:<20} RTP {f.get('rtp_per_s')}/s, "
              f"{f.get('payload_bytes_per_s')} B/s payload, sound in {f.get('voiced_share', 0):.0%} of packets, "
              f"tone {f.get('tone_hz')} Hz (expected {r.extra.get('tone_hz_expected')}), longest gap "
              f"{f.get('longest_gap_ms')} ms" + (f", app mic {r.extra['mic_bytes_per_s']} B/s of "
                                                 f"{r.extra.get('mic_bytes_expected_per_s')}"
                                                 if "mic_bytes_per_s" in r.extra else ""))
    checks = []
    bad = [r.ua for r in audited if not far_end_ok(r)]
    checks.append((f"every UA sent its tone at {FRAME_RATE} packets/s with sound in >= 95 % of them in every "
                   f"measured window ({len(audited) - len(bad)}/{len(audited)}{'; not: ' + ', '.join(bad) if bad else ''})",
                   not bad))
    setup_label, cpu_label = metrics[0][0], metrics[2][0]
    peers = ["baresip", "linphonec"]
    peer_setups = [med[(p, setup_label)] for p in peers if (p, setup_label) in med]
    if (("seatmate", setup_label) in med) and peer_setups:
        limit = 1.2 * min(peer_setups)
        checks.append((f"setup {med[('seatmate', setup_label)]:.1f} ms <= 1.2 x fastest peer ({limit:.1f} ms)",
                       med[("seatmate", setup_label)] <= limit))
    for ua in ("seatmate", "seatmate-wideband", "seatmate-before"):
        if (ua, cpu_label) not in med:
            continue
        mine = med[(ua, cpu_label)]
        if ("baresip", cpu_label) in med:  # issue 16: within 0.5 points of baresip
            diff = mine - med[("baresip", cpu_label)]
            checks.append((f"{ua} CPU {mine:.2f} % within 0.5 points of baresip ({diff:+.2f})", diff <= 0.5))
        if ("linphonec", cpu_label) in med:  # and never above linphonec
            diff = mine - med[("linphonec", cpu_label)]
            checks.append((f"{ua} CPU {mine:.2f} % not above linphonec ({diff:+.2f})", diff <= 0.0))
    if busy:
        checks.append(("zero underruns", busy.get("speaker_underruns", 1) == 0 and busy.get("mic_underruns", 1) == 0))
    print()
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'MISS'}] {text}")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
