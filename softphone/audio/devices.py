"""Audio device choice: what exists (QMediaDevices), what the agent prefers.

The agent picks a microphone, a speaker and a ringer separately. Each choice is
kept as a preference LIST of device names, most preferred first: picking a
device moves it to the front, and the devices picked before stay behind it.
So when the headset is unplugged the next device in the list takes over, and
when it comes back it wins again. Names (the description the OS shows, e.g.
"Jabra EVOLVE 20") are stable across reboots and USB ports, unlike ids.
A device that is in no list is used only when nothing listed is present, and
then the system default goes first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

MAX_REMEMBERED = 8  # per role; old devices fall off the end


class Role(str, Enum):
    MICROPHONE = "microphone"
    SPEAKER = "speaker"
    RINGER = "ringer"


@dataclass(frozen=True)
class DeviceInfo:
    """One audio device as the UI shows it (no Qt objects leave the audio thread)."""

    id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class DeviceSnapshot:
    """What exists and what is in use now; emitted whenever either changes."""

    inputs: tuple[DeviceInfo, ...] = ()
    outputs: tuple[DeviceInfo, ...] = ()
    microphone: str | None = None  # names of the devices in use (None: none available)
    speaker: str | None = None
    ringer: str | None = None
    echo_cancelling: bool = False  # call audio runs through the echo canceller now


@dataclass(frozen=True)
class DevicePreferences:
    microphone: tuple[str, ...] = ()
    speaker: tuple[str, ...] = ()
    ringer: tuple[str, ...] = ()
    echo_cancellation: bool = False
    ringtone_path: str | None = None  # a WAV file; None = the built-in tone

    def order(self, role: Role) -> tuple[str, ...]:
        return getattr(self, role.value)

    def prefer(self, role: Role, name: str) -> DevicePreferences:
        """The agent picked ``name`` for ``role``: it goes first, the rest keep their order."""
        rest = tuple(n for n in self.order(role) if n != name)
        return replace(self, **{role.value: ((name, *rest))[:MAX_REMEMBERED]})

    def choose(self, role: Role, available: Sequence[DeviceInfo]) -> DeviceInfo | None:
        by_name = {d.name: d for d in available}
        for name in self.order(role):
            if name in by_name:
                return by_name[name]
        for device in available:
            if device.is_default:
                return device
        return available[0] if available else None

    def to_json(self) -> dict[str, object]:
        return {
            "version": 1,
            "microphone": list(self.microphone),
            "speaker": list(self.speaker),
            "ringer": list(self.ringer),
            "echo_cancellation": self.echo_cancellation,
            "ringtone_path": self.ringtone_path,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> DevicePreferences:
        def names(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            if not isinstance(value, list):
                return ()
            return tuple(str(v) for v in value if isinstance(v, str) and v)[:MAX_REMEMBERED]

        ringtone = data.get("ringtone_path")
        return cls(
            microphone=names("microphone"),
            speaker=names("speaker"),
            ringer=names("ringer"),
            echo_cancellation=bool(data.get("echo_cancellation", False)),
            ringtone_path=ringtone if isinstance(ringtone, str) and ringtone else None,
        )


@dataclass
class PreferenceStore:
    """The preferences as a small JSON file in the config dir (atomic replace).

    A damaged file is not fatal: it is kept aside as ``.bad`` for a person to
    look at and the defaults are used.
    """

    path: Path
    _cache: DevicePreferences | None = field(default=None, init=False, repr=False)

    def load(self) -> DevicePreferences:
        if self._cache is not None:
            return self._cache
        prefs = DevicePreferences()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            prefs = DevicePreferences.from_json(data)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("audio device preferences unreadable (%s); using defaults", exc)
            try:
                self.path.replace(self.path.with_suffix(self.path.suffix + ".bad"))
            except OSError:
                pass
        self._cache = prefs
        return prefs

    def save(self, prefs: DevicePreferences) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".audio-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(prefs.to_json(), f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cache = prefs


def list_devices() -> tuple[tuple[DeviceInfo, ...], tuple[DeviceInfo, ...]]:
    """(inputs, outputs) as QMediaDevices sees them now. Any thread with a Q(Core)Application."""
    from PySide6.QtMultimedia import QMediaDevices

    def info(dev) -> DeviceInfo:  # type: ignore[no-untyped-def]
        return DeviceInfo(id=bytes(dev.id().data()).decode("utf-8", "replace"), name=dev.description(),
                          is_default=dev.isDefault())

    return (tuple(info(d) for d in QMediaDevices.audioInputs()),
            tuple(info(d) for d in QMediaDevices.audioOutputs()))


class PulsePresence:
    """Which PulseAudio sinks/sources exist right now, kept fresh by ``pactl subscribe``.

    Why: Qt Multimedia 6.12's PulseAudio backend notices new devices and a
    changed default, but not the removal of a non-default device: after a USB
    headset is unplugged, ``QMediaDevices`` still lists it and emits nothing
    (PulseAudio itself moves our stream to the default sink, not to the agent's
    next choice). Where ``pactl`` and a PulseAudio (or pipewire-pulse) server
    exist, this watcher fills the gap; elsewhere (Windows, macOS) Qt's own
    signals are complete and ``present()`` returns None (no filtering).

    Lives on the audio thread (a QProcess with its output read by that thread's
    event loop); ``on_change`` is called there.
    """

    _EVENT = re.compile(r"Event '(new|remove|change)' on (sink|source|server)\b")

    def __init__(self, on_change: Callable[[], None]) -> None:
        from PySide6.QtCore import QProcess

        self._on_change = on_change
        self._names: set[str] | None = None
        self._proc: QProcess | None = None
        self._pactl = shutil.which("pactl")
        if self._pactl is None or sys.platform != "linux":
            return
        self._names = self._query()
        if self._names is None:
            return  # no server answering: rely on Qt
        proc = QProcess()
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        proc.readyReadStandardOutput.connect(self._on_output)
        proc.start(self._pactl, ["subscribe"])
        self._proc = proc

    def _query(self) -> set[str] | None:
        assert self._pactl is not None
        names: set[str] = set()
        for kind in ("sinks", "sources"):
            try:
                out = subprocess.run([self._pactl, "list", "short", kind], capture_output=True, text=True,
                                     timeout=3, check=True).stdout
            except (OSError, subprocess.SubprocessError):
                return None
            names.update(line.split("\t")[1] for line in out.splitlines() if "\t" in line)
        return names

    def _on_output(self) -> None:
        assert self._proc is not None
        text = bytes(self._proc.readAllStandardOutput().data()).decode("utf-8", "replace")
        if any(m.group(1) != "change" or m.group(2) == "server" for m in self._EVENT.finditer(text)):
            fresh = self._query()
            if fresh is not None and fresh != self._names:
                self._names = fresh
                self._on_change()

    def present(self) -> set[str] | None:
        """Names (= Qt device ids) of the sinks and sources that exist; None = unknown."""
        return self._names

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.waitForFinished(1000)
            self._proc = None
