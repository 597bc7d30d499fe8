"""Dispositions that fit the call: every code × every call outcome, through the wrap-up panel
(pytest-qt, keys only) on a real cache, then pushed over HTTP to the real server.

* The panel numbers each code by its place in the campaign's full list, whatever the outcome,
  and offers only the codes that can be true for the call (core.wrapup.fits); a code that
  does not fit is picked only after "Other results…" and saved only with a reason, which
  travels in the disposition event (``override_reason``).
* The server checks the same rule against the call_ended of the same call: every fitting
  code and every override is accepted; the same impossible combinations without an override
  (as an older or broken client would send them) are rejected with
  ``disposition_outcome_mismatch``, and the app lists them among its rejected events.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from PySide6.QtCore import Qt

from app.workspace.store import CallStart, WorkspaceStore
from app.workspace.wrapup import DraftStore, WrapupService
from core.contract import CallDirection, CodeGroup
from core.timeutil import utcnow
from core.wrapup import OUTCOME_MISMATCH, CallOutcome, WrapupDraft, fits
from tests.integration.sync.conftest import PASSWORD
from ui import messages
from ui.workspace.wrapup_panel import WrapupPanel

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "resources" / "data" / "dispositions_demo.json"
# (name, answered, final SIP status): every way a call of the demo can end.
OUTCOMES = [("answered", True, 200), ("busy", False, 486), ("no answer", False, 480),
            ("number unknown", False, 404), ("failed", False, 503)]


def _setup(server, tmp_path: Path, n_leads: int) -> str:
    tag = uuid.uuid4().hex[:8]
    team, user, campaign = f"结果{tag}", f"fit{tag}", f"结果校验 {tag}"
    leads = tmp_path / "leads.csv"
    base = int(tag, 16) % 10_000
    rows = ["external_id,name,phone", *(f"FIT-{tag}-{i:03d},客户{i:03d},1390{base:04d}{i:03d}" for i in range(n_leads))]
    leads.write_text("\n".join(rows) + "\n", encoding="utf-8")
    server.cli("create-team", team)
    server.cli("create-user", user, "--role", "tsr", "--team", team, input=PASSWORD + "\n")
    server.cli("create-campaign", campaign)
    server.cli("load-codes", "--campaign", campaign, str(DEMO))
    server.cli("import-leads", "--campaign", campaign, str(leads))
    server.cli("assign-leads", "--campaign", campaign, "--to", user)
    return user


def _call(store: WorkspaceStore, lead_id: str, answered: bool, sip: int) -> CallOutcome:
    """A finished call as the controller writes it (call_attempted, call_ended)."""
    brief = store.lead_brief(lead_id)
    phone_id = brief.phone_ids[0]
    call_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc)
    dialed = now - dt.timedelta(seconds=40)
    answered_at = dialed + dt.timedelta(seconds=5) if answered else None
    talk = int((now - answered_at).total_seconds()) if answered_at else 0
    store.record_call_started(CallStart(call_id, lead_id, phone_id, CallDirection.OUT, dialed),
                              store.number_for_dial(phone_id))
    store.record_call_ended(call_id, ringing_at=dialed + dt.timedelta(seconds=1), answered_at=answered_at,
                            ended_at=now, sip_status=sip, talk_seconds=talk)
    return CallOutcome(call_id, lead_id, phone_id, CallDirection.OUT, answered, sip, talk, now)


def _type_number(qtbot, panel: WrapupPanel, number: int) -> None:
    keys = "0" if number == 10 else str(number)  # 11, 12, … are two digits, typed at once
    for key in keys:
        qtbot.keyClick(panel, key)


def _disposition_events(store: WorkspaceStore) -> dict[str, dict]:
    return {e["lead_id"]: e for e in store.events_of(None, ["disposition_recorded"])}


def test_every_code_and_outcome_through_the_panel_and_the_server(make_agent, server, tmp_path, qtbot):
    codes = [c["code"] for c in json.loads(DEMO.read_text(encoding="utf-8"))["codes"]]
    combos = [(outcome, code) for outcome in OUTCOMES for code in codes]
    user = _setup(server, tmp_path, 2 * len(combos))
    agent = make_agent(user, keyring=False)
    agent.login()
    agent.engine.run_round()
    store = WorkspaceStore(agent.handle)
    leads = sorted(agent.leads())
    rules = {r.code: r for r in store.codes(store.lead_brief(leads[0]).campaign_id)}
    assert list(rules) == codes  # the campaign's order: the codes' numbers
    assert {r.group for r in rules.values()} == {CodeGroup.CONNECTED, CodeGroup.NOT_CONNECTED}

    svc = WrapupService(DraftStore(tmp_path / "draft.json"), store.save_disposition, store.codes_for_lead)
    panel = WrapupPanel(svc)
    qtbot.addWidget(panel)
    expected: dict[str, tuple[str, bool, bool]] = {}  # lead → (code, answered, override)
    numbers: dict[str, set[str]] = {code: set() for code in codes}

    # 1. The panel, keys only: every code × every outcome, each on its own lead.
    for lead_id, ((name, answered, sip), code) in zip(leads, combos, strict=False):
        rule = rules[code]
        svc.begin(_call(store, lead_id, answered, sip))
        assert panel.isVisible()
        what = f"{code} after {name}"
        fitting = [c for c in codes if fits(rules[c], answered)]
        assert panel.offered() == fitting, what
        for c in codes:
            button = panel._buttons[c]
            numbers[c].add(button.text().split()[0])
            assert button.isVisible() is fits(rules[c], answered), (what, c)  # the others hidden
        suggested = svc.draft.code
        number = panel.number_of(code)
        assert number == codes.index(code) + 1
        _type_number(qtbot, panel, number)
        if fits(rule, answered):
            assert svc.draft.code == code, what
        else:
            assert svc.draft.code == suggested, what  # not offered: the digit does nothing
            qtbot.mouseClick(panel.other_toggle, Qt.MouseButton.LeftButton)
            assert panel.others_box.isVisible() and panel._buttons[code].isVisible()
            assert panel._buttons[code].property("fitsOutcome") is False  # shown greyed
            _type_number(qtbot, panel, number)
            assert svc.draft.code == code and panel.override_row.isVisible(), what
        if rule.requires_note:
            panel.note_edit.setPlainText("客户已在别家投保")
        if not fits(rule, answered):
            assert panel.save() is None and svc.blocking, what  # no reason, no save
            # The worded problem, in whatever language an earlier test of this process installed.
            worded = (messages.join(svc.problems()), messages.text(svc.problems()[0]))
            assert panel.problem_label.text() in worded, (what, panel.problem_label.text())
            assert svc.problems()[0].code.startswith("wrapup.outcome_mismatch")
            panel.override_edit.setText("客户说打错了又改口")  # the audited override
        saved = panel.save()
        assert saved is not None and saved.code == code and not svc.blocking, (what, svc.problems())
        expected[lead_id] = (code, answered, not fits(rule, answered))
    # One number per code whatever the outcome (10 shows as 0).
    assert {c: n for c, n in numbers.items()} == {
        c: {"0" if i == 10 else str(i)} for i, c in enumerate(codes, start=1)}

    events = _disposition_events(store)
    for lead_id, (code, answered, override) in expected.items():
        payload = events[lead_id]["payload"]
        assert payload["code"] == code and payload["connected"] is answered
        assert ("override_reason" in payload) is override, (code, answered, payload)

    # 2. The same impossible combinations without an override, as a client without the rule
    #    would send them (the wrap-up's own validation refuses them, so they go in directly).
    rogue: dict[str, tuple[str, bool]] = {}
    spare = iter(leads[len(combos):])
    for (_name, answered, sip), code in combos:
        if fits(rules[code], answered):
            continue
        lead_id = next(spare)
        outcome = _call(store, lead_id, answered, sip)
        draft = WrapupDraft(outcome.call_id, lead_id, utcnow(), phone_id=outcome.phone_id, answered=answered,
                            sip_status=sip, talk_seconds=outcome.talk_seconds, code=code, note="x",
                            callback_at=utcnow() + dt.timedelta(days=1))
        store.save_disposition(draft, rules[code])
        rogue[lead_id] = (code, answered)
    assert len(rogue) == sum(1 for (_n, a, _s), c in combos if not fits(rules[c], a))
    # A client that claims the call connected: the server goes by the call's own call_ended.
    lead_id = next(spare)
    outcome = _call(store, lead_id, False, 480)
    store.save_disposition(WrapupDraft(outcome.call_id, lead_id, utcnow(), phone_id=outcome.phone_id, answered=True,
                                       sip_status=480, code="SALE"), rules["SALE"])
    assert _disposition_events(store)[lead_id]["payload"]["connected"] is True
    rogue[lead_id] = ("SALE", False)

    _pushed, _acked, rejected = agent.engine.push_pending()
    assert agent.store.pending_count() == 0
    assert rejected == len(rogue), agent.store.rejected_events()

    # The server's answer per event: accepted for the panel's, rejected with the reason code for
    # the rogue ones (a retry of an event gets its stored answer again, code included).
    events = _disposition_events(store)
    wire = [{"id": e["id"], "type": e["type"], "occurred_at": utcnow().isoformat(), "lead_id": e["lead_id"],
             "payload": e["payload"]} for e in events.values()]
    answers = agent.client._json(agent.client._request("POST", "/sync/push", json_body={"events": wire}), "push")
    lead_of = {e["id"]: lead_id for lead_id, e in events.items()}
    by_lead = {lead_of[r["id"]]: r for r in answers["results"]}
    for lead_id in expected:
        assert by_lead[lead_id]["status"] == "duplicate", (expected[lead_id], by_lead[lead_id])
    for lead_id, (code, answered) in rogue.items():
        answer = by_lead[lead_id]
        assert answer["status"] == "rejected" and answer["code"] == OUTCOME_MISMATCH, (code, answered, answer)
        assert rules[code].label in answer["reason"] and code in answer["reason"]
        assert ("接通" in answer["reason"]) and (("answered" if answered else "not answered") in answer["reason"])

    # The app lists them with the server's reason (ui.rejected_events shows this list).
    listed = {r.lead_id: r for r in agent.store.rejected_events()}
    assert set(listed) == set(rogue)
    assert all(r.type == "disposition_recorded" and "override" in r.reason for r in listed.values())
