"""Real servers for tests and benchmarks: a throwaway PostgreSQL cluster and the
Seatmate server as a subprocess (``seatmate-server serve --port 0``).

Used by tests/server/conftest.py and tests/bench/bench_server_load.py; other
areas (sync/) may import it too.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.processes import ExternalProcess, ProcessError, free_port

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("SEATMATE_PG_BIN", "/usr/lib/postgresql/15/bin"))

__all__ = ["LiveServer", "PgCluster", "ServiceError", "free_port", "start_postgres", "start_server"]


class ServiceError(ProcessError):
    pass


class PgCluster(ExternalProcess):
    """A private PostgreSQL cluster on a free loopback port, trust auth, fsync off: the
    ``postgres`` server in the foreground, ready at its "ready to accept connections" line.
    ``stop`` is an immediate shutdown (SIGQUIT), then the cluster's folder goes."""

    name = "postgres"
    stop_signal = signal.SIGQUIT
    stop_timeout = 30.0
    ready_timeout = 60.0

    def __init__(self, base: Path, port: int, *, user: str | None = None, max_connections: int = 200) -> None:
        self.base = base
        self.port = port
        super().__init__(
            [str(PG_BIN / "postgres"), "-D", str(base / "data"), "-p", str(port), "-k", str(base),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", f"max_connections={max_connections}"],
            cwd=base, log_path=base / "log", user=user)

    def ready(self, timeout: float) -> None:
        self.wait_for("database system is ready to accept connections", timeout)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        name = name or f"seatmate_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self, timeout: float | None = None) -> int | None:
        code = super().stop(timeout)
        shutil.rmtree(self.base, ignore_errors=True)
        return code


def start_postgres(max_connections: int = 200) -> PgCluster:
    """Start a cluster; raises ServiceError with the reason (tests must fail, not skip)."""
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            raise ServiceError(f"PostgreSQL 15 is not installed ({PG_BIN / tool} missing): "
                               "apt-get install postgresql-15")
    base = Path(tempfile.mkdtemp(prefix="seatmate-pg-"))
    user = None
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the cluster as the postgres OS user.
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ServiceError("no 'postgres' OS user to run PostgreSQL as") from exc
        os.chown(base, pw.pw_uid, pw.pw_gid)
        user = "postgres"
    as_user = {"user": user, "group": user, "extra_groups": []} if user else {}
    r = subprocess.run([str(PG_BIN / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       capture_output=True, text=True, timeout=120, check=False, cwd=base, **as_user)
    if r.returncode != 0:
        raise ServiceError(f"initdb failed: {r.stderr[-2000:]}")
    last: ProcessError | None = None
    for _attempt in range(3):  # the free port may be taken by the time postgres binds it
        cluster = PgCluster(base, free_port(), user=user, max_connections=max_connections)
        try:
            return cluster.start()
        except ProcessError as exc:
            last = exc
    shutil.rmtree(base, ignore_errors=True)
    raise ServiceError(f"PostgreSQL did not start: {last}")


class LiveServer(ExternalProcess):
    """``seatmate-server serve --port 0``: ``url`` comes from its "listening on" line;
    ready when /healthz answers."""

    name = "seatmate-server"
    stop_timeout = 15.0
    ready_timeout = 60.0

    def __init__(self, db_url: str, data_dir: Path, *, workers: int = 1, extra_args: list[str] | None = None) -> None:
        self.url = ""
        self.db_url = db_url
        self.data_dir = data_dir
        self._tokens: dict[str, dict] = {}
        super().__init__(
            [sys.executable, "-m", "server.cli", "serve", "--db", db_url, "--data-dir", str(data_dir),
             "--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--proxy-headers",
             *(extra_args or [])],
            cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), log_path=data_dir / "server.log")

    def ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.url = self.wait_for(r"listening on (http://\S+)", timeout).group(1)

        def healthy() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            return False

        self.wait_for(healthy, deadline - time.monotonic(), interval=0.1, description=f"{self.url}/healthz")

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30), **kw)

    def login(self, username: str, password: str = "demo-2026", *, fresh: bool = False) -> dict:
        """The login response (tokens + user); cached per user unless fresh."""
        if not fresh and username in self._tokens:
            return self._tokens[username]
        with self.client() as c:
            r = c.post("/api/v1/auth/login", json={"username": username, "password": password,
                                                   "device_id": "test"})
        if r.status_code != 200:
            raise AssertionError(f"login {username}: {r.status_code} {r.text}")
        if not fresh:
            self._tokens[username] = r.json()
        return r.json()

    def headers(self, username: str, password: str = "demo-2026") -> dict[str, str]:
        return {"Authorization": "Bearer " + self.login(username, password)["access_token"]}

    @contextlib.contextmanager
    def admin(self) -> Iterator:
        """A write session on the server's DB (setup only); commits with its sync changes."""
        from server import changes
        from server.db import make_engine, make_sessionmakers

        engine = make_engine(self.db_url)
        writer, _ = make_sessionmakers(engine)
        try:
            with writer() as s:
                yield s
                changes.commit(s)
        finally:
            engine.dispose()

    def log_tail(self, n: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""


def start_server(db_url: str, data_dir: Path, *, workers: int = 1, demo: bool = True,
                 extra_args: list[str] | None = None, timeout_s: float = 60) -> LiveServer:
    """Migrate (and load the demo), then run ``seatmate-server serve --port 0`` and
    wait until it answers /healthz."""
    from server import changes, migrate
    from server import demo as demo_mod
    from server.db import make_engine, make_sessionmakers

    data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(db_url)
    if demo:
        engine = make_engine(db_url)
        writer, _ = make_sessionmakers(engine)
        with writer() as s:
            demo_mod.load(s)
            changes.commit(s)
        engine.dispose()
    try:
        return LiveServer(db_url, data_dir, workers=workers, extra_args=extra_args).start(timeout_s)
    except ProcessError as exc:
        raise ServiceError(str(exc)) from exc
