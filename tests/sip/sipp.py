"""Run one sipp UAS scenario (tests/sip/scenarios/*.xml) on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import tempfile
from pathlib import Path

from tests.processes import ExternalProcess

from .kamailio import free_port, free_udp_range

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class SippUas(ExternalProcess):
    """Ready when its UDP port is taken (sipp prints no ready line); ``stop`` is SIGKILL."""

    name = "sipp"
    stop_signal = signal.SIGKILL
    ready_timeout = 10.0

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
        # sipp draws its status screen on stdout: only stderr is kept
        super().__init__(cwd=self.dir, stdout=False, log_path=self.dir / "sipp.log")

    def uri(self, user: str) -> str:
        return f"sip:{user}@127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [self.exe, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port),
                "-mi", "127.0.0.1", "-mp", str(self.media_port), "-m", str(self.calls),
                "-nostdin", "-trace_err", "-error_file", str(self.dir / "errors.log")]
        for k, v in self.keys.items():
            args += ["-key", k, v]
        if self.rtp_echo:
            args.append("-rtp_echo")
        return args

    def ready(self, timeout: float) -> None:
        def port_taken() -> bool:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", self.port))
            except OSError:
                return True
            return False

        self.wait_for(port_taken, timeout, description=f"sipp to bind UDP {self.port}")

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for sipp to finish its calls; its exit code (0 = every call passed the scenario)."""
        return self.wait_exit(timeout)

    def errors(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "errors.log").read_text(errors="replace")[-2000:]
        return ""
