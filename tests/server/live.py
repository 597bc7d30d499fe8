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
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("SEATMATE_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgCluster:
    """A private PostgreSQL cluster on a free loopback port, trust auth, fsync off."""

    base: Path
    port: int
    _as_postgres: list[str] = field(default_factory=list)

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

    def stop(self) -> None:
        subprocess.run([*self._as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.base / "data"),
                        "-m", "immediate", "-w", "-t", "30", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def start_postgres(max_connections: int = 200) -> PgCluster:
    """Start a cluster; raises ServiceError with the reason (tests must fail, not skip)."""
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            raise ServiceError(f"PostgreSQL 15 is not installed ({PG_BIN / tool} missing): "
                               "apt-get install postgresql-15")
    base = Path(tempfile.mkdtemp(prefix="seatmate-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the cluster as the postgres OS user.
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ServiceError("no 'postgres' OS user to run PostgreSQL as") from exc
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    r = subprocess.run([*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       capture_output=True, text=True, timeout=120, check=False)
    if r.returncode != 0:
        raise ServiceError(f"initdb failed: {r.stderr[-2000:]}")
    last = ""
    for _attempt in range(3):
        port = free_port()
        opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}")
        r = subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                            "-w", "-t", "60", "-o", opts, "start"],
                           capture_output=True, text=True, timeout=90, check=False)
        if r.returncode == 0:
            return PgCluster(base=base, port=port, _as_postgres=as_postgres)
        with contextlib.suppress(OSError):
            last = (base / "log").read_text()[-2000:]
    shutil.rmtree(base, ignore_errors=True)
    raise ServiceError(f"PostgreSQL did not start: {last}")


@dataclass
class LiveServer:
    url: str
    db_url: str
    data_dir: Path
    proc: subprocess.Popen
    log_path: Path
    _tokens: dict[str, dict] = field(default_factory=dict)

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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


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
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--db", db_url, "--data-dir", str(data_dir),
         "--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--proxy-headers",
         *(extra_args or [])],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    found: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            log.write(raw)
            log.flush()
            if "listening on http://" in line and not found:
                found.append(line.split("listening on ", 1)[1].split()[0])

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    server = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"server exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
        if found:
            server = LiveServer(url=found[0], db_url=db_url, data_dir=data_dir, proc=proc, log_path=log_path)
            try:
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise ServiceError(f"server did not answer within {timeout_s} s: {log_path.read_text()[-3000:]}")
