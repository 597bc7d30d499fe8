"""The sync client against the real server: it asks for the pull page in lines
(core/pull_lines.py) and stores exactly what a client reading the one JSON object stores (the
way every older server answers); while it pulls, the interpreter's switch interval is short and
the collector is off for the round (push and pull), both as before afterwards. ~2 s."""

from __future__ import annotations

import gc
import sys

from sqlalchemy import select

from cache import models as m
from core import pull_lines
from sync import client as sync_client
from sync.engine import PULL_SWITCH_INTERVAL_S


def _snapshot(agent) -> tuple:
    with agent.handle.session() as s:
        leads = sorted(tuple(r) for r in s.execute(select(m.Lead.id, m.Lead.name, m.Lead.name_pinyin, m.Lead.status,
                                                          m.Lead.assigned_to, m.Lead.policy_expiry)))
        phones = sorted(tuple(r) for r in s.execute(select(m.LeadPhone.lead_id, m.LeadPhone.number_e164)))
        campaigns = sorted(s.scalars(select(m.Campaign.id)))
    return leads, phones, campaigns


def _watch(agent) -> list[tuple]:
    """(path, content type, switch interval, collector on) of every answer, as the client got it."""
    seen: list[tuple] = []
    agent.client._http.event_hooks["response"].append(lambda r: seen.append(
        (r.request.url.path, r.headers.get("content-type", ""), sys.getswitchinterval(), gc.isenabled())))
    return seen


def test_lines_and_json_pages_store_the_same_cache(make_agent, monkeypatch):
    new = make_agent("lina", name="lina-lines")
    new.login()
    seen = _watch(new)
    interval, collector = sys.getswitchinterval(), gc.isenabled()
    new.record_call(_any_lead(new), "NO_ANSWER")  # something to push in the round (first pull in there)
    result = new.engine.run_round()
    assert result.pushed == 3 and result.acknowledged + result.rejected == 3
    pulls = [s for s in seen if s[0].endswith("/sync/pull")]
    pushes = [s for s in seen if s[0].endswith("/sync/push")]
    assert pulls and all(ct == pull_lines.MEDIA_TYPE for _p, ct, _i, _g in pulls)
    assert all(i == min(PULL_SWITCH_INTERVAL_S, interval) and not on for _p, _c, i, on in pulls)
    assert pushes and not any(on for *_x, on in pushes)  # the push ran with the collector off too
    assert (sys.getswitchinterval(), gc.isenabled()) == (interval, collector)

    # A client of an older server: the same pull answered with the one JSON object.
    monkeypatch.setattr(sync_client, "_PULL_ACCEPT", {"Accept": "application/json"})
    old = make_agent("lina", name="lina-json")
    old.login()
    seen_old = _watch(old)
    old.engine.run_round()
    assert {ct for p, ct, _i, _g in seen_old if p.endswith("/sync/pull")} == {"application/json"}
    assert _snapshot(old) == _snapshot(new)
    assert len(_snapshot(new)[0]) > 0


def _any_lead(agent) -> str:
    agent.engine.pull_all()
    with agent.handle.session() as s:
        return s.scalar(select(m.Lead.id).where(m.Lead.assigned_to.is_not(None)).limit(1))
