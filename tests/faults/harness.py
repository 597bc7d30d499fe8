"""Real processes for sync tests, the fault campaign and the benchmark.

``ServerProcess`` runs the real ``seatmate-server serve`` on an ephemeral
loopback port with a private SQLite file and data dir; ``kill()`` is SIGKILL,
``restart()`` starts it again on the same port and database.
``secret_service()`` makes sure a real gnome-keyring answers on the session
bus (the sync client keeps its session there, through sync.credentials).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SERVER_CLI = VENV_BIN / "seatmate-server"


class HarnessError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cli() -> list[str]:
    if not SERVER_CLI.exists():
        raise HarnessError(
            f"{SERVER_CLI} is missing: run `.venv/bin/pip install -e '.[dev]'` so the seatmate-server script exists"
        )
    return [str(SERVER_CLI)]


class ServerProcess:
    def __init__(self, workdir: Path, *, db_url: str | None = None, log_name: str = "server.log") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.workdir / "server.sqlite3"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.data_dir = self.workdir / "server-data"
        self.port = free_port()
        self.log_path = self.workdir / log_name
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"SEATMATE_SERVER_DATA_DIR": str(self.data_dir), "SEATMATE_SERVER_DB": self.db_url,
                    "HOME": str(self.workdir), "PYTHONUNBUFFERED": "1"})
        for var in ("LD_PRELOAD", "FAKETIME"):
            env.pop(var, None)  # the server keeps true time; only clients are skewed
        return env

    def cli(self, *args: str, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess:
        """Run an admin command against this server's database."""
        cmd = [*server_cli(), args[0], "--db", self.db_url, "--data-dir", str(self.data_dir), *args[1:]]
        done = subprocess.run(cmd, env=self.env(), cwd=self.workdir, capture_output=True, text=True,
                              timeout=timeout, input=input)
        if done.returncode != 0:
            raise HarnessError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-2000:]}")
        return done

    def start(self, timeout: float = 60.0) -> ServerProcess:
        cmd = [*server_cli(), "serve", "--db", self.db_url, "--data-dir", str(self.data_dir),
               "--host", "127.0.0.1", "--port", str(self.port)]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"server exited with {self.proc.returncode}: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.05)
        self.kill()
        raise HarnessError(f"server did not answer /healthz within {timeout} s: {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, whatever request is in flight."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()


def _secret_service_up() -> bool:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus="SESSION") as conn:
        (owned,) = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets")).body
    return bool(owned)


@contextlib.contextmanager
def secret_service(home: Path) -> Iterator[None]:
    """A real gnome-keyring Secret Service on the current session bus (started if absent)."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        raise HarnessError("no D-Bus session bus: run under dbus-run-session (scripts/test.sh does)")
    daemon = shutil.which("gnome-keyring-daemon")
    if daemon is None:
        raise HarnessError("gnome-keyring-daemon is not installed (apt: gnome-keyring)")
    proc = None
    if not _secret_service_up():
        run = home / "run"
        run.mkdir(parents=True, mode=0o700, exist_ok=True)
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(run))
        proc = subprocess.Popen([daemon, "--unlock", "--components=secrets", "--foreground"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        proc.stdin.write(b"sync-test-unlock")
        proc.stdin.close()
        deadline = time.monotonic() + 15
        while not _secret_service_up():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise HarnessError("gnome-keyring-daemon did not come up")
            time.sleep(0.05)
    import keyring
    from keyring.backends import SecretService

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        if proc is not None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def faketime_env(offset_s: int) -> dict[str, str]:
    """Environment that runs a process with its clock off by ``offset_s`` (libfaketime)."""
    if offset_s == 0:
        return {}
    lib = next((p for p in (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"))
                if p.exists()), None)
    if lib is None:
        raise HarnessError("libfaketime is not installed (apt: faketime); needed for the client clock skew")
    sign = "+" if offset_s > 0 else "-"
    # Monotonic time is faked with the same offset (consistent within a process);
    # DONT_FAKE_MONOTONIC would break Python's time.sleep (clock_nanosleep → EINVAL).
    return {"LD_PRELOAD": str(lib), "FAKETIME": f"{sign}{abs(offset_s)}s"}
