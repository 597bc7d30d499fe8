"""Every user-facing message text, in one place (in the spirit of Electrum's ``gui/messages.py``).

Rules and services speak in codes (:class:`core.messages.Message`); this module
words them in the UI language. The English source texts are marked with
``QT_TRANSLATE_NOOP`` (context ``Messages``) so ``lupdate`` puts them in
``resources/i18n/seatmate_*.ts``; :func:`text` translates at the moment it is
called, so a widget that keeps the message (not the text) re-words it on a
language change.

Placeholders are ``{name}``, filled from the message's parameters: a nested
message is worded too, a datetime (naive = UTC) is shown as local time, a list
is joined the way the language lists things. Parameter values that are
campaign or customer data (a code's label, a pause reason) appear as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from core import messages as m
from core.messages import Message

CONTEXT = "Messages"

TEXTS: dict[str, str] = {
    # -- the compliance gate
    m.GATE_DNC_LOCAL: QT_TRANSLATE_NOOP(
        "Messages", "This number is on the do-not-call list (registered on this computer); it may not be called"),
    m.GATE_DNC_SERVER: QT_TRANSLATE_NOOP(
        "Messages", "This number is on the do-not-call list (registered by the server); it may not be called"),
    m.GATE_HARD_WINDOW: QT_TRANSLATE_NOOP(
        "Messages", "It is {now}: outside the legal calling hours {start}–{end}"),
    m.GATE_WINDOW: QT_TRANSLATE_NOOP("Messages", "It is {now}: outside this campaign's calling hours ({windows})"),
    m.GATE_ATTEMPTS: QT_TRANSLATE_NOOP(
        "Messages", "This customer was called {count} times today, the daily limit of {limit}"),
    m.GATE_GAP: QT_TRANSLATE_NOOP(
        "Messages", "Less than {minutes} minutes since the last call; call again in {wait} minutes"),
    # -- why a dial did not start
    m.DIAL_LEAD_MISSING: QT_TRANSLATE_NOOP("Messages", "This customer is no longer in the list on this computer"),
    m.DIAL_LEAD_DONE: QT_TRANSLATE_NOOP("Messages", "This customer is completed; no need to call again"),
    m.DIAL_NO_NUMBER: QT_TRANSLATE_NOOP("Messages", "This customer has no number that can be called"),
    m.DIAL_WRAPUP_OPEN: QT_TRANSLATE_NOOP("Messages", "Finish and save the wrap-up before the next call"),
    m.DIAL_BUSY: QT_TRANSLATE_NOOP("Messages", "A call is in progress"),
    m.DIAL_PHONE_NOT_READY: QT_TRANSLATE_NOOP("Messages", "The phone line is not ready yet; please wait"),
    m.DIAL_PAUSED: QT_TRANSLATE_NOOP("Messages", "You are on a break ({reason}); switch to Ready first"),
    m.DIAL_OFFLINE: QT_TRANSLATE_NOOP("Messages", "You are offline; switch to Ready first"),
    m.DIAL_NO_LEAD: QT_TRANSLATE_NOOP("Messages", "No customer to call"),
    m.DIAL_NO_LEAD_BECAUSE: QT_TRANSLATE_NOOP("Messages", "No customer to call: {reason}"),
    m.DIAL_INVALID_NUMBER: QT_TRANSLATE_NOOP("Messages", "Invalid number: {reason}"),
    m.DIAL_MODE_POWER: QT_TRANSLATE_NOOP("Messages", "Switched to automatic dialing (power mode)"),
    m.DIAL_MODE_PREVIEW: QT_TRANSLATE_NOOP("Messages", "Switched to preview dialing"),
    # -- how a call went
    m.CALL_FAILED: QT_TRANSLATE_NOOP("Messages", "The call could not be placed: {detail}"),
    m.CALL_NOT_CONNECTED: QT_TRANSLATE_NOOP("Messages", "Not connected (SIP {status})"),
    m.CALL_BUSY: QT_TRANSLATE_NOOP("Messages", "Not connected: the line is busy (SIP {status})"),
    m.CALL_NO_ANSWER: QT_TRANSLATE_NOOP("Messages", "Not connected: no answer (SIP {status})"),
    m.CALL_DECLINED: QT_TRANSLATE_NOOP("Messages", "Not connected: the call was declined (SIP {status})"),
    m.CALL_NUMBER_UNKNOWN: QT_TRANSLATE_NOOP("Messages", "Not connected: the number does not exist (SIP {status})"),
    m.CALL_NO_AUDIO: QT_TRANSLATE_NOOP(
        "Messages", "No sound from the other side for {seconds} s. Can't hear them? Check the network and "
        "the headset"),
    # -- the wrap-up
    m.WRAPUP_CHOOSE_CODE: QT_TRANSLATE_NOOP("Messages", "Choose the call result"),
    m.WRAPUP_CALLBACK_REQUIRED: QT_TRANSLATE_NOOP("Messages", "“{label}” needs a callback time"),
    m.WRAPUP_CALLBACK_PAST: QT_TRANSLATE_NOOP("Messages", "The callback time must be later than now"),
    m.WRAPUP_NOTE_REQUIRED: QT_TRANSLATE_NOOP("Messages", "“{label}” needs a note"),
    m.WRAPUP_NOTE_TOO_LONG: QT_TRANSLATE_NOOP("Messages", "The note may be at most {limit} characters long"),
    m.WRAPUP_SAVE_FAILED: QT_TRANSLATE_NOOP("Messages", "Saving failed; the draft is kept: {error}"),
    m.WRAPUP_SAVED: QT_TRANSLATE_NOOP("Messages", "Saved"),
    m.WRAPUP_SAVED_DNC: QT_TRANSLATE_NOOP(
        "Messages", "Added to the do-not-call list; this number will not be called again"),
    m.WRAPUP_SAVED_CALLBACK: QT_TRANSLATE_NOOP("Messages", "Saved; callback at {when}"),
    m.WRAPUP_RESTORED: QT_TRANSLATE_NOOP("Messages", "An unsaved wrap-up was restored; finish it first"),
    m.WRAPUP_OUTCOME_MISMATCH_CONNECTED: QT_TRANSLATE_NOOP(
        "Messages", "The call was answered: “{label}” does not fit; give a reason to record it anyway"),
    m.WRAPUP_OUTCOME_MISMATCH_NOT_CONNECTED: QT_TRANSLATE_NOOP(
        "Messages", "The call was not answered: “{label}” does not fit; give a reason to record it anyway"),
    m.WRAPUP_OVERRIDE_TOO_LONG: QT_TRANSLATE_NOOP("Messages", "The reason may be at most {limit} characters long"),
    m.QUESTION_RECORDED: QT_TRANSLATE_NOOP(
        "Messages", "New question recorded; the team leader answers it the next day"),
    # -- sync
    m.SYNC_FAILED: QT_TRANSLATE_NOOP("Messages", "Sync failed; it is retried shortly"),
    m.SYNC_NETWORK: QT_TRANSLATE_NOOP(
        "Messages", "Cannot reach the server; your work is kept on this computer and sent when it is back"),
    m.SYNC_AUTH: QT_TRANSLATE_NOOP("Messages", "Your session has ended; log in again. Nothing you recorded is lost."),
    m.SYNC_REFUSED: QT_TRANSLATE_NOOP("Messages", "The server refused the sync (HTTP {status}): {detail}"),
    m.SYNC_INTERNAL: QT_TRANSLATE_NOOP("Messages", "Sync stopped on an internal error ({error}); it is retried"),
    # -- the account
    m.LOGIN_THROTTLED: QT_TRANSLATE_NOOP("Messages", "Too many attempts; try again in {minutes} minutes"),
    m.LOGIN_BAD_CREDENTIALS: QT_TRANSLATE_NOOP("Messages", "Wrong user name or password"),
    m.LOGIN_CONFLICT: QT_TRANSLATE_NOOP(
        "Messages", "{count} records of {user} on this computer are not uploaded yet; {user} must log in once "
        "to upload them"),
    m.LOGIN_PREVIOUS_USER: QT_TRANSLATE_NOOP(
        "Messages", "Records of the previous user on this computer are not uploaded yet; they must log in once "
        "to upload them"),
    m.LOGIN_UNREACHABLE: QT_TRANSLATE_NOOP(
        "Messages", "Cannot reach the server; check the network and the server address"),
    m.LOGIN_DISABLED: QT_TRANSLATE_NOOP("Messages", "This account is disabled; ask your team leader"),
    m.LOGIN_FAILED: QT_TRANSLATE_NOOP("Messages", "Login failed: {detail}"),
    m.LOGIN_ENTER_URL: QT_TRANSLATE_NOOP("Messages", "Enter the server address, e.g. http://192.168.1.10:8765"),
    m.LOGIN_ENTER_CREDENTIALS: QT_TRANSLATE_NOOP("Messages", "Enter your user name and password"),
    m.LOGIN_NO_SERVER: QT_TRANSLATE_NOOP("Messages", "No server is configured; start Seatmate with --server URL"),
    m.LOGIN_OTHER_SERVER: QT_TRANSLATE_NOOP("Messages", "Log out first to use another server"),
    m.LOGOUT_DRAFT_OPEN: QT_TRANSLATE_NOOP("Messages", "Save the open wrap-up before logging out"),
    m.LOGOUT_UNSYNCED: QT_TRANSLATE_NOOP("Messages", "{count} records are not uploaded yet"),
    m.LOGOUT_EXPORT_FAILED: QT_TRANSLATE_NOOP("Messages", "The export failed: {error}"),
    m.LOGOUT_CLEAR_FAILED: QT_TRANSLATE_NOOP(
        "Messages", "Logged out, but the local data could not be cleared: {error}"),
    m.LOGOUT_DONE: QT_TRANSLATE_NOOP("Messages", "Logged out; the customer data was removed from this computer"),
    m.LOGOUT_DONE_EXPORTED: QT_TRANSLATE_NOOP(
        "Messages", "Logged out; the customer data was removed from this computer · unsynced records exported "
        "to {path}"),
    # -- monitoring
    m.MONITOR_BUSY: QT_TRANSLATE_NOOP("Messages", "You are already monitoring {agent}; end that session first"),
    m.MONITOR_PHONE_NOT_READY: QT_TRANSLATE_NOOP("Messages", "Your phone line is not ready; monitoring needs it"),
    m.MONITOR_NOT_ON_CALL: QT_TRANSLATE_NOOP("Messages", "{agent} is not in a call"),
    m.MONITOR_NO_SIP_USER: QT_TRANSLATE_NOOP("Messages", "{agent} has no phone line configured"),
    m.MONITOR_SERVER_REFUSED: QT_TRANSLATE_NOOP("Messages", "The server refused monitoring ({status}: {detail})"),
    m.MONITOR_SERVER_UNREACHABLE: QT_TRANSLATE_NOOP(
        "Messages", "The server cannot be reached; monitoring needs its permission"),
    m.MONITOR_REFUSED: QT_TRANSLATE_NOOP("Messages", "The agent's softphone refused the monitoring (SIP {status})"),
    m.MONITOR_NO_CALL_NOW: QT_TRANSLATE_NOOP("Messages", "The agent's call has already ended"),
    m.MONITOR_FAILED: QT_TRANSLATE_NOOP("Messages", "The monitoring call failed (SIP {status})"),
    m.MONITOR_CHANGE_REFUSED: QT_TRANSLATE_NOOP(
        "Messages", "The agent's softphone refused the mode change (SIP {status}); the mode stays as it was"),
    m.MONITOR_ENDED: QT_TRANSLATE_NOOP("Messages", "Monitoring ended"),
    m.MONITOR_CALL_ENDED: QT_TRANSLATE_NOOP("Messages", "The agent's call ended; monitoring ended with it"),
    # -- the TL's floor control and the agent's side of it
    m.FLOOR_PAUSE_SENT: QT_TRANSLATE_NOOP("Messages", "{name}: break ({reason}) ordered"),
    m.FLOOR_READY_SENT: QT_TRANSLATE_NOOP("Messages", "{name}: ready ordered"),
    m.FLOOR_MESSAGE_SENT: QT_TRANSLATE_NOOP("Messages", "Message sent to {name}"),
    m.FLOOR_MESSAGE_TEAM_SENT: QT_TRANSLATE_NOOP("Messages", "Message sent to the team"),
    m.FLOOR_REFUSED: QT_TRANSLATE_NOOP("Messages", "The server refused: {detail}"),
    m.FLOOR_UNREACHABLE: QT_TRANSLATE_NOOP("Messages", "The server cannot be reached; try again"),
    m.RECORDING_FORBIDDEN: QT_TRANSLATE_NOOP(
        "Messages", "You may not play this recording: only the agent who made the call, their team leader and admins can"),
    m.RECORDING_NOT_PLAYABLE: QT_TRANSLATE_NOOP("Messages", "This recording is not a 16-bit PCM WAV file and cannot be played"),
    m.ORDER_PAUSE: QT_TRANSLATE_NOOP("Messages", "{by} put you on a break ({reason})"),
    m.ORDER_PAUSE_LATER: QT_TRANSLATE_NOOP(
        "Messages", "{by} put you on a break ({reason}); it starts once this call's wrap-up is saved"),
    m.ORDER_READY: QT_TRANSLATE_NOOP("Messages", "{by} set you back to ready"),
    # -- bad files and bad answers
    m.IMPORT_DONE: QT_TRANSLATE_NOOP(
        "Messages", "{file}: {imported} leads imported ({inserted} new, {updated} updated); {skipped} rows skipped"),
    m.IMPORT_NOT_TEXT: QT_TRANSLATE_NOOP(
        "Messages", "{file} is not a CSV text file or an .xlsx workbook; nothing was imported"),
    m.IMPORT_ENCODING: QT_TRANSLATE_NOOP(
        "Messages", "The characters of {file} cannot be read (use UTF-8, GBK or UTF-16); nothing was imported"),
    m.IMPORT_BAD_XLSX: QT_TRANSLATE_NOOP("Messages", "{file} is not a readable .xlsx workbook; nothing was imported"),
    m.IMPORT_MISSING: QT_TRANSLATE_NOOP("Messages", "{file} does not exist"),
    m.IMPORT_NOT_A_FILE: QT_TRANSLATE_NOOP("Messages", "{file} is not a file"),
    m.IMPORT_CANNOT_OPEN: QT_TRANSLATE_NOOP("Messages", "{file} cannot be opened ({reason})"),
    m.IMPORT_OLD_XLS: QT_TRANSLATE_NOOP(
        "Messages", "{file} is an old .xls workbook; save it as .xlsx or CSV and import again"),
    m.IMPORT_BAD_CSV: QT_TRANSLATE_NOOP("Messages", "{file} is not a readable CSV file ({reason}); nothing was imported"),
    m.IMPORT_EMPTY: QT_TRANSLATE_NOOP("Messages", "{file} is empty; nothing was imported"),
    m.IMPORT_MISSING_COLUMNS: QT_TRANSLATE_NOOP(
        "Messages", "{file}: the header row needs a name column (姓名) and a phone column (电话); nothing was imported"),
    m.IMPORT_TOO_MANY_ROWS: QT_TRANSLATE_NOOP(
        "Messages", "{file} has more than {max_rows} rows; split it and import the parts"),
    m.IMPORT_NO_ROWS: QT_TRANSLATE_NOOP(
        "Messages", "{file} has no usable row ({skipped} rows skipped, e.g. {reason}); nothing was imported"),
    m.IMPORT_UNREADABLE: QT_TRANSLATE_NOOP("Messages", "{file} cannot be read; nothing was imported"),
    m.IMPORT_FAILED: QT_TRANSLATE_NOOP(
        "Messages", "Importing {file} failed ({error}); nothing was changed"),
    m.CODES_DUPLICATE: QT_TRANSLATE_NOOP(
        "Messages", "The disposition code {code} appears twice (entries {first} and {again}); the codes were not "
        "changed"),
    m.CODES_INVALID: QT_TRANSLATE_NOOP(
        "Messages", "Disposition code entry {position} cannot be used ({detail}); the codes were not changed"),
    m.SYNC_BAD_ANSWER: QT_TRANSLATE_NOOP(
        "Messages", "The server's answer could not be read; nothing on this computer was changed. Retried shortly"),
    # -- error kinds and phone numbers
    m.ERROR: QT_TRANSLATE_NOOP("Messages", "Something went wrong"),
    m.USER_ERROR: QT_TRANSLATE_NOOP("Messages", "This cannot be used"),
    m.ENVIRONMENT_ERROR: QT_TRANSLATE_NOOP(
        "Messages", "The network, the disk or another program is in the way; try again"),
    m.PHONE_EMPTY: QT_TRANSLATE_NOOP("Messages", "no number was entered"),
    m.PHONE_NOT_DIGITS: QT_TRANSLATE_NOOP("Messages", "a number may only contain digits"),
    m.PHONE_UNPARSABLE: QT_TRANSLATE_NOOP("Messages", "this is not a phone number"),
    m.PHONE_INVALID: QT_TRANSLATE_NOOP("Messages", "not a valid phone number ({digits} digits)"),
    # -- the SIP account and its registration
    m.SIP_INVALID_VALUE: QT_TRANSLATE_NOOP("Messages", "SIP setting “{field}”: “{value}” cannot be used"),
    m.SIP_INVALID_USER: QT_TRANSLATE_NOOP(
        "Messages", "SIP setting “{field}”: “{value}” is not a valid SIP user name"),
    m.SIP_INVALID_HOST: QT_TRANSLATE_NOOP(
        "Messages", "SIP setting “{field}”: “{value}” is not a host name or host:port"),
    m.SIP_INVALID_URI: QT_TRANSLATE_NOOP(
        "Messages", "SIP setting “{field}”: “{value}” is not a SIP address (e.g. sip:pbx.example.com;lr)"),
    m.SIP_INVALID_CHOICE: QT_TRANSLATE_NOOP(
        "Messages", "SIP setting “{field}”: “{value}” is not one of {choices}"),
    m.SIP_SRTP_NEEDS_TLS: QT_TRANSLATE_NOOP(
        "Messages", "Mandatory SRTP needs the TLS transport (the encryption keys travel in the signalling)"),
    m.SIP_UNKNOWN_CODEC: QT_TRANSLATE_NOOP("Messages", "Unknown codec “{value}”; known: {choices}"),
    m.SIP_OUT_OF_RANGE: QT_TRANSLATE_NOOP(
        "Messages", "SIP setting “{field}”: {value} is outside {low}–{high}"),
    m.SIP_MISSING: QT_TRANSLATE_NOOP("Messages", "SIP setting “{field}” is required"),
    m.SIP_CA_MISSING: QT_TRANSLATE_NOOP("Messages", "The CA certificate file “{value}” cannot be read"),
    m.SIP_SAVED: QT_TRANSLATE_NOOP("Messages", "SIP account saved; registering again"),
    m.SIP_PROVISIONED: QT_TRANSLATE_NOOP("Messages", "The server sent a new SIP account; registering again"),
    m.SIP_REG_OK: QT_TRANSLATE_NOOP("Messages", "Registered"),
    m.SIP_REG_PENDING: QT_TRANSLATE_NOOP("Messages", "Registering…"),
    m.SIP_REG_OFF: QT_TRANSLATE_NOOP("Messages", "Not registered"),
    m.SIP_REG_AUTH: QT_TRANSLATE_NOOP(
        "Messages", "The PBX refused the user name or password (SIP {status})"),
    m.SIP_REG_UNREACHABLE: QT_TRANSLATE_NOOP(
        "Messages", "The PBX does not answer; check the network, the address and the proxy (SIP {status})"),
    m.SIP_REG_TLS: QT_TRANSLATE_NOOP(
        "Messages", "The secure (TLS) connection to the PBX failed; check its certificate and the CA file "
        "(SIP {status})"),
    m.SIP_REG_FAILED: QT_TRANSLATE_NOOP("Messages", "Registration failed (SIP {status} {reason})"),
    m.SIP_NOT_CONFIGURED: QT_TRANSLATE_NOOP("Messages", "No SIP account is configured"),
    m.CALL_MEDIA_REFUSED: QT_TRANSLATE_NOOP(
        "Messages", "Not connected: the other side refused the call's audio settings, e.g. mandatory "
        "encryption (SRTP) it does not support (SIP {status})"),
    # -- the settings dialog
    m.SETTINGS_SAVED: QT_TRANSLATE_NOOP("Messages", "Saved"),
    m.SETTINGS_SAVED_NEXT_START: QT_TRANSLATE_NOOP("Messages", "Saved; takes effect the next time Seatmate starts"),
    m.SETTINGS_SAVE_FAILED: QT_TRANSLATE_NOOP("Messages", "The settings could not be saved ({error}); nothing changed"),
    m.SETTINGS_INVALID: QT_TRANSLATE_NOOP("Messages", "“{value}” cannot be used here"),
    m.SETTINGS_DEVICE_GONE: QT_TRANSLATE_NOOP("Messages", "The device “{name}” is not connected"),
    m.SETTINGS_BAD_SHORTCUT: QT_TRANSLATE_NOOP("Messages", "“{keys}” is not a key combination"),
    m.SETTINGS_SHORTCUT_TAKEN: QT_TRANSLATE_NOOP("Messages", "{keys} is already used by “{action}”"),
    m.SETTINGS_RECORDING_LOCKED: QT_TRANSLATE_NOOP(
        "Messages", "The recording policy is set by the server for your team"),
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def text(message: Message | str | None) -> str:
    """The message in the current UI language ("" for None; a str is already words, e.g. a
    server's reason, and is returned as it is)."""
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    source = TEXTS.get(message.code)
    if source is None:  # a code this build has no words for (e.g. a newer server's): say something
        source = TEXTS[m.ERROR]
    params = message.params
    return _PLACEHOLDER.sub(
        lambda g: _param(params[g.group(1)]) if g.group(1) in params else "",
        QCoreApplication.translate(CONTEXT, source),
    )


def join(messages: Iterable[Message | str]) -> str:
    """Several problems on one line (the wrap-up panel)."""
    return QCoreApplication.translate("Messages", "; ", "between problems on one line").join(
        text(x) for x in messages)


def _param(value: Any) -> str:
    if isinstance(value, Message):
        return text(value)
    if isinstance(value, dt.datetime):
        aware = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
        return f"{aware.astimezone():%m-%d %H:%M}"
    if isinstance(value, (list, tuple)):
        return QCoreApplication.translate("Messages", ", ", "between the items of a list").join(
            _param(v) for v in value)
    return str(value)
