"""Quitting the app mid-call: ``SipEngine.stop()`` with a call up ends it in order.

The engine runs in a child process: the failure this guards against is pjsua aborting the
process, which must fail this test rather than kill the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from tests.sip.agent import CUSTOMER_HZ
from tests.sip.kamailio import Kamailio, die_with_parent

pytestmark = pytest.mark.sip

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("qt_audio", "recording"), [(False, False), (False, True), (True, True)],
                         ids=["tone-audio", "tone-audio-recorded", "qt-audio-recorded"])
def test_stop_mid_call_hangs_up_and_survives(kamailio: Kamailio, peers, tmp_path: Path, qt_audio: bool,
                                             recording: bool) -> None:
    cust = peers("2001", "--tone", str(CUSTOMER_HZ), "--auto-answer", "200")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    extra = (["--qt-audio"] if qt_audio else []) + ([str(tmp_path / "rec")] if recording else [])
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.softphone.stop_midcall_child", kamailio.domain, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, preexec_fn=die_with_parent)
    steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, f"engine process died (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert [s["step"] for s in steps] == ["answered", "stopped"], proc.stdout
    # Every Call object was destroyed on the SIP thread before libDestroy: none leaked, none
    # left for a destructor after the library is gone (that is pjsua's assertion).
    assert "outlive" not in proc.stderr, proc.stderr[-3000:]
    stopped = steps[1]
    assert stopped["ended"], "the call's ENDED event was not delivered before stop() returned"
    assert stopped["stop_s"] < 5.0
    # The customer got a BYE: its call ended normally, not by an RTP or session timeout.
    st = cust.wait("state", state="DISCONNECTED", timeout=5)
    assert st["code"] in (200, 0) or "clearing" in st.get("reason", "").lower(), st
    if recording:  # the recording was closed in order: a valid WAV named by the call id
        with wave.open(str(tmp_path / "rec" / f"{steps[0]['call_id']}.wav"), "rb") as w:
            assert w.getnchannels() == 2 and w.getnframes() > 0
