"""User-facing messages as codes: what a rule or a service has to say, not its wording.

Rules and services never build sentences for the agent. They return or emit a
:class:`Message` — a code from the list below and its parameters — and the UI
turns it into text in the agent's language (``ui/messages.py`` holds every
wording, translated through Qt's .ts/.qm files). So ``--lang en`` shows no
Chinese sentence from the compliance gate, the wrap-up, sync or the call loop,
and a language switch re-renders a message that is still on screen.

Parameters are plain data: numbers, strings the agent must see as they are
(campaign data such as a disposition code's label or a pause reason), times as
``"HH:MM"`` strings or datetimes (naive = UTC; the UI shows local time), a
sequence of strings (the UI joins it the way its language lists things), or
another :class:`Message` (rendered in place, e.g. why no lead can be dialled).
Never a full phone number: a message may be logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from core.errors import KnownError

# -- the compliance gate (core.compliance) ---------------------------------------------
GATE_DNC_LOCAL = "gate.dnc_local"
GATE_DNC_SERVER = "gate.dnc_server"
GATE_HARD_WINDOW = "gate.hard_window"  # now, start, end ("HH:MM")
GATE_WINDOW = "gate.window"  # now, windows (["HH:MM–HH:MM", …])
GATE_ATTEMPTS = "gate.attempts"  # count, limit
GATE_GAP = "gate.gap"  # minutes, wait

# -- why a dial did not start (app.workspace.controller) -----------------------------------
DIAL_LEAD_MISSING = "dial.lead_missing"
DIAL_LEAD_DONE = "dial.lead_done"
DIAL_NO_NUMBER = "dial.no_number"
DIAL_WRAPUP_OPEN = "dial.wrapup_open"
DIAL_BUSY = "dial.busy"
DIAL_PHONE_NOT_READY = "dial.phone_not_ready"
DIAL_PAUSED = "dial.paused"  # reason (the campaign's pause reason, as it is)
DIAL_OFFLINE = "dial.offline"
DIAL_NO_LEAD = "dial.no_lead"
DIAL_NO_LEAD_BECAUSE = "dial.no_lead_because"  # reason (a Message: the first lead's block)
DIAL_INVALID_NUMBER = "dial.invalid_number"  # reason (a Message: the number's problem)
DIAL_MODE_POWER = "dial.mode_power"
DIAL_MODE_PREVIEW = "dial.mode_preview"

# -- how a call went (app.workspace.controller, core.wrapup.call_result) ---------------------
CALL_FAILED = "call.failed"  # detail: the engine could not place the call
CALL_NOT_CONNECTED = "call.not_connected"  # status (SIP status or "—")
CALL_BUSY = "call.busy"  # status
CALL_NO_ANSWER = "call.no_answer"  # status
CALL_DECLINED = "call.declined"  # status
CALL_NUMBER_UNKNOWN = "call.number_unknown"  # status
CALL_NO_AUDIO = "call.no_audio"  # seconds: no sound from the other side for that long

# -- the wrap-up (core.wrapup.validate, app.workspace.wrapup, the controller) -----------------
WRAPUP_CHOOSE_CODE = "wrapup.choose_code"
WRAPUP_CALLBACK_REQUIRED = "wrapup.callback_required"  # label
WRAPUP_CALLBACK_PAST = "wrapup.callback_past"
WRAPUP_NOTE_REQUIRED = "wrapup.note_required"  # label
WRAPUP_NOTE_TOO_LONG = "wrapup.note_too_long"  # limit
WRAPUP_SAVE_FAILED = "wrapup.save_failed"  # error
WRAPUP_SAVED = "wrapup.saved"
WRAPUP_SAVED_DNC = "wrapup.saved_dnc"
WRAPUP_SAVED_CALLBACK = "wrapup.saved_callback"  # when (datetime, UTC)
WRAPUP_RESTORED = "wrapup.restored"
WRAPUP_OUTCOME_MISMATCH_CONNECTED = "wrapup.outcome_mismatch_connected"  # label
WRAPUP_OUTCOME_MISMATCH_NOT_CONNECTED = "wrapup.outcome_mismatch_not_connected"  # label
WRAPUP_OVERRIDE_TOO_LONG = "wrapup.override_too_long"  # limit
QUESTION_RECORDED = "script.question_recorded"

# -- sync (sync.service; the first three are the codes of sync.client's errors) ---------------
# SYNC_AUTH is also what the account says when the server ends the session (app.session_service).
SYNC_FAILED = "sync.failed"
SYNC_NETWORK = "sync.network"
SYNC_AUTH = "sync.auth"
SYNC_REFUSED = "sync.refused"  # status, detail (the server refused a request: HTTP 4xx)
SYNC_INTERNAL = "sync.internal"  # error (a bug's exception type)

# -- the account: logging in and out (app.session_service) -----------------------------------
LOGIN_THROTTLED = "login.throttled"  # minutes
LOGIN_BAD_CREDENTIALS = "login.bad_credentials"
LOGIN_CONFLICT = "login.conflict"  # count, user (records of another user not uploaded yet)
LOGIN_PREVIOUS_USER = "login.previous_user"
LOGIN_UNREACHABLE = "login.unreachable"
LOGIN_DISABLED = "login.disabled"
LOGIN_FAILED = "login.failed"  # detail (the server's words)
LOGIN_ENTER_URL = "login.enter_url"
LOGIN_ENTER_CREDENTIALS = "login.enter_credentials"
LOGIN_NO_SERVER = "login.no_server"
LOGIN_OTHER_SERVER = "login.other_server"
LOGOUT_DRAFT_OPEN = "logout.draft_open"
LOGOUT_UNSYNCED = "logout.unsynced"  # count
LOGOUT_EXPORT_FAILED = "logout.export_failed"  # error
LOGOUT_CLEAR_FAILED = "logout.clear_failed"  # error
LOGOUT_DONE = "logout.done"
LOGOUT_DONE_EXPORTED = "logout.done_exported"  # path

# -- monitoring (监听 / 耳语 / 强插: app.supervisor.monitor_service)
MONITOR_BUSY = "monitor.busy"  # agent (already monitoring someone: end that first)
MONITOR_PHONE_NOT_READY = "monitor.phone_not_ready"
MONITOR_NOT_ON_CALL = "monitor.not_on_call"  # agent
MONITOR_NO_SIP_USER = "monitor.no_sip_user"  # agent
MONITOR_SERVER_REFUSED = "monitor.server_refused"  # status, detail
MONITOR_SERVER_UNREACHABLE = "monitor.server_unreachable"
MONITOR_REFUSED = "monitor.refused"  # status (the agent's softphone refused the grant: SIP 403)
MONITOR_NO_CALL_NOW = "monitor.no_call_now"  # the agent's call ended before the TL got there (SIP 480)
MONITOR_FAILED = "monitor.failed"  # status (the monitoring call failed)
MONITOR_CHANGE_REFUSED = "monitor.change_refused"  # status (the agent's softphone kept the old mode)
MONITOR_ENDED = "monitor.ended"
MONITOR_CALL_ENDED = "monitor.call_ended"  # the monitored call ended, and the session with it

# -- the TL's floor control (app.supervisor.floor_service) and the agent's side of it --------
FLOOR_PAUSE_SENT = "floor.pause_sent"  # name, reason
FLOOR_READY_SENT = "floor.ready_sent"  # name
FLOOR_MESSAGE_SENT = "floor.message_sent"  # name
FLOOR_MESSAGE_TEAM_SENT = "floor.message_team_sent"
FLOOR_REFUSED = "floor.refused"  # detail (the server's reason)
FLOOR_UNREACHABLE = "floor.unreachable"
RECORDING_FORBIDDEN = "recording.forbidden"  # the server answered 403 to a recording (app.supervisor.coaching_service)
RECORDING_NOT_PLAYABLE = "recording.not_playable"  # not a 16-bit PCM WAV (core.wav)
ORDER_PAUSE = "order.pause"  # by, reason (app.supervisor.agent_orders: a TL's order carried out)
ORDER_PAUSE_LATER = "order.pause_later"  # by, reason (after the call's wrap-up)
ORDER_READY = "order.ready"  # by

# -- bad files and bad answers (core.lead_file, app.lead_import, core.disposition_codes, sync.client) --
IMPORT_DONE = "import.done"  # file, imported, inserted, updated, skipped
IMPORT_NOT_TEXT = "import.not_text"  # file
IMPORT_ENCODING = "import.encoding"  # file
IMPORT_BAD_XLSX = "import.bad_xlsx"  # file
IMPORT_MISSING = "import.missing"  # file
IMPORT_NOT_A_FILE = "import.not_a_file"  # file
IMPORT_CANNOT_OPEN = "import.cannot_open"  # file, reason
IMPORT_OLD_XLS = "import.old_xls"  # file
IMPORT_BAD_CSV = "import.bad_csv"  # file, reason
IMPORT_EMPTY = "import.empty"  # file
IMPORT_MISSING_COLUMNS = "import.missing_columns"  # file, columns
IMPORT_TOO_MANY_ROWS = "import.too_many_rows"  # file, max_rows
IMPORT_NO_ROWS = "import.no_rows"  # file, skipped, reason (the first skipped row's)
IMPORT_UNREADABLE = "import.unreadable"  # file
IMPORT_FAILED = "import.failed"  # file, error (saving failed; nothing was changed)
CODES_DUPLICATE = "codes.duplicate"  # code, first, again (positions in the file, 1-based)
CODES_INVALID = "codes.invalid"  # position, detail
SYNC_BAD_ANSWER = "sync.bad_answer"  # the server's answer could not be read; nothing was changed

# -- the codes of core.errors' kinds and of core.phone.PhoneError -----------------------------
ERROR = "error"
USER_ERROR = "user_error"
ENVIRONMENT_ERROR = "environment_error"
PHONE_EMPTY = "phone.empty"
PHONE_NOT_DIGITS = "phone.not_digits"
PHONE_UNPARSABLE = "phone.unparsable"  # reason
PHONE_INVALID = "phone.invalid"  # digits

# -- the SIP account (core.sip_settings: settings.json's sip section, the settings dialog) ----
SIP_INVALID_VALUE = "sip.invalid_value"  # field, value
SIP_INVALID_USER = "sip.invalid_user"  # field, value
SIP_INVALID_HOST = "sip.invalid_host"  # field, value
SIP_INVALID_URI = "sip.invalid_uri"  # field, value
SIP_INVALID_CHOICE = "sip.invalid_choice"  # field, value, choices
SIP_SRTP_NEEDS_TLS = "sip.srtp_needs_tls"  # field
SIP_UNKNOWN_CODEC = "sip.unknown_codec"  # field, value, choices
SIP_OUT_OF_RANGE = "sip.out_of_range"  # field, value, low, high
SIP_MISSING = "sip.missing"  # field
SIP_CA_MISSING = "sip.ca_missing"  # field, value
SIP_SAVED = "sip.saved"  # the new account is in use (re-registering)
SIP_PROVISIONED = "sip.provisioned"  # the server sent a new SIP account
# -- the registration state in plain words (core.sip_settings.registration_message)
SIP_REG_OK = "sip.reg_ok"
SIP_REG_PENDING = "sip.reg_pending"
SIP_REG_OFF = "sip.reg_off"
SIP_REG_AUTH = "sip.reg_auth"  # status
SIP_REG_UNREACHABLE = "sip.reg_unreachable"  # status
SIP_REG_TLS = "sip.reg_tls"  # status
SIP_REG_FAILED = "sip.reg_failed"  # status, reason
SIP_NOT_CONFIGURED = "sip.not_configured"
CALL_MEDIA_REFUSED = "call.media_refused"  # status (SIP 488: e.g. mandatory SRTP, a peer without it)

# -- the settings dialog (app.workspace.settings_service)
SETTINGS_SAVED = "settings.saved"
SETTINGS_SAVED_NEXT_START = "settings.saved_next_start"
SETTINGS_SAVE_FAILED = "settings.save_failed"  # error
SETTINGS_INVALID = "settings.invalid"  # value
SETTINGS_DEVICE_GONE = "settings.device_gone"  # name
SETTINGS_BAD_SHORTCUT = "settings.bad_shortcut"  # keys
SETTINGS_SHORTCUT_TAKEN = "settings.shortcut_taken"  # keys, action
SETTINGS_RECORDING_LOCKED = "settings.recording_locked"


def _all_codes() -> frozenset[str]:
    return frozenset(v for k, v in globals().items() if k.isupper() and isinstance(v, str))


@dataclass(frozen=True)
class Message:
    """A code (one of this module's constants) and its parameters; immutable."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @classmethod
    def of(cls, code: str, **params: Any) -> Message:
        return cls(code, params)

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted((k, repr(v)) for k, v in self.params.items()))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.code == other.code and dict(self.params) == dict(other.params)

    def __str__(self) -> str:
        """For logs and test reports, never for the screen."""
        if not self.params:
            return self.code
        return f"{self.code}({', '.join(f'{k}={v}' for k, v in self.params.items())})"


#: Every code above (a test checks each has a wording in ui/messages.py and nothing more).
CODES = _all_codes()


def from_error(exc: BaseException) -> Message:
    """A known error (core.errors: the user's or the environment's fault) as the message it
    carries; anything else is a bug, named by its type only."""
    if isinstance(exc, KnownError):
        return Message(exc.code or ERROR, exc.params)
    return Message.of(ERROR, error=type(exc).__name__)
