"""``seatmate --self-test`` from the source tree: the hook the frozen smoke test relies on.

The frozen build itself is checked by scripts/smoke-frozen.sh (it needs a ~1 min
build first); this keeps the self-test honest between builds, in ~4 s. A child
process: the app's pjsua2 Endpoint must not share this pytest process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cache.db import HEAD_REVISION

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_reports_the_demo_window_cache_and_phone(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEATMATE_", "XDG_"))}
    env.update(HOME=str(tmp_path), XDG_RUNTIME_DIR=str(run), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path / "data"), "--self-test",
                           "--self-test-timeout", "45"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report (exit {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0 and report["ok"], report
    assert report["frozen"] is False and report["mode"] == "demo"
    assert report["window_title"] == "坐席助手" and report["language"] == "zh_CN"
    assert report["leads_shown"] == report["leads_total"] > 0
    assert report["schema"] == {"revision": HEAD_REVISION, "expected": HEAD_REVISION,
                                "migrations_head": HEAD_REVISION}
    assert report["phone"]["registered"] is True
    # The selected customer's card and the campaign script, filled in with that customer,
    # are on screen (the workspace's script panel replaces the plain one after start-up).
    assert report["customer_card"] and report["script_shown"] and report["script_names_customer"], report
    assert report["sip_status_text"] == "SIP：已注册"
