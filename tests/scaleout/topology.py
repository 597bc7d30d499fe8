"""A floor's server side on loopback: N ``seatmate-server serve`` instances on one
database and one shared recordings directory, behind a real nginx.

    with floor_topology(tmp, instances=2, db_url=cluster.create_database()) as topo:
        httpx.get(topo.proxy_url + "/healthz")
        topo.kill(0)        # SIGKILL instance 0, mid-whatever
        topo.restart(0)     # same port again: nginx takes it back after fail_timeout

nginx runs ``packaging/nginx-seatmate.conf`` itself (only its ``listen`` line and its
upstream ``server`` lines are replaced), so the example we ship is the one tested.
Used by tests/scaleout/ and by the load benchmark / backup tests (tests/bench).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.processes import ExternalProcess, ProcessError, free_port
from tests.server.live import ROOT, LiveServer, ServiceError

NGINX = Path(os.environ.get("SEATMATE_NGINX", "/usr/sbin/nginx"))
TEMPLATE = ROOT / "packaging" / "nginx-seatmate.conf"

__all__ = ["Instance", "NginxProcess", "Topology", "floor_topology", "render_site"]

# The upstream's instance lines ("server 127.0.0.1:8765 max_fails=1 …;"), not `server {`/server_name.
_UPSTREAM_SERVER = re.compile(r"^(?P<indent>[ \t]*)server[ \t]+(?P<addr>[\w.\-\[\]:]+:\d+)(?P<opts>[^;\n]*);[ \t]*$",
                              re.MULTILINE)
_LISTEN = re.compile(r"^(?P<indent>[ \t]*)listen[ \t]+80;[ \t]*$", re.MULTILINE)


def render_site(template: str, upstreams: list[str], listen: str) -> str:
    """The shipped site config with our instances and our listen address (both must be found)."""
    found = list(_UPSTREAM_SERVER.finditer(template))
    if not found or len(_LISTEN.findall(template)) != 1:
        raise ValueError(f"{TEMPLATE} no longer has one `listen 80;` and an upstream with `server host:port;` lines")
    first = found[0]
    lines = "\n".join(f"{first['indent']}server {addr}{first['opts']};" for addr in upstreams)
    out = template[:first.start()] + lines + template[found[-1].end():]
    # (the lines between the first and the last instance line are instance lines too)
    return _LISTEN.sub(lambda m: f"{m['indent']}listen {listen};", out)


class NginxProcess(ExternalProcess):
    """``nginx -p <dir> -c <conf> -g 'daemon off;'`` on a free loopback port in front of
    ``upstreams`` (``host:port``), with the shipped site config. Its access log
    (``access_log``: one line per request with the instance that answered) is a file,
    so a load test's requests cost this Python process nothing."""

    name = "nginx"
    stop_signal = 15  # SIGTERM: fast shutdown (SIGQUIT would wait for open SSE streams)
    stop_timeout = 10.0
    ready_timeout = 20.0

    def __init__(self, base: Path, upstreams: list[str], *, port: int | None = None,
                 template: Path = TEMPLATE) -> None:
        self.base = base
        self.upstreams = list(upstreams)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.template = template
        self.conf_path = base / "nginx.conf"
        self.site_path = base / "seatmate.conf"
        self.access_log = base / "logs" / "access.log"
        for sub in ("logs", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.write_config()
        super().__init__([str(NGINX), "-p", str(base), "-c", str(self.conf_path), "-e", "stderr",
                          "-g", "daemon off;"], cwd=base, log_path=base / "logs" / "nginx.out")

    def write_config(self) -> None:
        site = render_site(self.template.read_text(encoding="utf-8"), self.upstreams, f"127.0.0.1:{self.port}")
        self.site_path.write_text(site, encoding="utf-8")
        tmp = self.base / "tmp"
        # As root the workers would switch to `nobody`, who cannot enter our 0700 temp dirs.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf_path.write_text(f"""{user}worker_processes 1;
pid {self.base / 'nginx.pid'};
error_log stderr notice;
events {{ worker_connections 4096; }}
http {{
    log_format seatmate '$msec $status "$request" up=$upstream_addr upstatus=$upstream_status rt=$request_time';
    access_log {self.access_log} seatmate;
    client_body_temp_path {tmp / 'body'};
    proxy_temp_path {tmp / 'proxy'};
    fastcgi_temp_path {tmp / 'fastcgi'};
    uwsgi_temp_path {tmp / 'uwsgi'};
    scgi_temp_path {tmp / 'scgi'};
    include {self.site_path};
}}
""", encoding="utf-8")

    def check_config(self) -> None:
        """``nginx -t`` on the generated config (a broken template fails here, with nginx's words)."""
        import subprocess

        r = subprocess.run([str(NGINX), "-p", str(self.base), "-c", str(self.conf_path), "-e", "stderr", "-t"],
                           capture_output=True, text=True, timeout=30, check=False)
        if r.returncode != 0:
            raise ProcessError(f"nginx -t failed:\n{r.stderr}")

    def command(self) -> list[str]:
        if not NGINX.exists():
            raise ProcessError(f"nginx is not installed ({NGINX}): apt-get install nginx-light")
        return super().command()

    def ready(self, timeout: float) -> None:
        def answers() -> bool:
            # Any answer counts (502 while no instance is up yet): nginx itself is listening.
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.url + "/healthz", timeout=2)
                return True
            return False

        self.wait_for(answers, timeout, interval=0.05, description=f"{self.url}/healthz through nginx")

    def reload(self) -> None:
        """Re-read the config (SIGHUP), e.g. after ``upstreams`` changed and ``write_config``."""
        self.signal(1)

    def upstream_hits(self) -> collections.Counter[str]:
        """Requests per instance address from the access log (a retried request names both)."""
        hits: collections.Counter[str] = collections.Counter()
        with contextlib.suppress(OSError):
            for line in self.access_log.read_text(errors="replace").splitlines():
                m = re.search(r" up=(.*?) upstatus=", line)
                # "$upstream_addr": "a:1, b:2" after a retry (", "), " : " across internal redirects
                for addr in re.split(r", | : ", m.group(1)) if m else ():
                    if addr not in ("", "-"):
                        hits[addr] += 1
        return hits


class Instance(LiveServer):
    """One instance of the topology: a fixed port (so nginx finds it again after a restart),
    the shared recordings directory and the shared SIP key (SEATMATE_SERVER_SIP_KEY)."""

    def __init__(self, db_url: str, data_dir: Path, *, port: int, recordings_dir: Path, sip_key: str,
                 workers: int = 1, extra_args: list[str] | None = None) -> None:
        self.port = port
        super().__init__(db_url, data_dir, workers=workers,
                         extra_args=["--port", str(port), "--recordings-dir", str(recordings_dir),
                                     *(extra_args or [])])
        self._env = dict(self._env or os.environ, SEATMATE_SERVER_SIP_KEY=sip_key)
        self.url = f"http://127.0.0.1:{port}"


@dataclass
class Topology:
    proxy: NginxProcess
    servers: list[LiveServer]
    recordings_dir: Path
    db_url: str
    ports: list[int] = field(default_factory=list)

    @property
    def proxy_url(self) -> str:
        return self.proxy.url

    @property
    def instance_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def kill(self, i: int) -> None:
        """SIGKILL instance i (and whatever it forked): no shutdown, open requests cut."""
        self.servers[i].kill()

    def restart(self, i: int, timeout: float = 60.0) -> LiveServer:
        """Start instance i again on its port (stopped politely first if it still runs)."""
        srv = self.servers[i]
        if srv.alive():
            srv.stop()
        _start_bound(srv, timeout)
        return srv

    def alive(self) -> list[bool]:
        return [s.alive() for s in self.servers]


def _start_bound(srv: LiveServer, timeout: float) -> None:
    # A port left in TIME_WAIT by the killed process is fine (serve sets SO_REUSEADDR);
    # a bind that races another program's is retried briefly.
    deadline = time.monotonic() + timeout
    while True:
        try:
            srv.start(max(5.0, deadline - time.monotonic()))
            return
        except ProcessError as exc:
            if "Address already in use" not in srv.tail() or time.monotonic() > deadline - 5:
                raise ServiceError(str(exc)) from exc
            time.sleep(0.5)


def prepare_database(db_url: str, *, demo: bool = True) -> None:
    """Schema (and the demo floor) once, before any instance starts."""
    from server import changes, migrate
    from server import demo as demo_mod
    from server.db import make_engine, make_sessionmakers

    migrate.upgrade(db_url)
    if demo:
        engine = make_engine(db_url)
        writer, _ = make_sessionmakers(engine)
        try:
            with writer() as s:
                demo_mod.load(s)
                changes.commit(s)
        finally:
            engine.dispose()


@contextlib.contextmanager
def floor_topology(tmp: Path, *, instances: int = 2, db_url: str, demo: bool = True,
                   workers: int = 1, extra_args: list[str] | None = None,
                   timeout_s: float = 90.0) -> Iterator[Topology]:
    """Migrate (and load the demo) once, start ``instances`` servers on one database and one
    recordings directory (``tmp/recordings``), then nginx in front; all stopped on exit."""
    tmp.mkdir(parents=True, exist_ok=True)
    prepare_database(db_url, demo=demo)
    recordings = tmp / "recordings"
    recordings.mkdir(exist_ok=True)
    sip_key = base64.urlsafe_b64encode(os.urandom(32)).decode()  # a Fernet key, shared like the DB
    servers: list[LiveServer] = []
    proxy: NginxProcess | None = None
    try:
        for i in range(instances):
            servers.append(Instance(db_url, tmp / f"instance-{i}", port=free_port(), recordings_dir=recordings,
                                    sip_key=sip_key, workers=workers, extra_args=extra_args))
        # Launched together, then waited for: N imports of the app in parallel on 2 cores.
        for srv in servers:
            srv._launch()
        deadline = time.monotonic() + timeout_s
        for srv in servers:
            try:
                srv.ready(max(5.0, deadline - time.monotonic()))
            except ProcessError:
                srv.kill()
                _start_bound(srv, max(5.0, deadline - time.monotonic()))  # e.g. its port was taken meanwhile
        ports = [srv.port for srv in servers]  # type: ignore[attr-defined]
        proxy = NginxProcess(tmp / "nginx", [f"127.0.0.1:{port}" for port in ports])
        proxy.start()
        yield Topology(proxy=proxy, servers=servers, recordings_dir=recordings, db_url=db_url, ports=ports)
    finally:
        if proxy is not None:
            proxy.stop()
        for srv in servers:
            with contextlib.suppress(Exception):
                srv.stop()
