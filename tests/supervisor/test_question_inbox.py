"""The question inbox against the real server: agents' unscripted questions (pushed as events)
grouped by wording with their lead and call; the TL's answer posted from the inbox becomes a
new script version; the agent's next pull brings it and the script panel marks it 新."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from app.supervisor.tl_service import TeamLeadService
from tests.supervisor.desk_data import iso, my_leads
from ui.script_panel import ScriptPanel
from ui.supervisor.inbox_view import QuestionInbox


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


def _ask(api, text: str, minutes_ago: int) -> str:
    # (docs/coaching.md has the app put call_id in the payload; the server's payload rules of
    # 18:09 refuse it on unscripted_question, so the call column stays empty for now.)
    lead = my_leads(api)[0]
    eid = str(uuid.uuid4())
    at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)
    res = api.push([{"id": eid, "type": "unscripted_question", "occurred_at": iso(at), "lead_id": lead,
                     "payload": {"text": text, "script_section": "异议处理"}}])
    assert res[0].status == "accepted", res
    return eid


def _scripts(api) -> dict[str, dict]:
    out, cursor = {}, None
    while True:
        page = api.pull(cursor)
        out.update({c.id: c.data for c in page.changes if c.entity == "script" and c.data})
        cursor = page.next_cursor
        if not page.has_more:
            return out


def test_answer_from_the_inbox_reaches_the_agents_script(qtbot, login) -> None:
    lina, wangfang, tl = login("lina"), login("wangfang"), login("zhangwei")
    before = _scripts(lina)
    q1 = _ask(lina, "你们理赔要多久？", 30)
    q2 = _ask(wangfang, "你们理赔 要多久啊", 20)
    _ask(lina, "为什么今年保费比去年贵", 10)

    service = TeamLeadService(lambda: tl)
    inbox = QuestionInbox(service)
    qtbot.addWidget(inbox)
    inbox.show()
    try:
        with qtbot.waitSignal(service.questions_loaded, timeout=20_000):
            inbox.refresh()
        texts = {inbox.groups.index(r, 0).data(): inbox.groups.index(r, 1).data()
                 for r in range(inbox.groups.rowCount())}
        assert texts.get("你们理赔要多久？") == "2" and texts.get("为什么今年保费比去年贵") == "1"
        row = next(r for r in range(inbox.groups.rowCount()) if inbox.groups.index(r, 0).data() == "你们理赔要多久？")
        inbox.group_view.selectRow(row)
        assert inbox.questions.rowCount() == 2
        shown = [[inbox.questions.index(r, c).data() for c in range(inbox.questions.columnCount())]
                 for r in range(2)]
        assert {s[1] for s in shown} == {"李娜", "王芳"} and {s[4] for s in shown} == {"异议处理"}
        assert all(s[2] for s in shown)  # the lead's customer name
        assert inbox.title_edit.text() == "你们理赔要多久？" and not inbox.post_button.isEnabled()

        inbox.title_edit.setText("理赔要多久？")
        inbox.answer_edit.setPlainText("资料齐全的小额案件一般 3 个工作日内结案。")
        assert inbox.post_button.isEnabled()
        with qtbot.waitSignal(service.question_answered, timeout=20_000) as answered:
            inbox.post_button.click()
        result = answered.args[0]
        assert set(result["answered"]) == {q1, q2}
        with qtbot.waitSignal(service.questions_loaded, timeout=20_000):
            pass  # the inbox refreshes by itself
        remaining = [inbox.groups.index(r, 0).data() for r in range(inbox.groups.rowCount())]
        assert remaining == ["为什么今年保费比去年贵"]  # the open view no longer lists it
        assert str(result["version"]) in inbox.note.text()
    finally:
        service.stop()

    # The agent's next pull: the campaign's script in a new version with the answer, shown as 新.
    after = _scripts(lina)
    changed = [s for sid, s in after.items() if sid not in before or s.get("version") != before[sid].get("version")]
    assert len(changed) == 1
    script = changed[0]
    body = script["body_markdown"]
    assert "## 理赔要多久？" in body and "3 个工作日" in body
    panel = ScriptPanel()
    qtbot.addWidget(panel)
    panel.set_script(script.get("title") or "", body)
    panel.search("理赔")
    items = [panel.results.item(i).text() for i in range(panel.results.count())]
    assert any(t.startswith("理赔要多久？") and t.endswith("新") for t in items), items
    combo = [panel.section_combo.itemText(i) for i in range(panel.section_combo.count())]
    i = next(i for i, t in enumerate(combo) if "理赔要多久" in t)
    panel.jump_to(i)
    assert panel.current_section_title() == "理赔要多久？"  # the mark is not part of the title
