"""The search index's per-character positions stay exact while leads change (no stale hits),
and its lazily made results read like the list of ids they stand for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from app.demo.generated import generate_leads
from cache.db import CacheHandle
from cache.repository import Repository
from cache.search_index import LeadHits, LeadIndex, _Keys


def _brute(index, q: str) -> set[int]:
    return {i for i, k in enumerate(index._keys) if q in k}


def _hits(index, q: str) -> set[int]:
    index._last = None
    positions, bits = index._text_hits(q, (None, None, None, None), index._filter_bits((None, None, None, None)))
    if positions is None:
        return {p for p in range(index._n) if (bits >> p) & 1}
    return set(positions)


def _alive(index, q: str) -> set[int]:
    return {p for p in _brute(index, q) if index._cat[p] != 3}


def test_char_positions_follow_changed_added_and_deleted_leads(handle: CacheHandle) -> None:
    generate_leads(handle, 300)
    repo = Repository(handle)
    repo.warm_up()
    index = repo._index
    assert set("az09张鄂") <= set(index._chars)  # every character of every key comes with the build
    queries = ["z", "zh", "zhang", "w", "1", "12", "张", "鄂", "鄂e", "x"]
    for q in queries:
        assert _hits(index, q) == _alive(index, q), q
    some = [index._ids[p] for p in range(3)]
    generate_leads(handle, 320)  # 20 more leads: appended positions
    with handle.engine.begin() as conn:  # any writer: the change journal tells the index
        conn.execute(text("UPDATE leads SET name = '赵小明', name_pinyin = 'zhaoxiaoming', "
                          "name_initials = 'zxm', plate = 'qqq', external_id = 'qqq' WHERE id = :i"),
                     {"i": some[0]})
        conn.execute(text("DELETE FROM lead_phones WHERE lead_id = :i"), {"i": some[1]})
        conn.execute(text("DELETE FROM leads WHERE id = :i"), {"i": some[1]})
    found = repo.search_lead_ids("zhaoxiaoming")
    assert found == [some[0]]
    assert some[1] not in repo.search_lead_ids("")
    fresh = LeadIndex(handle.engine)
    fresh.build()
    for q in [*queries, "zxm", "q", "qqq", "赵"]:
        assert _hits(index, q) == _alive(index, q), q
        for tab in (None, "todo"):
            assert index.search(q, tab) == fresh.search(q, tab), (q, tab)
    # Typing on (each text narrowing the previous one) gives the same as a fresh search.
    index._last = None
    for q in ("z", "zh", "zha", "zhao"):
        positions, bits = index._text_hits(q, (None, None, None, None), index._filter_bits((None, None, None, None)))
        got = set(positions) if positions is not None else {p for p in range(index._n) if (bits >> p) & 1}
        assert got == _alive(index, q), q


def test_lazy_results_read_like_the_id_list(handle: CacheHandle) -> None:
    generate_leads(handle, 3000)
    repo = Repository(handle)
    repo.warm_up()
    for q, tab in (("", "todo"), ("", None), ("g", None), ("zh", "todo"), ("鄂", "done")):
        hits = repo.search_hits(q, tab)
        ids = repo.search_lead_ids(q, tab)
        assert isinstance(hits, LeadHits) and len(hits) == len(ids) > 0, q
        assert hits[:50] == tuple(ids[:50]) and hits[-3:] == tuple(ids[-3:])
        assert hits[len(ids) // 2] == ids[len(ids) // 2] and hits[-1] == ids[-1] and hits[::-7] == tuple(ids[::-7])
        part = repo.search_hits(q, tab)
        assert part[5:-5] == tuple(ids[5:-5]) and part[-40:-2:3] == tuple(ids[-40:-2:3])  # not all made yet
        fresh = repo.search_hits(q, tab)
        deep = ids[len(ids) * 3 // 4]
        assert fresh.index(deep) == ids.index(deep)  # made on until found
        assert deep in fresh and "no-such-lead" not in fresh
        assert fresh == ids and repo.search_hits(q, tab) == fresh  # equal to the list and to itself
        assert list(fresh) == ids
    assert repo.search_hits("no such text") == []


def test_the_search_does_not_load_numpy(tmp_path: Path) -> None:
    """numpy/OpenBLAS (~11 MB RSS, ~40 MB of the installer) stays out of the client's search."""
    code = (
        "import sys; from cache.db import open_cache; from cache.repository import Repository; "
        "from app.demo.generated import generate_leads; "
        f"h = open_cache({str(tmp_path / 'c.sqlite3')!r}); generate_leads(h, 200); r = Repository(h); r.warm_up(); "
        "assert r.search_lead_ids('1') and r.search_hits('zh', 'todo') is not None; h.close(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'numpy'); print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_typing_between_changes_answers_as_a_fresh_index(handle: CacheHandle) -> None:
    """Random typing, tabs and sorts between random writes (renames, dispositions, callbacks,
    new and deleted leads): the kept caches (last hits, recent texts, filter bits, orders,
    character lists) never answer differently from an index built from scratch."""
    import random

    generate_leads(handle, 400)
    repo = Repository(handle)
    repo.warm_up()
    rng = random.Random(16)
    words = ["zh", "zhang", "wang", "w", "1", "12", "鄂", "鄂a", "li", "gen-0", "张", "王", "5", "new", "xin"]
    added = 0
    for step in range(40):
        word = rng.choice(words)
        tab = rng.choice((None, "todo", "callbacks", "done"))
        sort = rng.choice(("priority", "expiry", "callback", "recent"))
        for i in range(1, len(word) + 1):  # caches for these texts and this tab, then the writes
            repo.search_hits(word[:i], tab, sort=sort)
        repo.search_hits(word[: rng.randint(1, len(word))], tab, sort=sort)
        with handle.engine.begin() as conn:
            db = conn.connection.driver_connection
            ids = [r[0] for r in db.execute("SELECT id FROM leads")]
            for lead_id in rng.sample(ids, rng.choice((1, 5, 20))):
                kind = rng.randrange(4)
                if kind == 0:
                    db.execute("UPDATE leads SET name='王新', name_pinyin='wangxin', name_initials='wx' WHERE id=?",
                               (lead_id,))
                elif kind == 1:
                    db.execute("UPDATE leads SET status=? WHERE id=?", (rng.choice(("done", "new")), lead_id))
                elif kind == 2:
                    db.execute("UPDATE leads SET next_callback_at=?, priority=? WHERE id=?",
                               (rng.choice((None, f"2026-12-0{rng.randint(1, 9)} 08:00:00.000000")),
                                rng.randint(1, 5), lead_id))
                else:
                    db.execute("DELETE FROM leads WHERE id=?", (lead_id,))
            if step % 5 == 0:
                added += 1
                db.execute("INSERT INTO leads (id, campaign_id, external_id, name, name_pinyin, name_initials,"
                           " gender, city, plate, vehicle, source, priority, notes, status, created_at, updated_at)"
                           " SELECT ?, campaign_id, ?, '李新', 'lixin', 'lx', '', '', '鄂A12345', '', '', 3, '',"
                           " 'new', created_at, updated_at FROM leads LIMIT 1", (f"zz-{added}", f"NEW-{added}"))
        fresh = LeadIndex(handle.engine)
        fresh.build()
        for i in range(1, len(word) + 1):  # typed one character at a time
            assert repo.search_hits(word[:i], tab, sort=sort) == fresh.search(word[:i], tab, sort=sort), \
                (step, word[:i], tab, sort)


def test_odd_values_from_any_writer_do_not_stop_the_index(handle: CacheHandle) -> None:
    """A priority stored as text or beyond 32 bits, by a plain SQL writer: the index still loads
    (and catches up) and still finds every lead."""
    generate_leads(handle, 50)
    with handle.engine.begin() as conn:
        db = conn.connection.driver_connection
        ids = [r[0] for r in db.execute("SELECT id FROM leads ORDER BY rowid LIMIT 2")]
        db.execute("UPDATE leads SET priority = 99999999999 WHERE id = ?", (ids[0],))
        db.execute("UPDATE leads SET priority = 'urgent' WHERE id = ?", (ids[1],))
    repo = Repository(handle)
    repo.warm_up()
    assert len(repo.search_lead_ids("")) == 50 and set(ids) <= set(repo.search_lead_ids(""))
    with handle.engine.begin() as conn:  # and the same after a change caught up from the journal
        conn.connection.driver_connection.execute("UPDATE leads SET priority = -99999999999 WHERE id = ?", (ids[1],))
    assert repo.search_lead_ids("")[0] == ids[1]  # the most urgent first


def _pair_lists_exact(index) -> None:
    keys = list(index._keys)
    for pair in index._pairs:
        bits = index._char_bits(pair)
        got = {p for p in range(index._n) if (bits >> p) & 1}
        assert got == {p for p, k in enumerate(keys) if pair in k}, pair


def test_two_character_texts_come_from_the_pair_lists(handle: CacheHandle, monkeypatch) -> None:
    """Pairs of common characters are listed at the build and kept exact while leads change;
    a 2-character text of them is answered from its list without checking a single key."""
    generate_leads(handle, 400)
    repo = Repository(handle)
    repo.warm_up()
    index = repo._index
    assert {"zh", "an", "12", "80", "鄂a"} <= index._pairs  # digits, pinyin letters, a plate's province
    _pair_lists_exact(index)
    some = [index._ids[p] for p in range(3)]
    generate_leads(handle, 420)
    with handle.engine.begin() as conn:
        conn.execute(text("UPDATE leads SET name = '赵小明', name_pinyin = 'zhaoxiaoming', "
                          "name_initials = 'zxm', plate = '鄂A80808', external_id = 'qqq' WHERE id = :i"),
                     {"i": some[0]})
        conn.execute(text("DELETE FROM leads WHERE id = :i"), {"i": some[1]})
    assert repo.search_lead_ids("zhaoxiaoming") == [some[0]]
    _pair_lists_exact(index)

    fresh = LeadIndex(handle.engine)
    fresh.prepare(pairs=False)  # answers by checking keys
    cases = [(q, tab) for q in ("80", "zh", "鄂a", "an", "12") for tab in (None, "todo")]
    expected = [fresh.search(q, tab) for q, tab in cases]
    assert expected[0]  # not an empty answer

    def no_checks(*_args):
        raise AssertionError("a key was checked")

    monkeypatch.setattr(_Keys, "having", no_checks)
    assert [index.search(q, tab) for q, tab in cases] == expected


def test_pair_lists_made_in_steps_while_leads_change(handle: CacheHandle) -> None:
    """The app makes the pair lists a slice at a time between searches: searches answer the same
    before, during and after, and a write in the middle does not leave a stale list."""
    generate_leads(handle, 500)
    index = LeadIndex(handle.engine)
    index.PAIR_STEP, index.PAIR_SLICE, index.PAIR_FOLDS = 40, 96, 7
    index.prepare(pairs=False)
    assert not index._pairs
    reference = LeadIndex(handle.engine)
    reference.prepare()
    texts = ("80", "zh", "12", "wang", "鄂a", "gen-00")
    for q in texts:
        assert index.search(q, "todo") == reference.search(q, "todo"), q
    steps = 0
    for _ in range(3):
        assert not index.build_pairs()
        steps += 1
    some = index._ids[5]  # listed already: its new key must show in the lists
    with handle.engine.begin() as conn:
        conn.execute(text("UPDATE leads SET name_pinyin = 'zzqq', plate = '鄂Z8080' WHERE id = :i"), {"i": some})
    for q in texts:
        assert index.search(q, "todo") == reference.search(q, "todo"), q
    for _ in range(10_000):
        steps += 1
        if index.build_pairs():
            break
    assert index._pairs and steps > 10
    _pair_lists_exact(index)
    fresh = LeadIndex(handle.engine)
    fresh.prepare()
    for q in (*texts, "zz", "zq", "z8", "鄂z"):
        for tab in (None, "todo", "done"):
            assert index.search(q, tab) == fresh.search(q, tab), (q, tab)


def test_an_index_built_empty_lists_its_pairs_once_a_sync_fills_it(handle: CacheHandle, tmp_path: Path) -> None:
    """A first start has no leads yet: the pairs are listed once the leads arrive (by the journal)."""
    from cache.db import open_cache

    repo = Repository(handle)
    repo.warm_up()
    assert not repo.index_pending and repo.search_lead_ids("zh") == []
    other = open_cache(tmp_path / "other.sqlite3")
    generate_leads(other, 1200)
    other.close()
    with handle.engine.begin() as conn:  # row by row, as a first sync's pages write them
        db = conn.connection.driver_connection
        db.execute("ATTACH DATABASE ? AS other", (str(tmp_path / "other.sqlite3"),))
        db.execute("INSERT INTO campaigns SELECT * FROM other.campaigns")
        db.execute("INSERT INTO leads SELECT * FROM other.leads")
        db.execute("INSERT INTO lead_phones SELECT * FROM other.lead_phones")
    assert len(repo.search_lead_ids("")) == 1200
    assert repo._index._last_seq > 1000  # caught up from the journal (appended), not rebuilt
    expected = [i for i in repo.search_lead_ids("") if "zh" in repo._index._keys[repo._index._pos(i)]]
    assert repo.index_pending
    for _ in range(1000):
        if repo.index_step():
            break
    assert not repo.index_pending and "zh" in repo._index._pairs
    _pair_lists_exact(repo._index)
    assert repo.search_lead_ids("zh") == expected != []


def test_keys_kept_as_utf8_answer_like_str_keys() -> None:
    """The keys are one UTF-8 bytes object: every search answers as a str search over the same
    keys would, for ASCII, 汉字, characters beyond the BMP and keys changed since the build."""
    keys = ["张伟\tzhangwei\tzw\t鄂a12345\tgen-1", "abc", "", "王芳\twangfang\twf\t\t", "𠀀x\t鄂e",
            "e\u0301\tcafé", "鄂鄂e鄂"]
    raw = "".join(keys).encode("utf-8", "surrogatepass")
    offsets = [0]
    for k in keys:
        offsets.append(offsets[-1] + len(k.encode("utf-8")))
    from array import array

    stored = _Keys(raw, array("I", offsets))
    assert list(stored) == keys
    stored[1] = "zhang"  # changed since the build: kept aside as str
    stored.append("鄂e新")
    expected = [*keys[:1], "zhang", *keys[2:], "鄂e新"]
    assert list(stored) == expected
    for q in ["", "e", "鄂", "鄂e", "a1", "zhang", "𠀀", "x", "é", "\u0301", "fé", "\t", "伟\tz", "鄂鄂", "新", "张伟"]:
        assert stored.having(q, range(len(expected))) == [p for p, k in enumerate(expected) if q in k], q


def test_rare_lists_past_65536_leads_stay_exact() -> None:
    """Rare characters' and pairs' lists are kept 2 bytes a position (_Sparse: low 16 bits per block
    of 65,536). Past the first block, and with a pair listing's slices packed last first, they
    still hold exactly the positions, ascending."""
    from cache.search_index import _Postings, _Sparse

    positions = [0, 5, 65535, 65536, 65537, 131071, 131072, 200_000]
    assert list(_Sparse(positions)) == positions and len(_Sparse(positions)) == 8
    assert list(_Sparse([])) == [] and list(_Sparse([7, 9])) == [7, 9]
    job = _Postings(64, frozenset({"ab", "b鄂"}))
    expected: dict[str, list[int]] = {"ab": [], "b鄂": []}
    for start in (0, 65536 - 64, 65536, 140_032):  # slice starts (multiples of 64)
        keys = ["xab", "b鄂", "ab b鄂", *["zz"] * 61]  # 1–2 a slice: sparse within the slice
        job.add_pairs(keys, start, last=start == 140_032)
        for i, k in enumerate(keys):
            for pair in expected:
                if pair in k:
                    expected[pair].append(start + i)
    while not job.fold_some(1):  # packs the queued slices last first
        pass
    out = job.done(1_000_000)
    assert out is not None
    for pair, want in expected.items():
        assert isinstance(out[pair], _Sparse) and list(out[pair]) == want, pair
