"""Start a private Kamailio registrar/proxy on a free loopback port (no root, no daemon)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.processes import ExternalProcess, ProcessError, WaitTimeout, die_with_parent, free_port, wait_until

from .certs import TlsFiles

__all__ = ["Kamailio", "die_with_parent", "free_port", "free_udp_range", "sip_options"]

HERE = Path(__file__).resolve().parent
MODPATHS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
            "/usr/lib/kamailio/modules")


def free_udp_range(count: int) -> int:
    """A base port with ``count`` consecutive free UDP ports (sipp's media uses base..base+3)."""
    for _ in range(100):
        socks: list[socket.socket] = []
        try:
            first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(first)
            first.bind(("127.0.0.1", 0))
            base = first.getsockname()[1]
            if base + count > 65535:
                continue
            for p in range(base + 1, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP port range")


def sip_options(port: int, timeout: float = 0.5) -> bool:
    """True when something answers a SIP OPTIONS on 127.0.0.1:port (UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        lport = s.getsockname()[1]
        branch = "z9hG4bK" + uuid.uuid4().hex[:12]
        msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch={branch}\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1:{port}>\r\n"
               f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), ("127.0.0.1", port))
        try:
            data = s.recv(4096)
        except OSError:
            return False
        return data.startswith(b"SIP/2.0 ")


class Kamailio(ExternalProcess):
    """Ready when it answers a SIP OPTIONS; ``stop`` waits until its port is free again."""

    name = "kamailio"

    def __init__(self, users: dict[str, str], port: int | None = None, workdir: Path | None = None,
                 tls: TlsFiles | None = None) -> None:
        exe = shutil.which("kamailio") or ("/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None)
        if exe is None:
            raise RuntimeError("kamailio is not installed (apt-get install kamailio); the SIP tests need it")
        self.exe = exe
        self.users = dict(users)
        self.port = port or free_port()
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="kamailio-"))
        super().__init__(cwd=self.dir, log_path=self.dir / "kamailio.log")
        modpath = next((p for p in MODPATHS if os.path.isdir(p)), MODPATHS[0])
        users_cfg = "\n".join(f'\t$sht(users=>{u}) = "{p}";' for u, p in self.users.items())
        cfg = (HERE / "kamailio.cfg.tmpl").read_text()
        cfg = cfg.replace("@PORT@", str(self.port)).replace("@MODPATH@", modpath).replace("@USERS@", users_cfg)
        self.tls_port = 0
        tls_global = tls_module = ""
        if tls is not None:
            self.tls_port = free_port()
            tls_global = (f"enable_tls=yes\nlisten=tls:127.0.0.1:{self.tls_port}\n"
                          f'alias="127.0.0.1:{self.tls_port}"')
            tls_module = ('loadmodule "tls.so"\n'
                          'modparam("tls", "tls_method", "TLSv1.2+")\n'
                          f'modparam("tls", "certificate", "{tls.server_cert}")\n'
                          f'modparam("tls", "private_key", "{tls.server_key}")\n'
                          'modparam("tls", "verify_certificate", 0)\n'
                          'modparam("tls", "require_certificate", 0)')
        cfg = cfg.replace("@TLS_GLOBAL@", tls_global).replace("@TLS_MODULE@", tls_module)
        self.cfg_path = self.dir / "kamailio.cfg"
        self.cfg_path.write_text(cfg)
        (self.dir / "run").mkdir(exist_ok=True)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [self.exe, "-DD", "-E", "-f", str(self.cfg_path), "-Y", str(self.dir / "run"),
                "-P", str(self.dir / "run" / "kamailio.pid"), "-m", "32", "-M", "8"]

    def start(self, timeout: float | None = None) -> Kamailio:
        check = subprocess.run([self.exe, "-c", "-f", str(self.cfg_path)], capture_output=True, timeout=30)
        if check.returncode != 0:
            raise ProcessError("kamailio config check failed:\n" + check.stderr.decode(errors="replace")[-3000:])
        return super().start(timeout)

    def ready(self, timeout: float) -> None:
        self.wait_for(lambda: sip_options(self.port), timeout, description=f"an answer to OPTIONS on {self.port}")

    def stop(self, timeout: float | None = None) -> int | None:
        code = super().stop(timeout)

        def port_free() -> bool:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", self.port))
            except OSError:
                return False
            return True

        # the UDP/TCP port must be free again before a restart (if not, that start says so)
        with contextlib.suppress(WaitTimeout):
            wait_until(port_free, self.stop_timeout if timeout is None else timeout, interval=0.1)
        return code
