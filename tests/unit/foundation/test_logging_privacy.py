"""No full phone number and no secret reaches a log file, whatever code path logged it."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import logging_setup
from app.lead_import import import_file
from app.paths import AppPaths
from cache.db import open_cache
from cache.repository import Repository

ROOT = Path(__file__).resolve().parents[3]
NUMBERS = ["13812345678", "13912345678", "15012345678", "02787654321", "1380000000"]
SECRETS = ["hunter2-Secret", "tok_9f8e7d6c5b4a", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudDEifQ.c2lnbmF0dXJl"]


@pytest.fixture
def logs(data_dir: Path):
    paths = AppPaths.resolve(data_dir).ensure()
    logging_setup.configure(paths, console=False, level=logging.DEBUG)
    yield paths
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_seatmate_handler", False):
            root.removeHandler(h)
            h.close()


def _all_log_text(log_dir: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(log_dir.glob("seatmate.log*")))


def _leaks(text: str) -> list[str]:
    found = [n for n in NUMBERS if n in re.sub(r"[\s-]", "", text)]
    found += [n for n in ("+8613812345678", "138 1234 5678", "138-1234-5678") if n in text]
    return found + [s for s in SECRETS if s in text]


def test_real_code_paths_do_not_leak(logs: AppPaths, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("姓名,电话\n张三,138 1234 5678;1380000000\n李四,13912345678/15012345678\n王五,02787654321\n",
                   encoding="utf-8")
    h = open_cache(logs.cache_db)
    repo = Repository(h)
    import_file(repo, csv, "隐私测试")  # logs a warning about the dropped bad number
    lead = repo.search_lead_ids("张三")[0]
    number = repo.number_for_dial(repo.lead_detail(lead).phones[0].phone_id)
    log = logging.getLogger("softphone.engine")
    log.info("dialing %s for lead %s", number, lead)  # a careless caller
    log.info("sip:%s@127.0.0.1:5060 answered", number.removeprefix("+86"))
    logging.getLogger("sync.client").warning("login failed for agent1: password=%s", SECRETS[0])
    logging.getLogger("sync.client").info("refresh ok, Authorization: Bearer %s", SECRETS[2])
    logging.getLogger("sync.client").info("response %s", {"access_token": SECRETS[1], "user": "agent1"})
    try:
        raise ValueError(f"cannot dial {number} with token={SECRETS[1]}")
    except ValueError:
        logging.getLogger("app").exception("call failed for 138-1234-5678")
    logging.getLogger("app").warning("a bad format %s %s", number)  # wrong argument count
    h.close()
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = _all_log_text(logs.log_dir)
    assert "imported 3 leads" in text and "***5678" in text and "call failed" in text  # the logs are still useful
    assert "ValueError" in text
    assert _leaks(text) == []


def test_cli_import_logs_do_not_leak(tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("姓名,电话\n张三,13812345678;1380000000\n李四,13812345678\n", encoding="gbk")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    data = tmp_path / "d"
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data), "import-leads", str(csv),
                           "--campaign", "c", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "13812345678" not in proc.stdout  # the duplicate's reason shows the masked number
    assert "138****5678" in proc.stdout
    text = _all_log_text(data / "logs")
    assert "imported 1 leads" in text
    assert _leaks(text) == []


@pytest.mark.parametrize("line, expected", [
    ("dial 13812345678 ok", "dial ***5678 ok"),
    ("to +86 138-1234-5678.", "to ***5678."),
    ("password=hunter2 user=a", "password=*** user=a"),
    ('{"refresh_token": "abc123"}', '{"refresh_token": "***"}'),
    ("postgresql://u:pw123@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),
    ("expiry 2026-11-25 port 5060 took 12 ms", "expiry 2026-11-25 port 5060 took 12 ms"),
])
def test_redact(line: str, expected: str) -> None:
    assert logging_setup.redact(line) == expected
