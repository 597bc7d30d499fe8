"""Save the TL's desk screenshots (zh_CN, offscreen) into docs/screenshots/:

    .venv/bin/python -m tests.supervisor.make_desk_screenshots

A real ``seatmate-server`` with the demo data; a working day of calls pushed by six demo
agents as events over HTTP, a few unscripted questions and one recorded call (a stereo WAV:
the agent and the customer taking turns) uploaded like the app uploads it. Then, logged in as
the demo TL (zhangwei): desk-report.png (日报表 with its charts), desk-distribution.png (a
weighted preview), desk-coaching.png (the 辅导表 on the recording, markers on the waveform)
and desk-inbox.png (the question inbox).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.server_mode import PASSWORD
from tests.supervisor.shots import out_dir, spin, zh_cn_app

DAY = dt.date(2026, 12, 3)


def _speech_wav(seconds: float = 75.0, rate: int = 8000, seed: int = 3) -> bytes:
    """Turns of speech-like noise bursts: agent (left) and customer (right) alternate."""
    import numpy as np

    from tests.supervisor.recording_files import stereo_wav

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    left, right = np.zeros(n), np.zeros(n)
    t, who = 0.8, 0
    while t < seconds - 1:
        turn = float(rng.uniform(2.0, 7.0) if who == 0 else rng.uniform(1.0, 4.0))
        a, b = int(t * rate), int(min(seconds, t + turn) * rate)
        env = np.abs(np.sin(np.linspace(0, np.pi * turn * 3, b - a))) * rng.uniform(0.3, 0.8)
        sig = rng.normal(0, 0.35, b - a) * env
        (left if who == 0 else right)[a:b] = sig
        t += turn + float(rng.uniform(0.2, 0.8))
        who = 1 - who
    return stereo_wav(np.clip(left, -1, 1), np.clip(right, -1, 1), rate)


def _day_of_calls(seed: int, strength: float) -> list[tuple[int, int, str | None]]:
    """(minute from 09:00, talk seconds, code) for one agent's day (morning and afternoon)."""
    rnd = random.Random(seed)
    calls = []
    for minute in range(20, 480, 1):
        if 165 <= minute < 270 or rnd.random() > 0.085 * strength:  # lunch 11:45–13:30
            continue
        if rnd.random() < 0.35:
            calls.append((minute, 0, "NO_ANSWER"))
            continue
        talk = int(rnd.expovariate(1 / 120)) + 8
        r = rnd.random()
        code = ("SALE" if r < 0.07 * strength else "CALLBACK" if r < 0.3 else
                "REFUSED" if r < 0.7 else "INSURED_ELSEWHERE")
        if code == "REFUSED" and rnd.random() < 0.5:
            talk = rnd.randint(6, 25)
        calls.append((minute, talk, code))
    return calls


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = out_dir(argv)
    from PySide6.QtCore import Qt

    from app.supervisor.coaching_service import CoachingService
    from app.supervisor.tl_service import TeamLeadService
    from sync.client import ApiClient, MemoryVault
    from tests.faults.harness import ServerProcess
    from tests.supervisor.desk_data import iso, my_leads, push_calls
    from ui.supervisor.coaching_view import CoachingDialog
    from ui.supervisor.distribution_dialog import COL_NAME, DistributionDialog
    from ui.supervisor.inbox_view import QuestionInbox
    from ui.supervisor.report_view import ReportView

    zh_cn_app()

    def wait(cond, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while not cond():
            if time.time() > deadline:
                raise TimeoutError("the screen did not fill in time")
            spin(0.1)

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="seatmate-desk-shot-") as tmp:
        srv = ServerProcess(Path(tmp) / "server")
        srv.cli("demo")
        srv.start()
        apis: list[ApiClient] = []
        try:
            def login(user: str) -> ApiClient:
                api = ApiClient(srv.url, MemoryVault(), timeout=30)
                api.login(user, PASSWORD)
                apis.append(api)
                return api

            tl = login("zhangwei")
            agents = {u: login(u) for u in ("lina", "wangfang", "liuyang", "chenjing", "zhaolei", "zhoumin")}
            strengths = {"lina": 1.4, "wangfang": 1.1, "liuyang": 0.9, "chenjing": 1.2, "zhaolei": 0.7, "zhoumin": 1.0}
            first_call = ""
            for i, (user, api) in enumerate(agents.items()):
                if not my_leads(api):
                    continue  # the demo gave this agent no leads
                ids = push_calls(api, DAY, _day_of_calls(11 + i, strengths[user]), hour=9)
                if user == "lina":
                    first_call = ids[next(j for j, c in enumerate(_day_of_calls(11, 1.4)) if c[1] > 60)]
            data = _speech_wav()
            lina = agents["lina"]
            offset = 0
            for j in range(0, len(data), 256 * 1024):
                offset = lina.recording_patch(first_call, offset, data[j:j + 256 * 1024])
            lina.recording_complete(first_call, hashlib.sha256(data).hexdigest(), len(data))
            now = dt.datetime.now(dt.timezone.utc)
            for k, (user, text) in enumerate([
                    ("lina", "你们理赔要多久？"), ("wangfang", "你们理赔要多久啊"), ("liuyang", "理赔要多久？"),
                    ("liuyang", "为什么今年保费比去年贵？"), ("wangfang", "为什么今年保费比去年贵那么多"),
                    ("lina", "可以分期付款吗？"), ("lina", "电子保单怎么下载？")]):
                api = agents[user]
                if not my_leads(api):
                    continue
                api.push([{"id": str(uuid.uuid4()), "type": "unscripted_question",
                           "occurred_at": iso(now - dt.timedelta(minutes=90 - 10 * k)), "lead_id": my_leads(api)[0],
                           "payload": {"text": text, "script_section": "异议处理"}}])

            service = TeamLeadService(lambda: tl)

            # 日报表 with its charts
            report = ReportView(service, today=DAY)
            report.resize(1280, 800)
            report.show()
            report.refresh()
            wait(lambda: report.report is not None)
            spin(0.5)
            report.grab().save(str(out / "desk-report.png"))

            # Distribution: put two agents' leads back in the pool, then a weighted preview.
            campaigns: list[tuple[str, str]] = []
            cursor = None
            while True:
                page = tl.pull(cursor)
                campaigns += [(c.id, c.data["name"]) for c in page.changes if c.entity == "campaign" and c.data]
                cursor = page.next_cursor
                if not page.has_more:
                    break
            dist = DistributionDialog(service)
            dist.resize(900, 560)
            dist.show()
            dist.set_campaigns(campaigns)
            wait(lambda: dist.overview is not None)
            for user in ("wangfang",):  # 王芳 is away today: her open leads go back to the pool
                aid = next(a["agent_id"] for a in dist.overview["agents"] if a["username"] == user)
                before = dist.overview
                dist.reclaim(aid, redistribute=False)
                wait(lambda b=before: dist.overview is not b)
            absent = next(i for i, a in enumerate(dist.model.agents) if a["username"] == "wangfang")
            dist.model.setData(dist.model.index(absent, COL_NAME), Qt.CheckState.Unchecked.value,
                               Qt.ItemDataRole.CheckStateRole)
            dist.count.setValue(min(10, dist.overview["unassigned"]))
            dist.weighted.setChecked(True)
            dist.floor.setValue(1)
            dist.do_preview()
            wait(lambda: dist.preview is not None)
            dist.table.selectRow(0)
            spin(0.3)
            dist.grab().save(str(out / "desk-distribution.png"))

            # The 辅导表 on the recording
            sink_api = tl

            def outbox(etype: str, lead_id, payload: dict) -> str:
                eid = str(uuid.uuid4())
                sink_api.push([{"id": eid, "type": etype, "occurred_at": iso(dt.datetime.now(dt.timezone.utc)),
                                "lead_id": lead_id, "payload": payload}])
                return eid

            coaching = CoachingService(lambda: tl, outbox)
            dialog = CoachingDialog(coaching, today=DAY)
            dialog.default_campaign = campaigns[0][0]
            dialog.resize(1400, 800)
            dialog.show()
            dialog.search()
            wait(lambda: dialog.recordings.rowCount() > 0)
            dialog.select_call(first_call)
            wait(lambda: dialog.recording is not None and dialog.form.rowCount() > 0 and bool(dialog.waveform.left))
            plan = [("Y", 1.2, ""), ("Y", 4.0, ""), ("N", 9.5, "没有报工号和公司全称"), ("Y", None, ""),
                    ("NA", None, ""), ("Y", 21.0, "需求问得很自然"), ("N", 38.5, "价格异议直接让步，没有先讲保障"),
                    ("Y", None, "")]
            for row, (ans, at, comment) in enumerate(plan[: dialog.form.rowCount()]):
                dialog.form.set_answer(row, ans, comment=comment or None, at_s=at)
            dialog.overall.setPlainText("开场完整度要提高；处理价格异议先讲保障再谈优惠。")
            dialog.player.seek(21.0)
            dialog.form_view.selectRow(6)
            spin(0.5)
            dialog.grab().save(str(out / "desk-coaching.png"))

            # The question inbox
            inbox = QuestionInbox(service)
            inbox.resize(1100, 560)
            inbox.show()
            inbox.refresh()
            wait(lambda: inbox.groups.rowCount() > 0)
            inbox.group_view.selectRow(0)
            inbox.title_edit.setText("理赔要多久？")
            inbox.answer_edit.setPlainText("资料齐全的小额案件一般 3 个工作日内结案；我们会全程短信通知进度。")
            spin(0.3)
            inbox.grab().save(str(out / "desk-inbox.png"))
            print(f"saved {out}/desk-report.png, desk-distribution.png, desk-coaching.png, desk-inbox.png")
            coaching.stop()
            service.stop()
        finally:
            for api in apis:
                api.close()
            srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
