"""Run one sipp UAS scenario (tests/sip/scenarios/*.xml) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .kamailio import die_with_parent, free_port, free_udp_range

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class SippUas:
    def __init__(self, scenario: str, calls: int = 1, keys: dict[str, str] | None = None,
                 rtp_echo: bool = False) -> None:
        exe = shutil.which("sipp")
        if exe is None:
            raise RuntimeError("sipp is not installed (apt-get install sip-tester); the SIP tests need it")
        self.exe = exe
        self.scenario = SCENARIOS / f"{scenario}.xml"
        if not self.scenario.exists():
            raise FileNotFoundError(self.scenario)
        self.calls = calls
        self.keys = keys or {}
        self.rtp_echo = rtp_echo
        self.port = free_port()
        self.media_port = free_udp_range(4)  # audio RTP/RTCP, video RTP/RTCP
        self.dir = Path(tempfile.mkdtemp(prefix="sipp-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def uri(self, user: str) -> str:
        return f"sip:{user}@127.0.0.1:{self.port}"

    def start(self) -> SippUas:
        args = [self.exe, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port),
                "-mi", "127.0.0.1", "-mp", str(self.media_port), "-m", str(self.calls),
                "-nostdin", "-trace_err", "-error_file", str(self.dir / "errors.log")]
        for k, v in self.keys.items():
            args += ["-key", k, v]
        if self.rtp_echo:
            args.append("-rtp_echo")
        self.proc = subprocess.Popen(args, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=die_with_parent)
        # sipp has no ready line: wait until its UDP port is taken.
        import socket
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sipp exited at start: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", self.port))
            except OSError:
                return self
            time.sleep(0.05)
        raise RuntimeError("sipp did not bind its port")

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for sipp to finish its calls; its exit code (0 = every call passed the scenario)."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def errors(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "errors.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()

    def __enter__(self) -> SippUas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
