"""Question → answer → agent's script across two client processes (issue #13, item 6).

The agent's app runs in a child process (tests/supervisor/question_agent.py: its own cache
file, the real sync engine, the workspace store's 记录新问题 write); the TL is this process,
with the real inbox (ui/supervisor/inbox_view.py) through its service. The agent records a
question and pushes it; the TL sees it in the inbox and answers it; the agent pulls once and
the script in its cache has the answer under 异议处理, marked new."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.supervisor.tl_service import TeamLeadService
from tests.server_mode import PASSWORD
from tests.supervisor.question_agent import PREFIX
from ui.supervisor.inbox_view import QuestionInbox

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "续保以后原来的积分还能用吗？"
ANSWER = "可以，续保成功后原有积分全部保留，有效期顺延一年。"


@pytest.fixture(autouse=True)
def zh_cn(qapp):
    from app.i18n import Translations

    Translations.of(qapp).apply("zh_CN")


class AgentProcess:
    def __init__(self, cache: Path, server: str, user: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.supervisor.question_agent", "--cache", str(cache),
             "--server", server, "--user", user, "--password", PASSWORD],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self.read().get("ready")

    def read(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])
        raise AssertionError(f"the agent process ended (rc={self.proc.wait(10)})")

    def send(self, **cmd) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(cmd="quit")
                self.proc.wait(10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def _row_of(inbox: QuestionInbox, text: str) -> int | None:
    for r in range(inbox.groups.rowCount()):
        if inbox.groups.index(r, 0).data() == text:
            return r
    return None


def test_question_answer_reaches_the_agent_process(qtbot, server, login, tmp_path) -> None:
    agent = AgentProcess(tmp_path / "lina-cache.db", server.url, "lina")
    try:
        asked = agent.send(cmd="ask", text=QUESTION, section="异议处理")
        assert asked["pushed"] == 1 and asked["rejected"] == 0 and asked["pending"] == 0, asked
        before = agent.send(cmd="pull")
        assert QUESTION.rstrip("？") not in (before["body"] or "")

        tl = login("zhangwei")
        service = TeamLeadService(lambda: tl)
        inbox = QuestionInbox(service)
        qtbot.addWidget(inbox)
        inbox.show()
        try:
            with qtbot.waitSignal(service.questions_loaded, timeout=20_000):
                inbox.refresh()
            row = _row_of(inbox, QUESTION)
            assert row is not None, "the agent's question is not in the TL's inbox"
            assert inbox.groups.index(row, 1).data() == "1"
            inbox.group_view.selectRow(row)
            assert inbox.questions.rowCount() == 1
            shown = [inbox.questions.index(0, c).data() for c in range(inbox.questions.columnCount())]
            assert shown[1] == "李娜" and shown[2] and shown[4] == "异议处理", shown
            inbox.answer_edit.setPlainText(ANSWER)
            assert inbox.post_button.isEnabled()
            with qtbot.waitSignal(service.question_answered, timeout=20_000) as answered:
                inbox.post_button.click()
            result = answered.args[0]
            assert result["answered"] == [asked["event_id"]]
            with qtbot.waitSignal(service.questions_loaded, timeout=20_000):
                pass  # the inbox refreshes by itself
            assert _row_of(inbox, QUESTION) is None
        finally:
            service.stop()

        # The agent's next pull, in the other process: the new script version in its cache.
        after = agent.send(cmd="pull")
        assert after["version"] == result["version"] and after["version"] > before["version"], (before, after)
        entry = next((o for o in after["objections"] if o["title"] == result["title"]), None)
        assert entry is not None, [o["title"] for o in after["objections"]]
        assert ANSWER in entry["body"]
        # marked new: the server's day (its time zone) in the marker, within the panel's 新 window
        assert entry["new"] and entry["new"] in result["new_marker"], (entry, result["new_marker"])
        assert abs((dt.date.fromisoformat(entry["new"]) - dt.date.today()).days) <= 1
        body = after["body"]
        assert body.index("# 异议处理") < body.index(f"## {result['title']}")
    finally:
        agent.close()
