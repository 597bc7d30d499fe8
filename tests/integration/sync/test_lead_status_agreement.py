"""The agent's list and the server agree on every lead's status, at once and after the next pull.

Every disposition code of the demo campaign (resources/data/dispositions_demo.json),
plus codes that combine the flags the demo does not (a callback code that closes the
lead, a converting code that closes it, …), × every call outcome (connected or not,
with or without a callback time), goes through the client path the wrap-up uses
(``WorkspaceStore.save_disposition`` on a real cache) and is pushed to the real
server on loopback. The lead's status (and callback time, and last code) in the
agent's cache must equal what the server derives:

1. right after the save (the wrap-up's own local effect);
2. after a pull that overwrites the leads while the events are still pending (the
   cache's overlay of pending events);
3. after the push and the next pull (the server's state, come back).

A second round records another code on every lead, so the rule is also checked
from every status a first disposition can leave (callback, done, closed).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import uuid
from pathlib import Path

from app.workspace.store import CallStart, WorkspaceStore
from core.contract import CallDirection, CodeGroup, LeadStatus
from core.timeutil import utcnow
from core.wrapup import CodeRule, WrapupDraft, fits, validate
from tests.integration.sync.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "resources" / "data" / "dispositions_demo.json"
# Flag combinations the demo campaign does not have (where copies of the rule used to differ).
EDGE_CODES = [
    {"code": "CB_CLOSE", "label": "回访并结案", "group": "connected", "requires_callback": True, "closes_lead": True},
    {"code": "SALE_CLOSE", "label": "成交并结案", "group": "connected", "is_conversion": True, "closes_lead": True},
    {"code": "CB_SALE_CLOSE", "label": "成交回访结案", "group": "connected", "requires_callback": True,
     "is_conversion": True, "closes_lead": True},
    {"code": "CB_SALE", "label": "成交待回访", "group": "connected", "requires_callback": True, "is_conversion": True},
    {"code": "NC_CALLBACK", "label": "未接通约回访", "group": "not_connected", "requires_callback": True},
    {"code": "NC_SALE", "label": "未接通成交", "group": "not_connected", "is_conversion": True},
    {"code": "NC_CLOSE_DNC", "label": "未接通拉黑", "group": "not_connected", "closes_lead": True,
     "adds_to_dnc": True},
]
OUTCOMES = [(connected, with_callback) for connected in (True, False) for with_callback in (True, False)]


def _setup_campaign(server, tmp_path: Path, n_leads: int) -> tuple[str, list[str]]:
    """A team, an agent, a campaign with the demo codes and the edge codes, ``n_leads`` leads for the agent."""
    tag = uuid.uuid4().hex[:8]
    team, user, campaign = f"一致性{tag}", f"agree{tag}", f"状态一致性 {tag}"
    codes = json.loads(DEMO.read_text(encoding="utf-8"))
    codes["codes"] = [*codes["codes"], *EDGE_CODES]
    codes_file = tmp_path / "codes.json"
    codes_file.write_text(json.dumps(codes, ensure_ascii=False), encoding="utf-8")
    base = int(tag, 16) % 10_000
    rows = ["external_id,name,phone"]
    rows += [f"AG-{tag}-{i:03d},客户{i:03d},1370{base:04d}{i:03d}" for i in range(n_leads)]
    leads_file = tmp_path / "leads.csv"
    leads_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    server.cli("create-team", team)
    server.cli("create-user", user, "--role", "tsr", "--team", team, input=PASSWORD + "\n")
    server.cli("create-campaign", campaign)
    server.cli("load-codes", "--campaign", campaign, str(codes_file))
    server.cli("import-leads", "--campaign", campaign, str(leads_file))
    server.cli("assign-leads", "--campaign", campaign, "--to", user)
    return user, [c["code"] for c in codes["codes"]]


def _state(agent) -> dict[str, tuple]:
    return {lid: (r.status, r.next_callback_at, r.last_disposition) for lid, r in agent.leads().items()}


def _record(store: WorkspaceStore, lead_id: str, rule: CodeRule, connected: bool, with_callback: bool,
            now: dt.datetime) -> bool:
    """One call and its wrap-up, as the workspace writes them. False: the wrap-up refuses this combination."""
    brief = store.lead_brief(lead_id)
    assert brief is not None
    phone_id = brief.phone_ids[0]
    call_id = str(uuid.uuid4())
    dialed = now - dt.timedelta(seconds=90)
    answered = dialed + dt.timedelta(seconds=8) if connected else None
    callback_at = (now + dt.timedelta(days=1)).replace(second=0, microsecond=0) if with_callback else None
    draft = WrapupDraft(call_id, lead_id, now, phone_id=phone_id, answered=connected,
                        sip_status=200 if connected else 480, talk_seconds=60 if connected else 0, code=rule.code,
                        note="客户说下周再联系", callback_at=callback_at,
                        # A code that does not fit the outcome goes through the audited override
                        # (core.wrapup.fits; tests/integration/sync/test_disposition_fit.py).
                        override_reason="" if fits(rule, connected) else "核对录音后确认")
    if validate(draft, rule, now):
        assert rule.requires_callback and not with_callback  # the only combination the wrap-up refuses
        return False
    store.record_call_started(CallStart(call_id, lead_id, phone_id, CallDirection.OUT, dialed),
                              store.number_for_dial(phone_id))
    store.record_call_ended(call_id, ringing_at=dialed + dt.timedelta(seconds=2), answered_at=answered,
                            ended_at=now - dt.timedelta(seconds=5), sip_status=200 if connected else 480,
                            talk_seconds=60 if connected else 0)
    store.save_disposition(draft, rule)
    return True


def _check_round(agent, fresh_agent, store: WorkspaceStore, plan: list[tuple[str, CodeRule, bool, bool]]):
    now = utcnow()
    touched = [lead_id for lead_id, rule, connected, cb in plan if _record(store, lead_id, rule, connected, cb, now)]
    assert touched
    saved = _state(agent)  # 1. the wrap-up's local effect

    # 2. The server's copy of every lead arrives again while the events are still pending.
    agent.store.reset_cursor()
    agent.engine.pull_all()
    overlaid = _state(agent)
    assert agent.store.pending_count() > 0

    # The server derives the leads' state from the events.
    pushed, acked, rejected = agent.engine.push_pending()
    assert (rejected, agent.store.pending_count()) == (0, 0), agent.store.rejected_events()
    assert acked == pushed
    fresh_agent.engine.run_round()
    server = _state(fresh_agent)  # straight from the server, through a cache with nothing pending

    agent.engine.pull_all()  # 3. the next pull
    assert gc.isenabled(), "a pull keeps the cyclic collector off only while it runs"
    pulled = _state(agent)

    problems = []
    for lead_id, rule, connected, cb in plan:
        if lead_id not in touched:
            continue
        what = f"{rule.code} connected={connected} callback={cb}"
        for name, seen in (("after the save", saved), ("overlay while pending", overlaid), ("after the pull", pulled)):
            if seen[lead_id] != server[lead_id]:
                problems.append(f"{what}: {name} {seen[lead_id]} != server {server[lead_id]}")
    assert not problems, "\n".join(problems)
    return {server[lead_id][0] for lead_id in touched}


def test_every_code_and_outcome_gives_the_same_status_on_the_agent_and_the_server(make_agent, server, tmp_path):
    demo_codes = [c["code"] for c in json.loads(DEMO.read_text(encoding="utf-8"))["codes"]]
    n_codes = len(demo_codes) + len(EDGE_CODES)
    username, codes = _setup_campaign(server, tmp_path, n_codes * len(OUTCOMES))
    agent = make_agent(username, keyring=False)
    agent.login()
    agent.engine.run_round()
    fresh = make_agent(username, name="fresh", keyring=False)
    fresh.login()
    store = WorkspaceStore(agent.handle)

    lead_ids = sorted(agent.leads())
    assert len(lead_ids) == n_codes * len(OUTCOMES)
    campaign_id = store.lead_brief(lead_ids[0]).campaign_id
    rules = {r.code: r for r in store.codes(campaign_id)}
    assert set(demo_codes) <= set(rules) and set(codes) == set(rules)
    assert {CodeGroup.CONNECTED, CodeGroup.NOT_CONNECTED} == {r.group for r in rules.values()}

    # Round 1: every code × every outcome, each on a new lead.
    combos = [(code, outcome) for code in codes for outcome in OUTCOMES]
    plan = [(lead_id, rules[code], *outcome) for lead_id, (code, outcome) in zip(lead_ids, combos, strict=True)]
    statuses = _check_round(agent, fresh, store, plan)
    assert statuses == {LeadStatus.NEW, LeadStatus.CALLBACK, LeadStatus.DONE, LeadStatus.CLOSED}

    # Round 2: another code on every lead, from whatever status round 1 left it in.
    shift = 7  # each lead gets the code 7 places after its round-1 code, and the next outcome
    plan = [(lead_id, rules[codes[(i // len(OUTCOMES) + shift) % len(codes)]], *OUTCOMES[(i + 1) % len(OUTCOMES)])
            for i, lead_id in enumerate(lead_ids)]
    _check_round(agent, fresh, store, plan)
