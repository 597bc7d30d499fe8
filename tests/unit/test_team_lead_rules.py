"""The pure rules of supervisor mode, part 2: coaching score and form, apportionment of leads,
question grouping and the FAQ entry, the report's shared KPI figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from core import coaching, distribution, kpi, questions, script_doc

DATA = Path(__file__).resolve().parents[2] / "resources" / "data"


def test_form_ids_score_and_checks():
    form = coaching.parse_form(json.loads((DATA / "coaching_form_demo.json").read_text(encoding="utf-8")))
    assert [i.id for i in form.items[:4]] == ["1.1", "1.2", "1.3", "2.1"] and len(form.items) == 20
    assert coaching.parse_form(form.to_json()) == form  # the pulled shape parses back the same
    a = [coaching.ItemAnswer("1.1", "Y"), coaching.ItemAnswer("1.2", "N"), coaching.ItemAnswer("1.3", "NA")]
    assert coaching.score(a) == 50.0 and coaching.score(["NA"]) is None and coaching.score(["Y", "Y", "N"]) == 66.7
    assert coaching.check_answers(form, a) == []
    bad = coaching.check_answers(form, [coaching.ItemAnswer("9.1", "Y"), coaching.ItemAnswer("1.1", "Q", at_s=-1)])
    assert len(bad) == 3
    with pytest.raises(coaching.FormError):
        coaching.parse_form({"name": "x", "sections": [{"title": "t", "items": []}]})


@pytest.mark.parametrize(("n", "weights", "floor", "want"), [
    (10, [1, 1, 1], 0, [4, 3, 3]),
    (10, [0.3, 0.1, 0.0], 0, [8, 2, 0]),
    (10, [0.3, 0.1, 0.0], 1, [6, 3, 1]),
    (2, [1, 1, 1], 1, [1, 1, 0]),
    (5, [0, 0], 0, [3, 2]),
    (0, [1, 2], 3, [0, 0]),
])
def test_largest_remainder(n, weights, floor, want):
    got = distribution.apportion(n, weights, floor)
    assert got == want and sum(got) == n


def test_grouping_is_deterministic_and_the_entry_lands_under_objections():
    texts = ["理赔要多久？", "理赔 要多久啊", "你们理赔要多久", "价格太贵了！", "價格太貴了"]
    assert questions.group(texts) == [[0, 1, 2], [3], [4]]
    assert questions.group(texts) == questions.group(list(texts))
    assert questions.similarity("价格，太贵", "价格太贵") == 1.0
    md = (DATA / "script_renewal_demo.md").read_text(encoding="utf-8")
    out = questions.append_objection(md, "理赔要多久？\n", "三个工作日。", dt.date(2026, 12, 4))
    doc = script_doc.parse(out)
    assert doc.objections[-1].title == "理赔要多久？"
    assert questions.marked_new(doc.objections[-1].body) == dt.date(2026, 12, 4)
    assert [s.title for s in doc.sections] == [s.title for s in script_doc.parse(md).sections]
    assert script_doc.parse(questions.append_objection("# 开场白\n\n你好", "q", "a", dt.date(2026, 1, 1))).objections[0].title == "q"


def test_report_figures_are_core_kpi():
    snap = kpi.KpiSnapshot(calls_made=30, connected=10, talk_seconds=3000, conversions=2, handle_seconds=3600,
                           wrap_seconds=300, wrapups=10, days=1)
    assert (snap.connect_rate, snap.conversion_rate, snap.average_handle_seconds, snap.average_wrap_seconds) == (
        1 / 3, 0.2, 120.0, 30.0)
    assert snap.targets_met and not kpi.KpiSnapshot(calls_made=30, talk_seconds=3000, days=2).targets_met
    assert kpi.is_quick_refusal(True, 29, "REFUSED") and not kpi.is_quick_refusal(True, 30, "REFUSED")
    assert kpi.refusal_codes_of({"refusal_codes": ["NOPE"]}) >= {"REFUSED", "NOPE"}
