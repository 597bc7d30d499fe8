"""``seatmate --self-test``: start the real app, wait until it is usable, report, exit.

For the frozen-build smoke test (scripts/smoke-frozen.sh) and for support: the
normal start-up runs (window, cache through Alembic, demo data or server mode,
workspace, softphone); once the lead list is on screen, the workspace is attached
and the softphone has started (and, if it has an account, registered), one JSON
line goes to stdout and the app quits through its ordinary shutdown. Exit code 0
when everything came up, 1 when something did not (the JSON says what), 2 when
the run ended before the check (another instance took the hand-off).

``SEATMATE_SELF_TEST_KEYRING=1`` also stores, reads back and deletes a throw-away
secret in the OS keyring (off by default: it may ask to unlock the keyring).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

ENV_KEYRING = "SEATMATE_SELF_TEST_KEYRING"
POLL_MS = 100
AUDIO_WAIT_S = 3.0


def _version() -> str:
    from app.cli import _version

    return _version()


def _keyring_report(roundtrip: bool) -> dict[str, Any]:
    try:
        import keyring

        from sync import credentials

        backend = keyring.get_keyring()
        out: dict[str, Any] = {"backend": f"{type(backend).__module__}.{type(backend).__name__}",
                               "secure": credentials.is_secure_backend(backend)}
        if roundtrip:
            key = f"self-test:{os.getpid()}"
            credentials.store_secret(key, "self-test")
            out["roundtrip"] = credentials.get_secret(key) == "self-test" and credentials.delete_secret(key)
        return out
    except Exception as exc:  # reported, not raised: the rest of the report still matters
        return {"error": f"{type(exc).__name__}: {exc}"}


def _schema_report(app: Any) -> dict[str, Any]:
    from alembic.script import ScriptDirectory

    from cache.db import HEAD_REVISION, alembic_config, current_revision

    # The migration scripts are files (shipped as data when frozen): read them, not just the cache.
    return {"revision": current_revision(app.cache.engine), "expected": HEAD_REVISION,
            "migrations_head": ScriptDirectory.from_config(alembic_config()).get_current_head()}


class _Probe:
    """Polls the started app (bounded by ``timeout``) and reports once it is ready."""

    def __init__(self, app: Any, timeout: float, started: float) -> None:
        from PySide6.QtCore import QTimer

        self.app = app
        self.started = started
        self.deadline = time.monotonic() + timeout
        self.shown = -1
        self.done = False
        self.up_since = 0.0  # when everything but the audio device list was up
        self.failure = ""
        app.window.leadsShown.connect(self._on_shown)
        app.leads.openFailed.connect(self._on_open_failed)
        self.timer = QTimer(app, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def _on_shown(self, count: int) -> None:
        self.shown = max(self.shown, count)

    def _on_open_failed(self, exc: Exception) -> None:
        self.failure = f"the cache could not be opened: {type(exc).__name__}: {exc}"

    def _runtime(self) -> Any:
        return getattr(getattr(self.app, "workspace", None), "runtime", None)

    def _phone(self) -> dict[str, Any]:
        runtime = self._runtime()
        engine = getattr(runtime, "phone", None)
        reg = getattr(engine, "last_reg", None)
        out: dict[str, Any] = {"started": engine is not None, "registered": bool(reg and reg.registered),
                               "code": getattr(reg, "code", 0)}
        if runtime is not None and engine is None and runtime.phone_start_finished():
            out["started"] = runtime.wait_phone(0)  # delivers the "started"/"failed" answer if queued
            if not out["started"]:
                out["error"] = "the softphone did not start (see the log)"
        return out

    def _audio(self) -> dict[str, Any]:
        engine = getattr(self._runtime(), "_audio_engine", None)
        if engine is None:
            return {"backend": "none"}  # the "tone" backend: no sound device (offscreen, kiosks)
        snap = engine.snapshot()
        return {"backend": "qt", "outputs": len(snap.outputs), "inputs": len(snap.inputs),
                "speaker": snap.speaker, "microphone": snap.microphone,
                "pump": "c" if engine.stats().native_pump else "python"}

    def _ready(self, phone: dict[str, Any]) -> bool:
        if self.shown <= 0 or self._runtime() is None:
            return False
        if "error" in phone:
            return True  # finished, badly: report now instead of waiting for the timeout
        # Embedded demo and a configured account register; a phone without a registrar cannot.
        if not (phone["started"] and (phone["registered"] or not self._expects_registration())):
            return False
        # The selected lead's card and filled-in script follow the list (after the selection
        # settles and the workspace's script panel took over).
        if not _script_text(self.app.window) and time.monotonic() - (self.up_since or time.monotonic()) < 10:
            self.up_since = self.up_since or time.monotonic()
            return False
        # The device list comes from the audio thread a moment later; a machine without
        # any device gets AUDIO_WAIT_S, then the report says so.
        self.up_since = self.up_since or time.monotonic()
        audio = self._audio()
        return (audio["backend"] == "none" or audio["outputs"] > 0
                or time.monotonic() - self.up_since > AUDIO_WAIT_S)

    def _expects_registration(self) -> bool:
        runtime = self._runtime()
        if getattr(runtime, "demo", False):
            return True
        from app.sip_account import sip_settings

        return sip_settings(self.app.settings).configured

    def poll(self) -> None:
        if self.done:
            return
        phone = self._phone()
        timed_out = time.monotonic() > self.deadline
        if not (self._ready(phone) or timed_out or self.failure):
            return
        self.done = True
        self.timer.stop()
        report = self.report(phone, timed_out)
        print(json.dumps(report, ensure_ascii=False), flush=True)
        self.app.qt_app.exit(0 if report["ok"] else 1)

    def report(self, phone: dict[str, Any], timed_out: bool) -> dict[str, Any]:
        app, window = self.app, self.app.window
        language = getattr(app.translations, "language", None)
        title = window.windowTitle()
        repo = getattr(app, "repository", None)
        total = sum(c.lead_count for c in repo.campaigns()) if repo is not None else 0
        try:
            schema: dict[str, Any] = _schema_report(app) if app.cache is not None else {"error": "cache not open"}
        except Exception as exc:
            schema = {"error": f"{type(exc).__name__}: {exc}"}
        script = _script_text(window)
        name = getattr(getattr(window.card, "_detail", None), "name", "") or ""
        out: dict[str, Any] = {
            "version": _version(),
            "frozen": bool(getattr(sys, "frozen", False)),
            "mode": "server" if getattr(app.settings, "server_url", None) else "demo",
            "language": language,
            "window_title": title,
            "window_visible": window.isVisible(),
            "leads_shown": window.model.rowCount(),
            "leads_total": total,
            "lead_count_text": window.status.leads.text(),
            "workspace": self._runtime() is not None,
            "schema": schema,
            "phone": phone,
            "sip_status_text": window.status.sip.text(),
            "customer_card": window.card.title.text(),
            "script_shown": bool(script),
            # the script's placeholders are filled with the customer's name
            "script_names_customer": bool(script and name and name in script),
            "audio": self._audio(),
            "platform": app.qt_app.platformName(),
            "keyring": _keyring_report(os.environ.get(ENV_KEYRING) == "1"),
            "ready_ms": round(  # from the start of start-up (after the imports of the entry point)
                (time.perf_counter() - self.started) * 1000),
            "timed_out": timed_out,
        }
        if self.failure:
            out["error"] = self.failure
        # English is the source text: only a non-English UI can show that a translation loaded.
        translated = language == "en" or title != "Seatmate"
        schema_ok = schema.get("revision") == schema.get("expected") == schema.get("migrations_head")
        phone_ok = (phone["started"] and "error" not in phone
                    and (phone["registered"] or not self._expects_registration()))
        out["ok"] = bool(not timed_out and not self.failure and out["window_visible"] and out["leads_shown"] > 0
                         and out["workspace"] and translated and schema_ok and phone_ok
                         and out["script_names_customer"])
        return out


def _script_text(window: Any) -> str:
    """What the script panel shows (the workspace's panel or the plain one)."""
    browser = getattr(window.script, "browser", None)
    return browser.toPlainText() if browser is not None and hasattr(browser, "toPlainText") else ""


def run_self_test(args: argparse.Namespace) -> int:
    from app.application import Application

    started = time.perf_counter()
    app = Application(args)
    code = app.start()
    if code is not None:
        print(json.dumps({"ok": False, "error": "another Seatmate is running on this data folder"}), flush=True)
        return 2
    probe = _Probe(app, float(getattr(args, "self_test_timeout", None) or 60.0), started)
    app._probe = probe  # kept alive for the run
    return app.qt_app.exec()
