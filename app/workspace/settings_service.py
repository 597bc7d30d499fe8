"""What the settings dialog (设置, ui/settings_dialog.py) talks to: one service per window.

Pages and what applies when:
- audio: microphone / speaker / ringer lists (hot-plug: the audio engine's device
  snapshots, else Qt's own device signals); a choice switches the call audio live
  (the audio engine's preference lists) and is saved in settings.json's ``audio``
  (``microphone``/``speaker``/``ringer``: preference lists, most wanted first).
  The checks (level meter, test tone, echo test) are app.audio_test's.
- SIP: app.sip_account.SipAccountService (validate → save → re-register).
- general: language (live), shortcuts (saved; applied at the next start, the
  workspace's actions are built once), recording policy (unless the server set
  it), start minimised.
Every change is validated first: an invalid one is answered with a message code
(core/messages.py) and the old value stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence

from app.settings import LANGUAGES, RECORDING_POLICIES
from app.sip_account import SipAccountService
from core import messages as msg
from core.messages import Message

log = logging.getLogger(__name__)

ROLES = ("microphone", "speaker", "ringer")


@dataclass(frozen=True)
class AudioDevices:
    """What the audio page shows: the names present, and the names chosen per role."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    microphone: str | None = None  # the device in use (or that would be used) per role
    speaker: str | None = None
    ringer: str | None = None
    live: bool = False  # False: no call audio engine here (headless); choices still saved


class SettingsService(QObject):
    devicesChanged = Signal(object)  # AudioDevices
    message = Signal(object)         # Message: what a change did or why it was refused
    changed = Signal(str)            # the section that changed ("audio", "sip", "language", …)

    def __init__(self, settings: Any, runtime: Any | None = None,
                 apply_language: Callable[[str], None] | None = None,
                 server_settings: Callable[[], dict[str, Any]] | None = None,
                 sip: SipAccountService | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.runtime = runtime
        self._apply_language = apply_language
        self._server_settings = server_settings
        self.sip = sip if sip is not None else SipAccountService(settings, runtime, parent=self)
        self.sip.message.connect(self.message)
        # The audio checks (app.audio_test); None headless: importing Qt Multimedia is not free
        # (it probes PipeWire/PulseAudio and says so when there is none).
        self.tester: Any = None
        self._qt_devices: Any = None
        engine = self.audio_engine
        if engine is not None:
            engine.devicesChanged.connect(lambda _snap: self.devicesChanged.emit(self.devices()))
        if self.audio_available:
            from app.audio_test import AudioTester

            self.tester = AudioTester(self)
        if engine is None and self.audio_available:
            from PySide6.QtMultimedia import QMediaDevices

            self._qt_devices = QMediaDevices(self)
            self._qt_devices.audioInputsChanged.connect(lambda: self.devicesChanged.emit(self.devices()))
            self._qt_devices.audioOutputsChanged.connect(lambda: self.devicesChanged.emit(self.devices()))

    # -- audio ---------------------------------------------------------------------------
    @property
    def audio_engine(self) -> Any:
        return getattr(self.runtime, "audio_engine", None) if self.runtime is not None else None

    @property
    def audio_available(self) -> bool:
        """False when the workspace runs without sound devices (``audio_backend`` "tone", or
        "auto" on the offscreen platform: tests, CI, kiosks) — then nothing here opens one."""
        if self.runtime is None or self.audio_engine is not None:
            return True
        backend = (getattr(self.runtime, "options", {}) or {}).get("audio_backend", "auto")
        if backend == "auto":
            from PySide6.QtGui import QGuiApplication

            return QGuiApplication.platformName() != "offscreen"
        return backend == "qt"

    def preference_lists(self) -> dict[str, list[str]]:
        audio = getattr(self.settings, "audio", {}) or {}
        out: dict[str, list[str]] = {}
        for role in ROLES:
            value = audio.get(role)
            out[role] = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        return out

    def devices(self) -> AudioDevices:
        engine = self.audio_engine
        if engine is not None:
            snap = engine.snapshot()
            if snap.inputs or snap.outputs:
                return AudioDevices(tuple(d.name for d in snap.inputs), tuple(d.name for d in snap.outputs),
                                    snap.microphone, snap.speaker, snap.ringer, live=True)
        if not self.audio_available:
            return AudioDevices()
        from app.audio_test import device_names

        inputs, outputs = tuple(device_names(True)), tuple(device_names(False))
        prefs = self.preference_lists()

        def pick(role: str, names: tuple[str, ...]) -> str | None:
            return next((n for n in prefs[role] if n in names), names[0] if names else None)

        return AudioDevices(inputs, outputs, pick("microphone", inputs), pick("speaker", outputs),
                            pick("ringer", outputs), live=engine is not None)

    def choose_device(self, role: str, name: str) -> Message | None:
        if role not in ROLES:
            return Message.of(msg.SETTINGS_INVALID, value=role)
        present = self.devices()
        names = present.inputs if role == "microphone" else present.outputs
        if name not in names:
            error = Message.of(msg.SETTINGS_DEVICE_GONE, name=name)
            self.message.emit(error)
            return error
        lists = self.preference_lists()
        lists[role] = [name, *[n for n in lists[role] if n != name]][:8]
        audio = dict(getattr(self.settings, "audio", {}) or {})
        audio[role] = lists[role]
        error = self._save("audio", audio)
        if error is not None:
            return error
        engine = self.audio_engine
        if engine is not None:
            from softphone.audio.devices import Role

            engine.prefer(Role(role), name)  # the call audio moves now
        self.devicesChanged.emit(self.devices())
        return None

    # -- general -------------------------------------------------------------------------
    def set_language(self, language: str) -> Message | None:
        if language not in LANGUAGES:
            return self._refuse(Message.of(msg.SETTINGS_INVALID, value=language))
        if self._apply_language is not None:
            self._apply_language(language)  # applies live and saves (Application.set_language)
            self.changed.emit("language")
            return None
        return self._save("language", language)

    def shortcuts(self) -> dict[str, str]:
        from app.workspace.shortcuts import resolve

        return {a: d.keys for a, d in resolve(getattr(self.settings, "shortcuts", None)).items()}

    def set_shortcut(self, action: str, keys: str) -> Message | None:
        from app.workspace.shortcuts import DEFAULTS

        if action not in {d.action for d in DEFAULTS}:
            return self._refuse(Message.of(msg.SETTINGS_INVALID, value=action))
        text = keys.strip()
        seq = QKeySequence(text)
        if not text or seq.isEmpty() or seq.toString() == "" or seq.count() != 1:
            return self._refuse(Message.of(msg.SETTINGS_BAD_SHORTCUT, keys=keys))
        normal = seq.toString(QKeySequence.SequenceFormat.PortableText)
        reserved = {QKeySequence("Ctrl+,").toString(QKeySequence.SequenceFormat.PortableText)}
        for other, other_keys in self.shortcuts().items():
            if other != action and QKeySequence(other_keys).toString(
                    QKeySequence.SequenceFormat.PortableText) == normal:
                return self._refuse(Message.of(msg.SETTINGS_SHORTCUT_TAKEN, keys=normal, action=other))
        if normal in reserved:
            return self._refuse(Message.of(msg.SETTINGS_SHORTCUT_TAKEN, keys=normal, action="settings"))
        shortcuts = dict(getattr(self.settings, "shortcuts", {}) or {})
        shortcuts[action] = normal
        return self._save("shortcuts", shortcuts, Message.of(msg.SETTINGS_SAVED_NEXT_START))

    def recording_locked(self) -> bool:
        """The server decides the recording policy when it sent one (settings ``recording_policy``)."""
        try:
            return bool(self._server_settings and self._server_settings().get("recording_policy"))
        except Exception:
            log.warning("the server's settings could not be read")
            return False

    def recording_policy(self) -> str:
        return str((getattr(self.settings, "recording", {}) or {}).get("policy", "campaign"))

    def set_recording_policy(self, policy: str) -> Message | None:
        if self.recording_locked():
            return self._refuse(Message.of(msg.SETTINGS_RECORDING_LOCKED))
        if policy not in RECORDING_POLICIES:
            return self._refuse(Message.of(msg.SETTINGS_INVALID, value=policy))
        recording = dict(getattr(self.settings, "recording", {}) or {})
        recording["policy"] = policy
        return self._save("recording", recording)  # read per call: applies to the next call

    def start_minimised(self) -> bool:
        block = (getattr(self.settings, "extra", {}) or {}).get("workspace")
        return bool(isinstance(block, dict) and block.get("start_minimised"))

    def set_start_minimised(self, on: bool) -> Message | None:
        extra = dict(getattr(self.settings, "extra", {}) or {})
        block = dict(extra.get("workspace") or {}) if isinstance(extra.get("workspace"), dict) else {}
        block["start_minimised"] = bool(on)
        extra["workspace"] = block
        return self._save("extra", extra, Message.of(msg.SETTINGS_SAVED_NEXT_START))

    # -- helpers -------------------------------------------------------------------------
    def _refuse(self, error: Message) -> Message:
        log.info("a setting was refused: %s", error)
        self.message.emit(error)
        return error

    def _save(self, attr: str, value: Any, said: Message | None = None) -> Message | None:
        old = getattr(self.settings, attr)
        setattr(self.settings, attr, value)
        if getattr(self.settings, "path", None) is not None:
            try:
                self.settings.save()
            except Exception as exc:
                setattr(self.settings, attr, old)
                return self._refuse(Message.of(msg.SETTINGS_SAVE_FAILED, error=type(exc).__name__))
        self.changed.emit(attr)
        self.message.emit(said or Message.of(msg.SETTINGS_SAVED))
        return None

    def close(self) -> None:
        if self.tester is not None:
            self.tester.stop_all()
