"""A second `seatmate dial …` (or a tel:/sip: link) reaches the running window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.single_instance import number_from_argument

ROOT = Path(__file__).resolve().parents[2]


def _second_instance(qtbot, data_dir: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _wait_exit(qtbot, proc: subprocess.Popen, timeout: float = 20) -> int:
    # Keep the running app's event loop turning while the second process talks to it.
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the second instance did not exit")
        qtbot.wait(20)
    return proc.returncode


@pytest.mark.parametrize(
    "args",
    [("dial", "13800138000"), ("tel:+86-138-0013-8000",), ("sip:13800138000@127.0.0.1;user=phone",)],
    ids=["dial", "tel-url", "sip-url"],
)
def test_second_process_hands_number_to_running_window(qtbot, seatmate, data_dir, args):
    window = seatmate.window
    received: list[str] = []
    window.dialRequested.connect(received.append)
    proc = _second_instance(qtbot, data_dir, *args)
    code = _wait_exit(qtbot, proc)
    out, err = proc.communicate()
    assert code == 0, err.decode(errors="replace")
    qtbot.waitUntil(lambda: received == ["+8613800138000"], timeout=5000)
    assert window.call_bar.number.text().endswith("138****8000")
    assert b"13800138000" not in out + err


def test_bad_number_is_refused_with_one_sentence(qtbot, seatmate, data_dir):
    proc = _second_instance(qtbot, data_dir, "dial", "12345")
    code = _wait_exit(qtbot, proc)
    _out, err = proc.communicate()
    assert code != 0
    assert b"cannot dial" in err and b"12345" not in err


def test_url_parsing():
    assert number_from_argument("tel:13800138000") == "+8613800138000"
    assert number_from_argument("tel:%2B8613800138000") == "+8613800138000"
    assert number_from_argument("sip:+8613800138000@pbx.example;user=phone") == "+8613800138000"
    assert number_from_argument("callto://13800138000") == "+8613800138000"


def test_dial_with_no_running_instance_starts_the_window_with_the_number(qtbot, qapp, data_dir):
    import argparse

    from app.application import Application

    application = Application(argparse.Namespace(data_dir=str(data_dir), number="tel:13800138000", lang="zh_CN",
                                                 command="dial"))
    received: list[str] = []
    assert application.start() is None
    window = application.window
    qtbot.addWidget(window)
    window.dialRequested.connect(received.append)
    try:
        qtbot.waitUntil(lambda: received == ["+8613800138000"], timeout=5000)
        assert window.isVisible()
        assert "138****8000" in window.call_bar.number.text()
    finally:
        application._shutdown()
