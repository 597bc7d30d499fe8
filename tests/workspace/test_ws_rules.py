"""Unit tests of the workspace's pure rules: compliance gate, ranking, KPIs, callbacks, scripts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core import compliance as c
from core import kpi, script_doc
from core.callbacks import DueCallback, NewLeadFact, split_due, stale_new_leads
from core.dialing import LeadCandidate, rank_leads

UTC = dt.timezone.utc
ROOT = Path(__file__).resolve().parents[2]
DEMO_RULES = {
    "compliance": {
        "calling_windows": [["09:00", "12:00"], ["13:30", "20:00"]],
        "max_attempts_per_lead_per_day": 3,
        "min_minutes_between_attempts": 120,
        "dnc_min_days": 180,
        "hard_window": ["09:00", "21:00"],
    }
}


def shanghai(h: int, m: int = 0, day: int = 25) -> dt.datetime:
    # Asia/Shanghai is UTC+8 all year.
    return dt.datetime(2026, 11, day, h, m, tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(UTC)


def gate_at(when: dt.datetime) -> c.ComplianceGate:
    return c.ComplianceGate(clock=lambda: when)


RULES = c.ComplianceRules.from_campaign_rules(DEMO_RULES)


def test_allowed_inside_a_campaign_window() -> None:
    assert gate_at(shanghai(10)).check(RULES, c.DialFacts()).allowed


def test_lunch_break_blocked_by_campaign_window_with_reason() -> None:
    result = gate_at(shanghai(12, 30)).check(RULES, c.DialFacts())
    assert not result.allowed and result.rule == "window"
    assert result.message.code == "gate.window"
    assert result.message.params["now"] == "12:30" and result.message.params["windows"] == ("09:00–12:00",
                                                                                          "13:30–20:00")


def test_customer_requested_callback_may_use_lunch_but_never_the_night() -> None:
    assert gate_at(shanghai(12, 30)).check(RULES, c.DialFacts(callback_due=True)).allowed
    night = gate_at(shanghai(21, 5)).check(RULES, c.DialFacts(callback_due=True))
    assert not night.allowed and night.rule == "hard_window" and night.message.params["end"] == "21:00"
    early = gate_at(shanghai(8, 59)).check(RULES, c.DialFacts(callback_due=True))
    assert early.rule == "hard_window"


def test_campaign_cannot_widen_the_legal_window() -> None:
    rules = c.ComplianceRules.from_campaign_rules(
        {"compliance": {"calling_windows": [["07:00", "23:00"]], "hard_window": ["07:00", "23:00"]}}
    )
    assert rules.hard_window == (dt.time(9), dt.time(21))
    assert gate_at(shanghai(22)).check(rules, c.DialFacts()).rule == "hard_window"


def test_attempts_per_day_and_gap() -> None:
    now = shanghai(19)
    earlier = [shanghai(9, 10), shanghai(11, 30), shanghai(16)]
    result = gate_at(now).check(RULES, c.DialFacts(attempts=earlier))
    assert result.rule == "attempts" and dict(result.message.params) == {"count": 3, "limit": 3}
    # Yesterday's attempts do not count.
    yesterday = [shanghai(10, day=24), shanghai(15, day=24), shanghai(18, day=24)]
    assert gate_at(now).check(RULES, c.DialFacts(attempts=yesterday)).allowed
    gap = gate_at(now).check(RULES, c.DialFacts(attempts=[shanghai(18, 30)]))
    assert gap.rule == "gap" and dict(gap.message.params) == {"minutes": 120, "wait": 90}
    # A callback the customer asked for waives the gap, not the daily cap.
    assert gate_at(now).check(RULES, c.DialFacts(attempts=[shanghai(18, 30)], callback_due=True)).allowed


def test_dnc_local_and_server_with_minimum_six_months() -> None:
    now = shanghai(10)
    local = c.DncEntry("+8613800000000", added_at=now - dt.timedelta(days=1))
    result = gate_at(now).check(RULES, c.DialFacts(dnc=[local]))
    assert not result.allowed and result.rule == "dnc" and result.message.code == "gate.dnc_local"
    # A server entry that claims to expire after 30 days still blocks until day 180.
    short = c.DncEntry("+86138", added_at=now - dt.timedelta(days=100), expires_at=now - dt.timedelta(days=70),
                       source="server")
    blocked = gate_at(now).check(RULES, c.DialFacts(dnc=[short]))
    assert blocked.rule == "dnc" and blocked.message.code == "gate.dnc_server"
    old = c.DncEntry("+86138", added_at=now - dt.timedelta(days=200), expires_at=now - dt.timedelta(days=1),
                     source="server")
    assert gate_at(now).check(RULES, c.DialFacts(dnc=[old])).allowed
    # Naive UTC from the cache is understood.
    naive = c.DncEntry("+86138", added_at=(now - dt.timedelta(days=3)).replace(tzinfo=None))
    assert not gate_at(now).check(RULES, c.DialFacts(dnc=[naive])).allowed


def test_bad_rules_fall_back_to_defaults() -> None:
    rules = c.ComplianceRules.from_campaign_rules({"compliance": {"calling_windows": [["x", "y"]]}})
    assert rules.windows == c.ComplianceRules().windows
    assert c.ComplianceRules.from_campaign_rules(None).max_attempts_per_day == 3


def test_rank_overdue_then_due_then_priority_and_expiry() -> None:
    now = dt.datetime(2026, 11, 25, 3, 0)
    leads = [
        LeadCandidate("p2", "new", priority=2, policy_expiry=dt.date(2026, 12, 1)),
        LeadCandidate("p1-late", "new", priority=1, policy_expiry=dt.date(2026, 12, 20)),
        LeadCandidate("p1-soon", "new", priority=1, policy_expiry=dt.date(2026, 12, 2)),
        LeadCandidate("due", "callback", next_callback_at=now - dt.timedelta(minutes=2)),
        LeadCandidate("overdue", "callback", next_callback_at=now - dt.timedelta(hours=3)),
        LeadCandidate("later", "callback", next_callback_at=now + dt.timedelta(hours=3)),
        LeadCandidate("done", "done", priority=1),
    ]
    assert [x.lead_id for x in rank_leads(leads, now)] == ["overdue", "due", "p1-soon", "p1-late", "p2"]


def test_kpis() -> None:
    calls = [
        kpi.CallFact("a", answered=True, talk_seconds=300, code="SALE", is_conversion=True),
        kpi.CallFact("b", answered=True, talk_seconds=12, code="REFUSED"),
        kpi.CallFact("c", answered=True, talk_seconds=45, code="REFUSED"),
        kpi.CallFact("d", answered=False, talk_seconds=0, code="BUSY"),
        kpi.CallFact("e", answered=True, talk_seconds=60, direction="in"),
    ]
    snap = kpi.compute(calls, kpi.Targets(calls_per_day=8, talk_minutes_per_day=10))
    assert (snap.calls_made, snap.connected, snap.talk_seconds, snap.conversions) == (4, 4, 417, 1)
    assert snap.connect_rate == 1.0 and snap.quick_refusal_share == 0.25
    assert snap.calls_progress == 0.5 and abs(snap.talk_progress - 417 / 600) < 1e-9
    assert kpi.format_duration(417) == "06:57" and kpi.format_duration(3725) == "1:02:05"


def test_callbacks_due_overdue_and_stale_new_leads() -> None:
    now = dt.datetime(2026, 11, 25, 3, 0)
    due, overdue = split_due(
        [DueCallback("a", "张三", now - dt.timedelta(minutes=1)), DueCallback("b", "李四", now - dt.timedelta(hours=1)),
         DueCallback("c", "王五", now + dt.timedelta(minutes=5))], now)
    assert [x.lead_id for x in due] == ["a"] and [x.lead_id for x in overdue] == ["b"]
    stale = stale_new_leads(
        [NewLeadFact("old", "new", now - dt.timedelta(hours=49)), NewLeadFact("fresh", "new", now - dt.timedelta(hours=2)),
         NewLeadFact("tried", "new", now - dt.timedelta(hours=50), last_attempt_at=now)], now)
    assert stale == ["old"]


def test_script_sections_placeholders_and_objection_search() -> None:
    text = (ROOT / "resources/data/script_renewal_demo.md").read_text(encoding="utf-8")
    doc = script_doc.parse(text)
    assert [s.title for s in doc.sections][:2] == ["开场白", "需求确认"]
    assert "价格比别家贵" in [o.title for o in doc.objections]
    values = script_doc.placeholder_values(
        {"name": "杜军", "gender": "男", "plate": "鄂EF76387", "policy_expiry": dt.date(2026, 10, 28)},
        {"display_name": "小王", "company": "平安产险"},
    )
    opening = script_doc.fill(doc.sections[0].body, values)
    assert "杜军先生" in opening and "小王" in opening and "2026年10月28日" in opening
    assert "【车型】" in opening  # missing values stay visible
    hits = script_doc.search_objections(doc, "贵")
    assert hits[0].title == "价格比别家贵"
    assert [h.title for h in script_doc.search_objections(doc, "打电话")] == ["不要再给我打电话"]


def test_demo_window_clock_changes_only_the_time_of_day_checks() -> None:
    night = shanghai(23)
    gate = c.ComplianceGate(clock=lambda: night, window_clock=c.fixed_time_of_day(10, 30))
    assert gate.check(RULES, c.DialFacts()).allowed
    three = [night - dt.timedelta(hours=h) for h in (1, 3, 5)]
    assert gate.check(RULES, c.DialFacts(attempts=three)).rule == "attempts"
