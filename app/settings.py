"""User settings: one JSON file in the config dir, never holding a secret.

Credentials live in the OS keyring (sync.credentials); :meth:`Settings.save`
refuses any key that looks like one, so a slip in some dialog cannot write a
password to disk. A corrupt or hand-broken file never stops the app: it is
kept as ``settings.json.bad`` for the user to look at, and defaults are used.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")
RECORDING_POLICIES = ("campaign", "always", "never")
MONITOR_STRATEGIES = ("bridge", "pbx_codes")
# Key names that smell like a secret, anywhere in the tree (e.g. "sip_password", "apiToken").
SECRET_KEY = re.compile(r"pass(word|wd|phrase)?|pwd|token|secret|api[_-]?key|credential|private[_-]?key", re.I)


class SettingsError(ValueError):
    """A setting cannot be saved (e.g. it looks like a secret)."""


def _audio_defaults() -> dict[str, Any]:
    # Device preference lists (names as the OS shows them, most wanted first; the settings
    # dialog keeps them): the next one present takes over when a device is unplugged.
    # echo_cancellation: PulseAudio's module-echo-cancel around the call devices.
    return {"microphone": [], "speaker": [], "ringer": [], "echo_cancellation": False,
            "wideband": False}  # True: a 16 kHz bridge for G.722/Opus PBXs (8 kHz suits G.711 trunks)


def _recording_defaults() -> dict[str, Any]:
    # How long uploaded recordings stay on this computer is the server's setting
    # (``recording_retention_days``, sync/recordings.py), not a local one.
    return {"policy": "campaign"}


def _dial_templates() -> dict[str, str]:
    # PBX feature codes (ChanSpy-style) for the "pbx_codes" monitor strategy.
    return {"listen": "*222{ext}", "whisper": "*223{ext}", "barge": "*224{ext}"}


@dataclass
class Settings:
    language: str = "zh_CN"
    server_url: str | None = None  # None = the embedded local demo, no server
    sync_interval_s: int = 30
    sip: dict[str, Any] = field(default_factory=dict)  # server, user, transport… never the password
    audio: dict[str, Any] = field(default_factory=_audio_defaults)
    recording: dict[str, Any] = field(default_factory=_recording_defaults)
    monitor_strategy: str = "bridge"
    dial_templates: dict[str, str] = field(default_factory=_dial_templates)
    shortcuts: dict[str, str] = field(default_factory=dict)  # action name → key sequence
    window: dict[str, Any] = field(default_factory=dict)  # geometry, splitter sizes…
    # The TL's board: {"thresholds": {"long_call_s": 600, …}} (core.floor_alerts.Thresholds)
    supervisor: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for newer versions
    path: Path | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, path: Path) -> Settings:
        path = Path(path)
        settings = cls(path=path)
        if not path.exists():
            return settings
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level is not an object")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            bad = path.with_name(path.name + ".bad")
            try:
                shutil.copyfile(path, bad)
            except OSError:
                bad = None
            log.warning("settings file unreadable (%s); using defaults, kept a copy as %s",
                        type(exc).__name__, bad.name if bad else "(copy failed)")
            return settings
        for key in _secret_paths(data):
            log.warning("ignoring a setting that looks like a secret: %s", key)
        data = _without_secrets(data)
        defaults = cls()
        for f in dataclasses.fields(cls):
            if f.name in ("extra", "path") or f.name not in data:
                continue
            value = data.pop(f.name)
            default = getattr(defaults, f.name)
            if not _type_ok(value, default, f.name):
                log.warning("setting %s has an unexpected value; using the default", f.name)
                continue
            if isinstance(default, dict):
                value = {**default, **value}  # new sub-keys get their defaults
            setattr(settings, f.name, value)
        settings.extra = {k: v for k, v in data.items() if k != "extra"}
        settings._validate_choices()
        return settings

    def _validate_choices(self) -> None:
        if self.language not in LANGUAGES:
            log.warning("unknown language %r; using zh_CN", self.language)
            self.language = "zh_CN"
        if self.monitor_strategy not in MONITOR_STRATEGIES:
            self.monitor_strategy = "bridge"
        if self.recording.get("policy") not in RECORDING_POLICIES:
            self.recording["policy"] = "campaign"
        if not isinstance(self.sync_interval_s, int) or not 5 <= self.sync_interval_s <= 3600:
            self.sync_interval_s = 30

    # ------------------------------------------------------------------ save
    def to_dict(self) -> dict[str, Any]:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name not in ("extra", "path")}
        return {**copy.deepcopy(self.extra), **out}

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (temp file + rename). Raises SettingsError for secret-looking keys."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise SettingsError("no settings file path given")
        data = self.to_dict()
        secrets = _secret_paths(data)
        if secrets:
            raise SettingsError(
                f"refusing to save {', '.join(secrets)}: secrets belong in the OS keyring, not the settings file"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        self.path = target
        return target


def _type_ok(value: Any, default: Any, name: str) -> bool:
    if name == "server_url":
        return value is None or isinstance(value, str)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, dict):
        return isinstance(value, dict)
    if isinstance(default, str):
        return isinstance(value, str)
    return True


def _secret_paths(data: Any, prefix: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{prefix}{k}"
            if SECRET_KEY.search(str(k)):
                found.append(key)
            found += _secret_paths(v, key + ".")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _secret_paths(v, f"{prefix}{i}.")
    return found


def _without_secrets(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_secrets(v) for k, v in data.items() if not SECRET_KEY.search(str(k))}
    if isinstance(data, list):
        return [_without_secrets(v) for v in data]
    return data
