"""The repository on the demo data: what the lead list, the card and the dialer get."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import text

from app.demo.campaign import load_demo
from cache.db import open_cache
from cache.models import DoNotCall, utcnow
from cache.repository import NotFound, Repository


def _id_by_name(repo: Repository, name: str) -> str:
    ids = [r.id for r in repo.lead_rows(repo.search_lead_ids(name)) if r.name == name]
    assert len(ids) == 1, name
    return ids[0]


def test_demo_loads_idempotently(demo_repo: Repository) -> None:
    load_demo(demo_repo)

    load_demo(demo_repo, force=True)
    [campaign] = demo_repo.campaigns()
    assert campaign.name == "车险续保 2026Q4" and campaign.lead_count == 60
    assert campaign.rules["compliance"]["max_attempts_per_lead_per_day"] == 3
    assert campaign.rules["coaching_form"]["sections"]
    codes = demo_repo.disposition_codes(campaign.id)
    assert [c.code for c in codes][:3] == ["SALE", "INTERESTED", "CALLBACK"]
    busy = next(c for c in codes if c.code == "BUSY")
    assert busy.sip_codes == (486, 600) and busy.group == "not_connected"
    assert next(c for c in codes if c.code == "DNC").adds_to_dnc
    script = demo_repo.script_for(campaign.id)
    assert script is not None and "开场白" in script.body_markdown
    assert demo_repo.targets().calls_per_day == 30


@pytest.mark.parametrize("query", ["杜军", "dujun", "DuJun", "dj", "6946", "87366946", "18787366946", "鄂EF76387",
                                   "ef763", "YL-2026-0001"])
def test_search_finds_by_name_pinyin_initials_tail_plate(demo_repo: Repository, query: str) -> None:
    rows = demo_repo.lead_rows(demo_repo.search_lead_ids(query))
    assert "杜军" in [r.name for r in rows]


def test_search_does_not_match_middle_digits_of_a_number(demo_repo: Repository) -> None:
    # 18787366946: "8736" is inside the number, not its tail; no plate/external id has it either.
    rows = demo_repo.lead_rows(demo_repo.search_lead_ids("87873"))
    assert "杜军" not in [r.name for r in rows]


def test_rows_are_masked_ordered_and_complete(demo_repo: Repository) -> None:
    ids = demo_repo.search_lead_ids("")
    assert len(ids) == 60
    rows = demo_repo.lead_rows(ids[:100])
    assert [r.id for r in rows] == ids
    prios = [(r.priority, r.policy_expiry) for r in rows]
    assert prios == sorted(prios)  # priority 1 first, then the nearest expiry
    for r in rows:
        assert "****" in r.masked_phone and len(r.masked_phone) == 11
    row = rows[0]
    assert row.campaign_id and row.status == "new" and row.city
    assert demo_repo.lead_rows(["nope", ids[1], ids[0]]) == [rows[1], rows[0]]


def test_tabs_and_callback_order(demo_repo: Repository) -> None:
    repo = demo_repo
    ids = repo.search_lead_ids("")
    now = utcnow().replace(microsecond=0)
    with repo.handle.write() as s:
        s.execute(text("UPDATE leads SET next_callback_at=:t, status='callback' WHERE id=:i"),
                  {"t": now + dt.timedelta(hours=2), "i": ids[0]})
        s.execute(text("UPDATE leads SET next_callback_at=:t, status='callback' WHERE id=:i"),
                  {"t": now - dt.timedelta(hours=1), "i": ids[1]})  # overdue
        s.execute(text("UPDATE leads SET status='done' WHERE id=:i"), {"i": ids[2]})
        s.execute(text("UPDATE leads SET status='closed' WHERE id=:i"), {"i": ids[3]})
    assert repo.search_lead_ids("", tab="callbacks") == [ids[1], ids[0]]  # overdue first
    assert set(repo.search_lead_ids("", tab="done")) == {ids[2], ids[3]}
    todo = repo.search_lead_ids("", tab="todo")
    assert len(todo) == 56 and not {ids[0], ids[1], ids[2], ids[3]} & set(todo)
    by_expiry = repo.lead_rows(repo.search_lead_ids("", sort="expiry"))
    expiries = [r.policy_expiry for r in by_expiry]
    assert expiries == sorted(expiries)
    assert len(repo.search_lead_ids("", sort="name")) == 60
    campaign = repo.campaigns()[0].id
    assert len(repo.search_lead_ids("", campaign_id=campaign)) == 60
    assert repo.search_lead_ids("", campaign_id="other") == []
    by_source = repo.search_lead_ids("", source="历史脱保")
    assert by_source and all(r.source == "历史脱保" for r in repo.lead_rows(by_source))
    with pytest.raises(ValueError):
        repo.search_lead_ids("", tab="bogus")


def test_detail_never_carries_the_full_number(demo_repo: Repository) -> None:
    lead_id = _id_by_name(demo_repo, "杜军")
    d = demo_repo.lead_detail(lead_id)
    assert d.plate == "鄂EF76387" and d.policy_expiry == dt.date(2026, 10, 28) and d.last_premium == 3120
    [p] = d.phones
    assert p.masked == "187****6946" and p.region == "云南红河哈尼族彝族自治州" and p.carrier == "中国移动"
    assert "18787366946" not in repr(d)
    assert demo_repo.number_for_dial(p.phone_id) == "+8618787366946"
    with pytest.raises(NotFound):
        demo_repo.number_for_dial(999_999)
    with pytest.raises(NotFound):
        demo_repo.lead_detail("nope")
    assert demo_repo.lead_for_number("+8618787366946") == lead_id


def test_history_shows_calls_dispositions_and_notes(demo_repo: Repository) -> None:
    repo = demo_repo
    lead_id = _id_by_name(repo, "杜军")
    phone_id = repo.lead_detail(lead_id).phones[0].phone_id
    t0 = utcnow().replace(microsecond=0)
    with repo.handle.write() as s:
        s.execute(text("INSERT INTO call_records (id, lead_id, phone_id, direction, dialed_at, answered_at, ended_at,"
                       " sip_status, talk_seconds) VALUES ('c1', :l, :p, 'out', :t, :t, :t, 200, 95)"),
                  {"l": lead_id, "p": phone_id, "t": t0})
        first = repo.append_event(s, "disposition_recorded", lead_id, {"code": "REFUSED"})
        s.execute(text("INSERT INTO dispositions (id, call_id, lead_id, code, note, recorded_at) "
                       "VALUES (:i, 'c1', :l, 'REFUSED', '', :t)"), {"i": first, "l": lead_id, "t": t0})
        fix = repo.append_event(s, "disposition_recorded", lead_id, {"code": "INTERESTED", "supersedes": first})
        s.execute(text("INSERT INTO dispositions (id, call_id, lead_id, code, note, callback_at, supersedes_id,"
                       " recorded_at) VALUES (:i, 'c1', :l, 'INTERESTED', '考虑一下', :cb, :f, :t)"),
                  {"i": fix, "l": lead_id, "t": t0 + dt.timedelta(seconds=5), "cb": t0 + dt.timedelta(days=1),
                   "f": first})
    repo.add_note(lead_id, "车辆已过户，新车主电话待核实")
    d = repo.lead_detail(lead_id)
    [call] = d.history
    assert call.disposition_code == "INTERESTED" and call.disposition_label == "有意向"  # the correction wins
    assert call.note == "考虑一下" and call.talk_seconds == 95 and call.masked_number == "187****6946"
    assert d.agent_notes[0].text == "车辆已过户，新车主电话待核实"
    assert repo.pending_event_count() == 3


def test_dnc_with_expiry(demo_repo: Repository) -> None:
    repo = demo_repo
    with repo.handle.write() as s:
        s.add(DoNotCall(number_e164="+8613800000001", reason="客户要求"))
        s.add(DoNotCall(number_e164="+8613800000002", expires_at=utcnow() - dt.timedelta(days=1)))
    assert repo.is_dnc("+8613800000001")
    assert repo.is_dnc("138 0000 0001") and repo.is_dnc("13800000001")
    assert not repo.is_dnc("+8613800000002")
    assert not repo.is_dnc("+8613800000003")


def test_event_and_effect_commit_together(demo_repo: Repository) -> None:
    repo = demo_repo
    lead_id = repo.search_lead_ids("")[0]
    with pytest.raises(RuntimeError), repo.handle.write() as s:
        repo.append_event(s, "note_added", lead_id, {"text": "x", "at": dt.datetime(2026, 11, 25, 9, 0)})
        raise RuntimeError("effect failed")
    assert repo.pending_event_count() == 0
    with repo.handle.write() as s:
        e1 = repo.append_event(s, "note_added", lead_id, {"at": dt.datetime(2026, 11, 25, 9, 0)})
        e2 = repo.append_event(s, "note_added", lead_id, {})
    with repo.handle.session() as s:
        rows = s.execute(text("SELECT id, seq, payload FROM outbox_events ORDER BY seq")).all()
    assert [r.id for r in rows] == [e1, e2] and rows[1].seq == rows[0].seq + 1
    assert '"2026-11-25T09:00:00Z"' in rows[0].payload


def test_index_follows_writes_from_another_process(demo_repo: Repository) -> None:
    """Another writer (the sync loop, a CLI import) changes leads with plain SQL; the next search sees it."""
    repo = demo_repo
    assert repo.search_lead_ids("杜军")
    lead_id = _id_by_name(repo, "杜军")
    assert repo.lead_rows([lead_id])[0].name == "杜军"  # now in the row cache
    other = sqlite3.connect(repo.handle.path, isolation_level=None)
    other.execute("PRAGMA foreign_keys=ON")
    other.execute("UPDATE leads SET name='杜俊峰', name_pinyin='', name_initials='' WHERE id=?", (lead_id,))
    other.execute("INSERT INTO leads (id, campaign_id, external_id, name, name_pinyin, name_initials, gender, city,"
                  " plate, vehicle, source, priority, notes, status, created_at, updated_at) SELECT 'new1',"
                  " campaign_id, 'X1', '曾小贤', '', '', '', '', '', '', '', 2, '', 'new', created_at, updated_at"
                  " FROM leads LIMIT 1")
    other.execute("INSERT INTO lead_phones (lead_id, number_e164, tail4, label, position) "
                  "VALUES ('new1', '+8613912340000', '0000', '', 0)")
    gone = repo.search_lead_ids("")[-1]
    other.execute("DELETE FROM leads WHERE id=?", (gone,))
    other.close()
    assert repo.lead_rows([lead_id])[0].name == "杜俊峰"  # the cached row was dropped
    assert repo.search_lead_ids("杜军") == []
    assert repo.search_lead_ids("djf") == [lead_id]  # keys computed for rows written without them
    assert repo.search_lead_ids("zengxiaoxian") == ["new1"]  # surname reading of 曾
    assert repo.search_lead_ids("12340000") == ["new1"]
    assert gone not in repo.search_lead_ids("")
    assert len(repo.search_lead_ids("")) == 60


def test_index_rebuilds_after_the_journal_was_pruned(data_dir, demo_repo: Repository) -> None:
    repo = demo_repo
    assert len(repo.search_lead_ids("")) == 60
    second = open_cache(repo.handle.path)  # start-up prunes the journal
    try:
        Repository(second).upsert_leads(repo.campaigns()[0].id, [])
        with second.write() as s:
            s.execute(text("UPDATE leads SET status='done' WHERE id IN (SELECT id FROM leads LIMIT 5)"))
    finally:
        second.close()
    assert len(repo.search_lead_ids("", tab="done")) == 5


def test_first_page_matches_the_index_order(demo_repo: Repository) -> None:
    repo = demo_repo
    ids = repo.search_lead_ids("")
    now = utcnow().replace(microsecond=0)
    with repo.handle.write() as s:
        for i, hours in ((3, 5), (4, -2), (5, 1)):
            s.execute(text("UPDATE leads SET next_callback_at=:t WHERE id=:i"),
                      {"t": now + dt.timedelta(hours=hours), "i": ids[i]})
        s.execute(text("UPDATE leads SET status='done' WHERE id IN (:a, :b)"), {"a": ids[7], "b": ids[9]})
    fresh = Repository(repo.handle)  # no index built yet
    for tab in (None, "todo", "callbacks", "done"):
        total, first = fresh.first_page_ids(tab, limit=20)
        assert not fresh._index.built
        full = repo.search_lead_ids("", tab=tab)
        assert (total, first) == (len(full), full[:20]), tab
