"""A private PulseAudio daemon with fake hardware, for the audio tests and the bench.

Devices (all 16 kHz mono null sinks, so what the app plays can be read back
from each sink's monitor with parec):

    "Speakers"            sink seat_speaker         the built-in speakers
    "HDMI Output"         sink seat_hdmi            the system default output, nobody prefers it
    "USB Headset"         sink seat_headset         the headset's earpiece   (module unloadable: unplug)
    "USB Headset Mic"     source seat_headset_mic   remap of seat_headset_feed.monitor (unplug too)
    "Built-in Mic"        source seat_builtin_mic   remap of seat_builtin_feed.monitor (default source)

A test "speaks into" a microphone by playing into its feed sink with paplay.
Everything lives in a private temp dir: socket, runtime dir, HOME, cookie, so
parallel helpers and CI never collide and nothing touches the user's sound.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tests.processes import ExternalProcess, ProcessError, stop_popen

RATE = 16000

SINKS = {
    "seat_speaker": "Speakers",
    "seat_hdmi": "HDMI Output",
    "seat_headset": "USB Headset",
    "seat_headset_feed": "Headset Mic Feed",
    "seat_builtin_feed": "Builtin Mic Feed",
}
SOURCES = {  # remap source -> (master, description)
    "seat_headset_mic": ("seat_headset_feed.monitor", "USB Headset Mic"),
    "seat_builtin_mic": ("seat_builtin_feed.monitor", "Built-in Mic"),
}


class PulseError(ProcessError):
    pass


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PulseError(f"{tool} not found: install the Debian packages pulseaudio and pulseaudio-utils")
    return path


def _sink_line(name: str, desc: str) -> str:
    # PulseAudio's property list parser takes quoted values; spaces need the inner quotes.
    return (f"load-module module-null-sink sink_name={name} rate={RATE} channels=1 "
            f"sink_properties=\"device.description='{desc}'\"")


def _source_line(name: str, master: str, desc: str) -> str:
    return (f"load-module module-remap-source source_name={name} master={master} "
            f"rate={RATE} channels=1 source_properties=\"device.description='{desc}'\"")


class _Tap:
    """A parec kept running on one source; ``capture`` returns what arrives in a window."""

    def __init__(self, source: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["parec", "-d", source, f"--rate={RATE}", "--channels=1", "--format=s16le", "--raw",
             "--latency-msec=20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._lock = threading.Lock()
        self._chunks: list[bytes] | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            with self._lock:
                if self._chunks is not None:
                    self._chunks.append(data)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def capture(self, seconds: float, timeout: float = 6.0) -> np.ndarray:
        """The next ``seconds`` of audio by sample count: a monitor delivers in bursts
        while the sink's latency settles, so a wall-clock window can come back short."""
        want = int(seconds * RATE) * 2
        with self._lock:
            self._chunks = []
        deadline = time.monotonic() + max(timeout, seconds * 3)
        time.sleep(seconds)
        while time.monotonic() < deadline and self.alive():
            with self._lock:
                if sum(len(c) for c in self._chunks or []) >= want:
                    break
            time.sleep(0.05)
        with self._lock:
            raw, self._chunks = b"".join(self._chunks or []), None
        raw = raw[:want]
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")

    def close(self) -> None:
        stop_popen(self.proc, 3)


class PulseDaemon(ExternalProcess):
    """``with PulseDaemon() as pa:`` — then ``pa.env`` for child processes; ``apply()`` for this one.

    Ready when ``pactl info`` answers on its socket."""

    name = "pulseaudio"
    ready_timeout = 15.0
    stop_timeout = 5.0

    def __init__(self, warm_taps: bool = True) -> None:
        self.warm_taps = warm_taps  # parec on the speaker monitors from the start (tests)
        self.root = Path(tempfile.mkdtemp(prefix="seatmate-pulse-"))
        self.runtime = self.root / "run"
        self.home = self.root / "home"
        self.socket = self.runtime / "native"
        self.log = self.root / "pulse.log"
        super().__init__(log_path=self.log)
        self.env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "HOME": str(self.home),
            "PULSE_COOKIE": str(self.home / "cookie"),
        }
        self._saved: dict[str, str | None] = {}
        self._taps: dict[str, _Tap] = {}

    # ---- life cycle -----------------------------------------------------------------
    def command(self) -> list[str]:
        binary = _require("pulseaudio")
        _require("pactl")
        _require("parec")
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        lines = [f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}"]
        lines += [_sink_line(n, d) for n, d in SINKS.items()]
        lines += [_source_line(n, m, d) for n, (m, d) in SOURCES.items()]
        # HDMI is the default sink on purpose: after an unplug the app must follow the
        # agent's preference list (headset, then speakers), not the system default.
        lines += ["set-default-sink seat_hdmi", "set-default-source seat_builtin_mic"]
        config = self.root / "config.pa"
        config.write_text("\n".join(lines) + "\n")
        # --disable-shm: blocks travel over the socket. PulseAudio 16's memfd block references
        # can go stale when modules are unloaded under live streams (the hot-plug tests do
        # exactly that): "Cannot send block reference with non-registered memfd ID", then an
        # assertion in memblock_replace_import aborts the daemon
        # (gitlab.freedesktop.org/pulseaudio/pulseaudio/issues/824). The audio is the same.
        return [binary, "--daemonize=no", "--exit-idle-time=-1", "--system=false", "-n",
                "--disallow-exit", "--use-pid-file=no", "--log-target=stderr", "--log-level=warning",
                "--disable-shm=yes", "-F", str(config)]

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no session-bus device reservation games
        return env

    def ready(self, timeout: float) -> None:
        self.wait_for(lambda: self.socket.exists() and self.pactl("info", check=False).returncode == 0,
                      timeout, interval=0.1, description="pactl info to answer")
        for sink in ("seat_speaker", "seat_hdmi", "seat_headset") if self.warm_taps else ():
            self._taps[f"{sink}.monitor"] = _Tap(f"{sink}.monitor", {**os.environ, **self.env})

    def stop(self, timeout: float | None = None) -> int | None:
        self.restore()
        for tap in self._taps.values():
            tap.close()
        self._taps.clear()
        code = super().stop(timeout)
        shutil.rmtree(self.root, ignore_errors=True)
        return code

    def apply(self) -> None:
        """Point this process (Qt Multimedia included) at the private daemon."""
        for key, value in self.env.items():
            self._saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()

    # ---- tools ----------------------------------------------------------------------
    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True,
                                text=True, timeout=10)
        if check and result.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)} failed ({result.stderr.strip()}); "
                             f"daemon alive={self.alive()}; log: {self.tail(20)}")
        return result

    def module_of(self, name: str) -> int:
        """The module index that created sink/source ``name`` (to 'unplug' it)."""
        for line in self.pactl("list", "short", "modules").stdout.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and (f"sink_name={name} " in parts[2] + " "
                                    or f"source_name={name} " in parts[2] + " "):
                return int(parts[0])
        raise PulseError(f"no module for {name}")

    def unplug(self, name: str) -> None:
        # PulseAudio would move a running parec on this device's monitor to the default
        # source instead of ending it: drop the tap so the next record() starts afresh.
        for source in (name, f"{name}.monitor"):
            tap = self._taps.pop(source, None)
            if tap is not None:
                tap.close()
        self.pactl("unload-module", str(self.module_of(name)))

    def plug(self, name: str) -> None:
        """Plug a device from the table back in (no-op if present)."""
        present = self.pactl("list", "short", "sinks").stdout + self.pactl("list", "short", "sources").stdout
        if any(line.split("\t")[1:2] == [name] for line in present.splitlines()):
            return
        if name in SINKS:
            self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}", "channels=1",
                       f"sink_properties=\"device.description='{SINKS[name]}'\"")
        else:
            master, desc = SOURCES[name]
            self.pactl("load-module", "module-remap-source", f"source_name={name}", f"master={master}",
                       f"rate={RATE}", "channels=1", f"source_properties=\"device.description='{desc}'\"")

    def plug_all(self) -> None:
        for name in (*SINKS, *SOURCES):
            self.plug(name)

    def record(self, source: str, seconds: float) -> np.ndarray:
        """The next ``seconds`` of ``source`` (e.g. 'seat_headset.monitor') as int16 samples.

        A parec per source keeps running in the background (``_Tap``): a freshly
        started parec on a null sink's monitor delivers its first data late.
        """
        tap = self._taps.get(source)
        if tap is None or not tap.alive():
            if tap is not None:
                tap.close()
            tap = self._taps[source] = _Tap(source, {**os.environ, **self.env})
            tap.capture(0.5)  # its start-up delivers late and in bursts: skip it
        return tap.capture(seconds)

    def play_tone(self, sink: str, hz: float, seconds: float, latency_ms: int = 40) -> subprocess.Popen[bytes]:
        """Start playing a sine into ``sink`` (returns the running paplay). The player's latency
        sets how often a null sink renders, hence the block size on its monitor."""
        n = int(seconds * RATE)
        wave = (0.4 * 32767 * np.sin(2 * np.pi * hz * np.arange(n) / RATE)).astype("<i2")
        path = self.root / f"tone-{hz:g}-{time.monotonic_ns()}.raw"
        path.write_bytes(wave.tobytes())
        return subprocess.Popen(
            ["paplay", "--raw", "-d", sink, f"--rate={RATE}", "--channels=1", "--format=s16le",
             f"--latency-msec={latency_ms}", str(path)],
            env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency in ``samples`` (0.0 for silence or nothing)."""
    if samples.size < rate // 10:
        return 0.0
    x = samples.astype(np.float64)
    if np.sqrt(np.mean(x * x)) < 100:  # below ~-50 dBFS: silence, not a tone
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spectrum))])


def has_tone(samples: np.ndarray, hz: float, rate: int = RATE, width: float = 30.0) -> bool:
    """The strongest audible (150 Hz - 7 kHz) band, ± ``width``, is at ``hz``.

    The dominant single bin is not robust enough: the customer peer's tone reaches
    the agent with its level swinging into clipping (it arrives so over RTP even
    peer to peer, with no sound device involved), which puts power below 100 Hz
    and in harmonics; the fundamental's band still carries the most.
    """
    if samples.size < rate // 10:
        return False
    x = samples.astype(np.float64)
    if np.sqrt(np.mean(x * x)) < 100:
        return False
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    bin_hz = freqs[1] - freqs[0]
    k = max(1, int(width / bin_hz))
    bands = np.convolve(power, np.ones(2 * k + 1), mode="same")
    audible = (freqs >= 150) & (freqs <= 7000)
    best = freqs[audible][int(np.argmax(bands[audible]))]
    return abs(best - hz) <= width or abs(dominant_hz(samples, rate) - hz) <= 15
