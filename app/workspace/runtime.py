"""Builds and runs the workspace services: the piece the composition root starts and stops.

Order at start: store → gate → agent state → wrap-up (restoring an unsaved
draft) → dial modes → callbacks → phone → controller. With no server
configured it also starts the embedded demo's customer (a SIP peer on
127.0.0.1, ``app.demo.customer``) and registers the softphone with it, and
evaluates calling windows at a simulated 10:30 so the loop can be tried at
any hour (counts, gaps and do-not-call are enforced as usual).

The phone starts in the background (``app.background.run_in_background``: pjsua2
start-up takes a few hundred ms); until it is up, dialing explains that the line
is not ready.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.background import deliver_posted, run_in_background
from app.workspace.agent_state import AgentStateMachine
from app.workspace.callbacks import CallbackMonitor
from app.workspace.controller import WorkspaceController
from app.workspace.dialing import PowerDialer
from app.workspace.monitoring import AgentMonitorNotice, MonitorKeyVerifier, read_monitor_state
from app.workspace.seams import PhoneEngine
from app.workspace.store import WorkspaceStore
from app.workspace.wrapup import DraftStore, WrapupService
from core.compliance import ComplianceGate, fixed_time_of_day
from core.dialing import DialMode

log = logging.getLogger(__name__)

DEMO_WINDOW_TIME = (10, 30)
_RUNNING: set = set()  # runtimes whose softphone may be running (one per process)
_RUNNING_LOCK = threading.Lock()


def workspace_settings(settings: Any) -> dict:
    """The ``workspace`` block of settings.json (kept in Settings.extra), with defaults."""
    extra = getattr(settings, "extra", {}) or {}
    block = extra.get("workspace") if isinstance(extra.get("workspace"), dict) else {}
    return {
        "dial_mode": block.get("dial_mode", "preview"),
        "power_countdown_s": int(block.get("power_countdown_s", 5)),
        "agent_name": block.get("agent_name", "坐席"),
        "company": block.get("company", "平安产险"),
        "start_minimised": bool(block.get("start_minimised", False)),
        "timezone": block.get("timezone", "Asia/Shanghai"),
        "crm_url": block.get("crm_url", ""),
        "demo_behaviour": block.get("demo_behaviour", "bydigit"),
        "demo_answer_delay_s": float(block.get("demo_answer_delay_s", 1.5)),
        # "qt": the headset through Qt Multimedia; "tone": no sound device (tests, CI, kiosks);
        # "auto": qt, except on the offscreen platform (nobody is there to listen).
        "audio_backend": block.get("audio_backend", "auto"),
        # "HH:MM": evaluate calling windows at this time of day (training rooms, tests); the
        # embedded demo uses 10:30. Counts, gaps and do-not-call are never simulated.
        "window_clock": block.get("window_clock"),
    }


class WorkspaceRuntime(QObject):
    phone_ready = Signal(bool, str)  # up?, one-line detail
    registration = Signal(object)  # the engine's RegInfo
    _reconfigure_later = Signal(object)  # a SIP change that waited for the phone's start-up (any thread)

    def __init__(self, cache: Any, settings: Any, data_dir: Path, demo: bool,
                 phone: PhoneEngine | None = None, repository: Any | None = None,
                 clock: Callable[[], dt.datetime] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.settings = settings
        self.options = workspace_settings(settings)
        self.demo = demo
        self.data_dir = Path(data_dir)
        self.store = WorkspaceStore(cache, repository)
        gate_window = None
        clock_text = self.options["window_clock"]
        if isinstance(clock_text, str) and ":" in clock_text:
            try:
                hour, minute = (int(x) for x in clock_text.split(":", 1))
                gate_window = fixed_time_of_day(hour, minute, self.options["timezone"])
            except ValueError:
                log.warning("ignoring the window_clock setting %r (expected HH:MM)", clock_text)
        if gate_window is None and demo:
            gate_window = fixed_time_of_day(*DEMO_WINDOW_TIME, self.options["timezone"])
        self.gate = ComplianceGate(window_clock=gate_window)
        self.agent = AgentStateMachine(pause_reasons=self.store.pause_reasons())
        self.wrapup = WrapupService(DraftStore(self.data_dir / "wrapup-draft.json"), self.store.save_disposition,
                                    self.store.codes_for_lead)
        self.power = PowerDialer(self.options["power_countdown_s"])
        self.callbacks = CallbackMonitor(self.store.due_callbacks)
        self.phone = phone
        self.demo_process: Any = None
        self.controller = WorkspaceController(self.store, phone, self.agent, self.wrapup, self.power,
                                              gate=self.gate, callbacks=self.callbacks,
                                              timezone=self.options["timezone"], clock=clock)
        self.controller.recording_file = self.recording_file
        self.controller.set_mode(DialMode(self.options["dial_mode"])
                                 if self.options["dial_mode"] in ("preview", "power") else DialMode.PREVIEW)
        self._starting: cf.Future[PhoneEngine] | None = None
        self._audio_engine: Any = None
        self._engine: PhoneEngine | None = None
        self._sip_in_use: Any = None  # core.sip_settings.SipSettings of the running engine
        self._reconfigure_later.connect(self._post_reconfigure)  # queued from another thread: GUI thread
        # Monitoring (监听/耳语/强插): grants checked with the key the server sends with every pull.
        self.monitor_verifier = MonitorKeyVerifier()
        self.monitor_notice = AgentMonitorNotice(self._monitor_indicator_policy, parent=self)

    # -- lifecycle -----------------------------------------------------------------
    def start(self, start_phone: bool = True) -> None:
        self.controller.restore()
        if not self.wrapup.blocking:
            self.agent.go_ready()
        self.callbacks.start()
        self.controller.refresh_kpis()
        if start_phone and self.phone is None:
            self._audio_engine = self._make_audio_engine()  # a QObject: made on the GUI thread
            self._starting = run_in_background(self._start_phone, self._on_phone_started, self._on_phone_failed,
                                               name="phone-start")

    def phone_start_finished(self) -> bool:
        """The phone's start-up is over, well or not (its answer may still be on its way)."""
        return self._starting is not None and self._starting.done()

    def wait_phone(self, timeout: float = 20.0) -> bool:
        """Tests, the self-test and the benchmark: block until the phone start-up finished."""
        if self._starting is not None:
            cf.wait([self._starting], timeout)
        deliver_posted()  # the "started"/"failed" answer, if it is still queued
        return self.phone is not None

    def _start_phone(self) -> PhoneEngine:  # a background thread
        # pjsua2 allows one Endpoint per process and aborts on a second: a softphone left
        # running by a workspace that was never stopped is stopped first.
        with _RUNNING_LOCK:
            for other in list(_RUNNING):
                if other is not self:
                    log.warning("stopping a softphone left running by an earlier workspace")
                    other._stop_engine()
            _RUNNING.add(self)
        try:
            from softphone.engine import EngineConfig, SipEngine

            account, audio = self._account_and_audio()
            engine = SipEngine()
            engine.moveToThread(self.thread())
            bind = "127.0.0.1" if self.demo else "0.0.0.0"
            from softphone.audio.recorder import make_recorder_factory

            rate = self.bridge_clock_rate()
            self.refresh_monitor_key(account.user)
            engine.start(EngineConfig(bind_address=bind, public_address="127.0.0.1" if self.demo else "",
                                      no_answer_timeout_s=30.0 if self.demo else 45.0, clock_rate=rate),
                         account, audio,
                         recorder_factory=make_recorder_factory(self.recordings_dir, self.recording_enabled,
                                                                clock_rate=rate),
                         monitor_verifier=self.monitor_verifier, disposition_codes=None)
            # Kept here at once: stop() must find it even if the "started" answer is still queued
            # (pjsua2 allows one Endpoint per process; a leftover would abort the next start).
            self._engine = engine
            return engine
        except Exception:
            log.exception("the softphone did not start")
            raise

    def _account_and_audio(self) -> tuple[Any, Any]:
        from softphone.account import AccountSettings

        audio = self._audio_factory()
        if self.demo:
            from app.demo.line import DemoCustomerProcess

            if self.demo_process is None:  # kept over a restart of the phone
                self.demo_process = DemoCustomerProcess(behaviour=self.options["demo_behaviour"],
                                                        answer_delay=self.options["demo_answer_delay_s"])
                self.demo_process.start()
            line = self.demo_process.line
            return AccountSettings(user="agent", domain=line.domain, registrar=line.registrar,
                                   display_name=self.options["agent_name"]), audio
        return self._sip_account(), audio

    def _sip_account(self, sip: Any = None) -> Any:
        """settings.json's ``sip`` section (typed, validated: app.sip_account) as the engine's
        account, every setting included; the password from the keyring."""
        from app.sip_account import account_settings, read_password, sip_settings

        sip = sip if sip is not None else sip_settings(self.settings)
        if not sip.configured:
            raise RuntimeError("no SIP account configured")
        self._sip_in_use = sip
        return account_settings(sip, read_password(sip), display_name=self.options["agent_name"])

    def reconfigure_sip(self, sip: Any) -> None:
        """Use a new SIP account now (the settings dialog, the server's provisioning; GUI thread):
        the running engine re-registers with it; a new STUN list restarts the engine (STUN is
        the library's, not the account's); a phone that never started (no account) starts."""
        if self._starting is not None and not self._starting.done():
            self._starting.add_done_callback(lambda _f: self._reconfigure_later.emit(sip))
            return
        self._post_reconfigure(sip)

    def _post_reconfigure(self, sip: Any) -> None:
        engine = self._engine
        old = getattr(self, "_sip_in_use", None)
        if engine is not None and sip.configured and (old is None or not sip.needs_restart_versus(old)):
            try:
                account = self._sip_account(sip)
            except Exception:
                log.exception("the new SIP account cannot be used")
                return
            fut = engine.set_account(account)
            fut.add_done_callback(lambda f: f.exception() and log.warning(
                "the new SIP account was not taken: %s", type(f.exception()).__name__))
            return
        if engine is None and not sip.configured:
            return
        self._starting = run_in_background(self._restart_phone, self._on_phone_started, self._on_phone_failed,
                                           name="phone-restart")

    def _restart_phone(self) -> PhoneEngine:  # a background thread
        self._stop_engine()
        return self._start_phone()

    def bridge_clock_rate(self) -> int:
        """The conference bridge's rate: 8 kHz unless ``audio.wideband`` is set.

        Telesales trunks carry G.711 (8 kHz): a 16 kHz bridge would resample every
        frame both ways for nothing (measured: ~0.8 points of a core per call, see
        docs/audio.md). ``audio.wideband`` is for PBXs that talk G.722/Opus."""
        audio = getattr(self.settings, "audio", {}) or {}
        return 16000 if audio.get("wideband") else 8000

    def _make_audio_engine(self) -> Any:
        backend = self.options["audio_backend"]
        if backend == "auto":
            from PySide6.QtGui import QGuiApplication

            backend = "tone" if QGuiApplication.platformName() == "offscreen" else "qt"
        if backend != "qt":
            return None
        try:
            from softphone.audio.qt_bridge import AudioEngine

            return AudioEngine(prefs=self._audio_preferences(), parent=None, clock_rate=self.bridge_clock_rate())
        except Exception:
            log.exception("the Qt audio bridge is not available; calls will have no sound device")
            return None

    def _audio_preferences(self) -> Any:
        """settings.json's ``audio`` device preference lists (``microphone``/``speaker``/``ringer``,
        most wanted first; the settings dialog keeps them) and ``echo_cancellation``."""
        from softphone.audio.devices import DevicePreferences

        audio = dict(getattr(self.settings, "audio", {}) or {})
        for role, old in (("microphone", "input_device"), ("speaker", "output_device"), ("ringer", "ring_device")):
            if not audio.get(role) and isinstance(audio.get(old), str):  # the old single-device keys
                audio[role] = [audio[old]]
        return DevicePreferences.from_json({**audio, "echo_cancellation": bool(audio.get("echo_cancellation"))})

    @property
    def audio_engine(self) -> Any:
        """The Qt audio bridge (None headless): device snapshots, live device choice."""
        return self._audio_engine

    def _audio_factory(self) -> Any:
        if self._audio_engine is not None:
            return self._audio_engine.agent_audio_factory()
        from softphone.tone_audio import ToneAudio

        # Headless (tests, CI, no sound card): a silent microphone and a discarding speaker.
        return ToneAudio.factory(0)

    def _on_phone_failed(self, exc: BaseException) -> None:
        self.phone_ready.emit(False, f"{type(exc).__name__}: {exc}")

    def _on_phone_started(self, engine: PhoneEngine) -> None:
        self.phone = engine
        self.controller.phone = engine
        engine.call_state_changed.connect(self.controller.on_call_state)
        engine.incoming_call.connect(self.controller.on_incoming)
        engine.registration_changed.connect(self.registration.emit)
        self.monitor_notice.attach(engine)
        if engine.last_reg is not None:
            self.registration.emit(engine.last_reg)
        self.phone_ready.emit(True, "")

    def stop(self) -> None:
        self.callbacks.stop()
        self.power.cancel()
        self.controller.shutdown()
        if self._starting is not None:
            cf.wait([self._starting], 20)
        self._stop_engine()
        if self.demo_process is not None:
            self.demo_process.stop()
            self.demo_process = None
        if self._audio_engine is not None:
            try:
                self._audio_engine.close()
            except Exception:
                log.exception("closing the audio engine failed")
            self._audio_engine = None

    def _stop_engine(self) -> None:
        engine, self._engine = self._engine, None
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if engine is not None:
            try:
                engine.stop()
            except Exception:
                log.exception("stopping the softphone failed")

    # -- monitoring (the agent's side) ---------------------------------------------
    def refresh_monitor_key(self, sip_user: str | None = None) -> bool:
        """Re-read the server's monitor key (after a pull; any thread): a new key or SIP user
        is used by the softphone's grant check at once. True when it changed."""
        key, offset = read_monitor_state(self.cache)
        return self.monitor_verifier.refresh(key, sip_user, clock_offset_s=offset)

    def _monitor_indicator_policy(self) -> str | None:
        """The campaign's ``monitor_indicator`` for the call in progress (None: the default)."""
        call = self.controller.active
        campaign = self.store.campaign_of(call.lead_id) if call is not None and call.lead_id else None
        policy = self.store.campaign_rules(campaign).get("monitor_indicator") if campaign else None
        return policy if isinstance(policy, str) else None

    # -- recording -------------------------------------------------------------------
    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    def recording_enabled(self) -> bool:
        """The policy for the call starting now (asked on the SIP thread): settings first,
        then the campaign's ``recording_notice`` (the customer is told the call is recorded)."""
        policy = (getattr(self.settings, "recording", {}) or {}).get("policy", "campaign")
        if policy in ("always", "never"):
            return policy == "always"
        call = self.controller.active
        campaign = self.store.campaign_of(call.lead_id) if call is not None and call.lead_id else None
        compliance = self.store.campaign_rules(campaign).get("compliance", {}) if campaign else {}
        return bool(compliance.get("recording_notice", True))

    def recording_file(self, engine_id: str | None) -> Path | None:
        """The WAV the recorder wrote for this call (named by the engine's call id)."""
        if not engine_id:
            return None
        path = self.recordings_dir / f"{engine_id}.wav"
        return path if path.exists() else None

    # -- helpers for the window -------------------------------------------------------
    def store_pending(self) -> int:
        from cache.outbox import count_pending

        with self.cache.session() as s:
            return count_pending(s)

    def agent_info(self) -> dict:
        return {"display_name": self.options["agent_name"], "company": self.options["company"]}

    def now(self) -> dt.datetime:
        return self.controller.now()
