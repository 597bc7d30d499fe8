"""tests/processes.py, the base of every external process the suite starts: one wait_for,
a bounded stop, and errors that carry the process's last output."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.processes import ExternalProcess, ProcessError, WaitTimeout

# Prints a line, then one more line and one on stderr for every line it reads.
TALKER = ("import sys\nprint('line 0', flush=True)\nfor i, _ in enumerate(sys.stdin, 1):\n"
          "    print('line', i, flush=True)\n    print('to stderr', file=sys.stderr, flush=True)\n")


def _python(code: str, **kw) -> ExternalProcess:
    return ExternalProcess([sys.executable, "-c", code], **kw)


def test_wait_for_a_line_and_the_log_file(tmp_path: Path) -> None:
    with _python(TALKER, log_path=tmp_path / "talker.log", stdin=True) as proc:
        assert proc.wait_for(r"line (\d)", 5).group(1) == "0"
        mark = proc.mark()
        proc.send("go")
        assert proc.wait_for(r"line (\d)", 5, since=mark).group(1) == "1"  # only lines after the mark
        proc.wait_for("to stderr", 5)  # stderr is read too
        with pytest.raises(WaitTimeout, match=r"(?s)waiting for a line matching 'never'.*to stderr"):
            proc.wait_for("never", 0.2)
    assert "line 1" in (tmp_path / "talker.log").read_text()
    assert not proc.alive()


def test_wait_for_a_condition_returns_its_value() -> None:
    with _python("import time; time.sleep(60)") as proc:
        t0 = time.monotonic()
        assert proc.wait_for(lambda: time.monotonic() - t0 > 0.1 and "done", 5) == "done"
        with pytest.raises(TimeoutError, match="waiting for nothing good"):
            proc.wait_for(lambda: False, 0.1, description="nothing good")


def test_an_exit_while_waiting_fails_at_once_with_the_output() -> None:
    proc = _python("print('cannot bind: address in use'); raise SystemExit(3)").start()
    t0 = time.monotonic()
    with pytest.raises(ProcessError, match=r"(?s)exited with 3 .*cannot bind") as info:
        proc.wait_for("ready", 10)
    assert not isinstance(info.value, TimeoutError) and time.monotonic() - t0 < 5


def test_stop_escalates_to_sigkill_and_start_failures_kill() -> None:
    stubborn = _python("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                       "print('armed', flush=True)\ntime.sleep(60)\n")
    stubborn.stop_timeout = 0.3
    stubborn.start().wait_for("armed", 5)
    assert stubborn.stop() == -9

    class NeverReady(ExternalProcess):
        def ready(self, timeout: float) -> None:
            self.wait_for("ready", timeout)

    never = NeverReady([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(WaitTimeout):
        never.start(timeout=0.2)
    assert not never.alive()
    with pytest.raises(ProcessError, match="could not start"):
        ExternalProcess(["/nonexistent/program"]).start()
