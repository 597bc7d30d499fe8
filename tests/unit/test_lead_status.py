"""core.lead_status (the one disposition → lead-status rule), core.contract and core.timeutil."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.contract import CallDirection, EventType, LeadStatus, OutboxState, PushStatus
from core.lead_status import (
    CodeFlags,
    LeadState,
    after_attempt,
    after_callback_scheduled,
    after_disposition,
    disposition_status,
)
from core.timeutil import aware_utc, format_iso, naive_utc, parse_iso

T0 = dt.datetime(2026, 11, 25, 8, 0, 0)
CB = dt.datetime(2026, 11, 26, 2, 0, 0)
OLD_CB = dt.datetime(2026, 11, 20, 2, 0, 0)


@pytest.mark.parametrize(("flags", "callback", "expected"), [
    # closes_lead wins over everything, a callback time and a conversion included
    (CodeFlags(closes_lead=True, connected=True), None, (LeadStatus.CLOSED, None)),
    (CodeFlags(closes_lead=True, connected=True), CB, (LeadStatus.CLOSED, None)),
    (CodeFlags(closes_lead=True, is_conversion=True, connected=True), None, (LeadStatus.CLOSED, None)),
    (CodeFlags(closes_lead=True, is_conversion=True, connected=True), CB, (LeadStatus.CLOSED, None)),
    (CodeFlags(closes_lead=True), None, (LeadStatus.CLOSED, None)),  # not connected (空号)
    # then a callback time
    (CodeFlags(connected=True), CB, (LeadStatus.CALLBACK, CB)),
    (CodeFlags(is_conversion=True, connected=True), CB, (LeadStatus.CALLBACK, CB)),
    (CodeFlags(), CB, (LeadStatus.CALLBACK, CB)),
    # then converting or connected → done
    (CodeFlags(is_conversion=True, connected=True), None, (LeadStatus.DONE, None)),
    (CodeFlags(is_conversion=True), None, (LeadStatus.DONE, None)),
    (CodeFlags(connected=True), None, (LeadStatus.DONE, None)),
    # not connected, no callback: as it was
    (CodeFlags(), None, (LeadStatus.CALLBACK, OLD_CB)),
    (None, None, (LeadStatus.CALLBACK, OLD_CB)),  # a code this side does not know
    (None, CB, (LeadStatus.CALLBACK, CB)),
])
def test_disposition_status(flags, callback, expected):
    assert disposition_status(flags, callback, LeadStatus.CALLBACK, OLD_CB) == expected


def test_code_flags_from_a_rule_or_row():
    from core.wrapup import CodeRule

    rule = CodeRule("X", "x", "not_connected", closes_lead=True, is_conversion=True)
    assert CodeFlags.of(rule) == CodeFlags(closes_lead=True, is_conversion=True, connected=False)
    assert CodeFlags.of(CodeRule("Y", "y")).connected


def test_an_older_event_does_not_undo_a_newer_one_but_counts_as_an_attempt():
    lead = LeadState(LeadStatus.DONE, None, "SALE", T0, state_event_at=T0)
    late = T0 - dt.timedelta(hours=1)
    after = after_disposition(lead, "NO_ANSWER", CodeFlags(), CB, late)
    assert (after.status, after.last_disposition, after.state_event_at) == (LeadStatus.DONE, "SALE", T0)
    later = T0 + dt.timedelta(minutes=5)
    after = after_disposition(lead, "CALLBACK", CodeFlags(connected=True), CB, later)
    assert after == LeadState(LeadStatus.CALLBACK, CB, "CALLBACK", later, later)
    # The cache keeps no state_event_at: every event counts as newer.
    assert after_disposition(LeadState(LeadStatus.DONE), "X", CodeFlags(), CB, late).status == LeadStatus.CALLBACK


def test_callback_scheduled_never_reopens_a_closed_lead():
    closed = LeadState(LeadStatus.CLOSED, None, "DNC")
    assert after_callback_scheduled(closed, CB, T0) == closed
    assert after_callback_scheduled(LeadState(LeadStatus.NEW), CB, T0).status == LeadStatus.CALLBACK
    assert after_callback_scheduled(LeadState(LeadStatus.NEW), None, T0) == LeadState(LeadStatus.NEW)
    assert after_attempt(LeadState(LeadStatus.NEW, last_attempt_at=T0), T0 - dt.timedelta(1)).last_attempt_at == T0


def test_contract_enums_are_the_wire_strings():
    assert LeadStatus.CLOSED == "closed" and f"{LeadStatus.CLOSED}" == "closed" and str(EventType.NOTE_ADDED) == "note_added"
    assert json.dumps({"d": CallDirection.OUT, "s": PushStatus.DUPLICATE}) == '{"d": "out", "s": "duplicate"}'
    assert "pending" in {OutboxState.PENDING} and CallDirection("in") is CallDirection.IN


def test_time_helpers():
    aware = dt.datetime(2026, 11, 25, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert naive_utc(aware) == T0 and naive_utc(T0) == T0 and naive_utc(None) is None
    assert aware_utc(T0) == aware and aware_utc(aware).tzinfo == dt.timezone.utc
    assert format_iso(T0.replace(microsecond=123456)) == "2026-11-25T08:00:00.123Z"
    assert format_iso(aware, "seconds") == "2026-11-25T08:00:00Z" and format_iso(None) is None
    assert parse_iso("2026-11-25T08:00:00.123Z") == T0.replace(microsecond=123000)
    assert parse_iso("2026-11-25T16:00:00+08:00") == T0 and parse_iso("") is None and parse_iso(aware) == T0
