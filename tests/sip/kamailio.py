"""Start a private Kamailio registrar/proxy on a free loopback port (no root, no daemon)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from .certs import TlsFiles

HERE = Path(__file__).resolve().parent
MODPATHS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
            "/usr/lib/kamailio/modules")


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the test process dies (a crashed run leaves no orphans)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


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


class Kamailio:
    def __init__(self, users: dict[str, str], port: int | None = None, workdir: Path | None = None,
                 tls: TlsFiles | None = None) -> None:
        exe = shutil.which("kamailio") or ("/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None)
        if exe is None:
            raise RuntimeError("kamailio is not installed (apt-get install kamailio); the SIP tests need it")
        self.exe = exe
        self.users = dict(users)
        self.port = port or free_port()
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="kamailio-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "kamailio.log"
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

    def start(self, timeout: float = 20.0) -> None:
        check = subprocess.run([self.exe, "-c", "-f", str(self.cfg_path)], capture_output=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError("kamailio config check failed:\n" + check.stderr.decode(errors="replace")[-3000:])
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.exe, "-DD", "-E", "-f", str(self.cfg_path), "-Y", str(self.dir / "run"),
             "-P", str(self.dir / "run" / "kamailio.pid"), "-m", "32", "-M", "8"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
            preexec_fn=die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited ({self.proc.returncode}):\n{self.tail()}")
            if sip_options(self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kamailio did not answer within {timeout} s:\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)  # its own session: only kamailio and its children
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=5)
        # the UDP/TCP port must be free again before a restart
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.1)

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __enter__(self) -> Kamailio:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
