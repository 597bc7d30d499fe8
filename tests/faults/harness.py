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
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.processes import ExternalProcess, ProcessError, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SERVER_CLI = VENV_BIN / "seatmate-server"

__all__ = ["HarnessError", "KeyringDaemon", "ServerProcess", "faketime_env", "free_port", "secret_service"]


class HarnessError(ProcessError):
    pass


def server_cli() -> list[str]:
    if not SERVER_CLI.exists():
        raise HarnessError(
            f"{SERVER_CLI} is missing: run `.venv/bin/pip install -e '.[dev]'` so the seatmate-server script exists"
        )
    return [str(SERVER_CLI)]


class ServerProcess(ExternalProcess):
    """Ready when /healthz answers; ``kill`` is SIGKILL, ``restart`` keeps port and database."""

    name = "seatmate-server"
    ready_timeout = 60.0

    def __init__(self, workdir: Path, *, db_url: str | None = None, log_name: str = "server.log") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.workdir / "server.sqlite3"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.data_dir = self.workdir / "server-data"
        self.port = free_port()
        self.starts = 0
        super().__init__(cwd=self.workdir, log_path=self.workdir / log_name)

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

    def command(self) -> list[str]:
        return [*server_cli(), "serve", "--db", self.db_url, "--data-dir", str(self.data_dir),
                "--host", "127.0.0.1", "--port", str(self.port)]

    def environment(self) -> dict[str, str]:
        return self.env()

    def start(self, timeout: float | None = None) -> ServerProcess:
        self.starts += 1
        return super().start(timeout)

    def ready(self, timeout: float) -> None:
        def healthy() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
            return False

        self.wait_for(healthy, timeout, description=f"{self.url}/healthz")

    def restart(self) -> None:
        self.kill()
        self.start()


def _ask_session_bus(method: str) -> object:
    """The answer of the session bus daemon's ``method`` about org.freedesktop.secrets
    (DBusErrorResponse if it has none)."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    with open_dbus_connection(bus="SESSION") as conn:
        (answer,) = unwrap_msg(conn.send_and_get_reply(getattr(message_bus, method)("org.freedesktop.secrets")))
    return answer


def secret_service_up() -> bool:
    """Is org.freedesktop.secrets owned on the session bus? (Asking NameHasOwner, unlike a
    secretstorage call, does not D-Bus-activate a locked default daemon.)"""
    return bool(_ask_session_bus("NameHasOwner"))


class KeyringDaemon(ExternalProcess):
    """gnome-keyring-daemon (Secret Service only) on the current session bus, unlocked with a
    throwaway password, its keyrings under ``home``; ready when it owns org.freedesktop.secrets."""

    name = "gnome-keyring-daemon"
    ready_timeout = 15.0
    stop_timeout = 5.0

    def __init__(self, home: Path, *, env: dict[str, str] | None = None) -> None:
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            raise HarnessError("no D-Bus session bus: run under dbus-run-session (scripts/test.sh does)")
        daemon = shutil.which("gnome-keyring-daemon")
        if daemon is None:
            raise HarnessError("gnome-keyring-daemon is not installed (apt: gnome-keyring)")
        run = home / "run"
        run.mkdir(parents=True, mode=0o700, exist_ok=True)
        env = dict(os.environ if env is None else env, HOME=str(home), XDG_DATA_HOME=str(home / "data"),
                   XDG_RUNTIME_DIR=str(run))
        super().__init__([daemon, "--unlock", "--components=secrets", "--foreground"], env=env, stdin=True,
                         log_path=home / "gnome-keyring.log")

    def ready(self, timeout: float) -> None:
        self.send("test-unlock-password", newline=False)  # --unlock reads it up to the end of stdin
        self.close_stdin()
        self.wait_for(secret_service_up, timeout, description="org.freedesktop.secrets on the session bus")

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the daemon and wait until the bus has let its name go: the bus notices a dead
        owner a moment after it exits, and a test that looks in that moment would take the
        dying daemon for a running one."""
        status = super().stop(timeout)
        wait_until(lambda: not secret_service_up(), 5.0, description="org.freedesktop.secrets released")
        return status


def _default_collection_unlocked() -> bool:
    """Can the Secret Service on the bus store a secret without asking anybody? (Its default
    collection exists and is unlocked. Looking, unlike ``get_default_collection``, never makes
    the daemon prompt to create one.)"""
    import secretstorage

    try:
        with contextlib.closing(secretstorage.dbus_init()) as conn:
            return not secretstorage.Collection(conn).is_locked()
    except Exception:  # any failure means "not usable as it is"
        return False


def _stop_secret_service_owner(timeout: float = 5.0) -> None:
    """SIGTERM whichever process owns org.freedesktop.secrets and wait until the name is free."""
    from jeepney.wrappers import DBusErrorResponse

    try:
        os.kill(int(_ask_session_bus("GetConnectionUnixProcessID")), signal.SIGTERM)
    except (DBusErrorResponse, ProcessLookupError):
        pass  # it left on its own meanwhile
    wait_until(lambda: not secret_service_up(), timeout, description="the unusable Secret Service gone")


@contextlib.contextmanager
def secret_service(home: Path) -> Iterator[None]:
    """A real gnome-keyring Secret Service on the current session bus, as this process's
    keyring backend: the one already there if it can store without a prompt, else ours.

    A keyring call made while no daemon owns the name (a process still shutting down after
    an earlier test stopped ours) D-Bus-activates the system's gnome-keyring, which has no
    login collection here and can only prompt, without a display: every later login would
    fail with "Prompt dismissed". Such a daemon is replaced."""
    daemon = None
    if secret_service_up() and not _default_collection_unlocked():
        _stop_secret_service_owner()
    if not secret_service_up():
        daemon = KeyringDaemon(home).start()
    import keyring
    from keyring.backends import SecretService

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        if daemon is not None:
            daemon.stop()


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
