"""``seatmate-server``: run the server and administer it.

    seatmate-server serve [--db URL] [--host 127.0.0.1] [--port 8765] [--workers N]
    seatmate-server demo
    seatmate-server create-team NAME
    seatmate-server create-user USERNAME --role tsr --team NAME   (password from a prompt or stdin)
    seatmate-server create-campaign NAME
    seatmate-server import-leads --campaign NAME FILE.csv|.xlsx
    seatmate-server load-script --campaign NAME FILE.md
    seatmate-server load-codes --campaign NAME FILE.json
    seatmate-server assign-leads --campaign NAME (--evenly [--team T] | --to USER)

Every command takes ``--db URL`` (default: SQLite in the user data dir;
PostgreSQL: ``postgresql+psycopg://user@host/dbname``) and ``--data-dir``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from server.config import ServerConfig, default_data_dir, sqlite_url


def _config(args: argparse.Namespace) -> ServerConfig:
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    db_url = args.db or os.environ.get("SEATMATE_SERVER_DB") or sqlite_url(data_dir / "server.sqlite3")
    return ServerConfig(db_url=db_url, data_dir=data_dir)


def _session(cfg: ServerConfig):
    from server import migrate
    from server.db import make_engine, make_sessionmakers

    migrate.upgrade(cfg.db_url)
    writer, _ = make_sessionmakers(make_engine(cfg.db_url))
    return writer()


def _admin(args: argparse.Namespace, fn: Callable) -> int:
    from server import admin, changes

    with _session(_config(args)) as s:
        try:
            out = fn(s)
            changes.commit(s)
        except admin.AdminError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if out is not None:
        print(out)
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise SystemExit("error: passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from server import migrate

    cfg = _config(args)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(cfg.db_url)  # once, before any worker starts
    os.environ.update(cfg.to_env())
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto is TCP; with proto 0 every keep-alive response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    backend = cfg.db_url.split(":", 1)[0]
    # Tests and scripts read this line to find an ephemeral port (--port 0).
    print(f"Seatmate server listening on http://{args.host}:{port} (db: {backend}, workers: {args.workers})",
          flush=True)
    config = uvicorn.Config("server.app:from_env", factory=True, workers=args.workers,
                            log_level=args.log_level, access_log=args.access_log, backlog=2048,
                            timeout_keep_alive=30, timeout_graceful_shutdown=5, proxy_headers=args.proxy_headers,
                            forwarded_allow_ips=args.forwarded_allow_ips)
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from server import changes, demo

    cfg = _config(args)
    with _session(cfg) as s:
        result = demo.load(s)
        changes.commit(s)
    print(f"Demo loaded into {cfg.db_url.split('://', 1)[0]} ({cfg.data_dir}).")
    print(f"Leads: {result.leads.created} new, {result.leads.updated} updated, "
          f"{result.leads.unchanged} unchanged; assigned: {result.assigned}")
    if result.users:
        print("Demo accounts (shown once; change them with set-password for anything real):")
        for username, role, password in result.users:
            print(f"  {username:10} {role:5} {password}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from server import admin, changes

    with _session(_config(args)) as s:
        try:
            rep = admin.import_leads(s, args.campaign, Path(args.file))
        except admin.AdminError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        changes.commit(s)
    print(f"{rep.total} rows: {rep.created} created, {rep.updated} updated, {rep.unchanged} unchanged, "
          f"{len(rep.errors)} rejected")
    for row, msg in rep.errors:
        print(f"  row {row}: {msg}")
    for row, msg in rep.warnings:
        print(f"  row {row} (imported): {msg}")
    if args.report:
        import csv

        with open(args.report, "w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            w.writerow(["row", "error"])
            w.writerows(rep.errors)
    return 1 if rep.errors else 0


def _cmd_create_team(a: argparse.Namespace) -> int:
    from server import admin

    return _admin(a, lambda s: f"team {admin.create_team(s, a.name).name} created")


def _cmd_create_user(a: argparse.Namespace) -> int:
    from server import admin

    password = _read_password()  # never from argv: it would show in ps and shell history
    return _admin(a, lambda s: f"user {admin.create_user(s, a.username, password, a.role, a.team, a.display_name, a.sip_user).username} created")


def _cmd_set_password(a: argparse.Namespace) -> int:
    from server import admin

    password = _read_password()
    return _admin(a, lambda s: (admin.set_password(s, a.username, password), "password changed")[1])


def _cmd_create_campaign(a: argparse.Namespace) -> int:
    from server import admin

    return _admin(a, lambda s: f"campaign {admin.create_campaign(s, a.name).name} created")


def _cmd_load_script(a: argparse.Namespace) -> int:
    from server import admin

    def load(s) -> str:
        script = admin.load_script(s, a.campaign, Path(a.file), a.title)
        return f"script {script.title} v{script.version}"

    return _admin(a, load)


def _cmd_load_codes(a: argparse.Namespace) -> int:
    from server import admin

    return _admin(a, lambda s: f"{admin.load_codes(s, a.campaign, Path(a.file))} disposition codes loaded")


def _cmd_assign(a: argparse.Namespace) -> int:
    from server import admin

    return _admin(a, lambda s: "assigned: {}".format(admin.assign_leads(
        s, a.campaign, evenly=a.evenly, to=a.to, team=a.team, count=a.count, reassign=a.reassign)))


def _cmd_migrate(a: argparse.Namespace) -> int:
    _session(_config(a)).close()
    print("schema is current")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database URL (default: SQLite in the data dir)")
    common.add_argument("--data-dir", help="data dir (default: the user data dir 'Seatmate Server')")
    p = argparse.ArgumentParser(prog="seatmate-server", description="Seatmate central server")
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("serve", parents=[common], help="run the HTTP server")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8765, help="0 = any free port (printed)")
    sp.add_argument("--workers", type=int, default=1)
    sp.add_argument("--log-level", default="warning")
    sp.add_argument("--access-log", action="store_true")
    sp.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* (behind a reverse proxy)")
    sp.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    sp.set_defaults(fn=cmd_serve)

    sub.add_parser("migrate", parents=[common], help="create/upgrade the schema").set_defaults(fn=_cmd_migrate)

    sp = sub.add_parser("create-team", parents=[common])
    sp.add_argument("name")
    sp.set_defaults(fn=_cmd_create_team)

    sp = sub.add_parser("create-user", parents=[common], help="password from a prompt, or one line on stdin")
    sp.add_argument("username")
    sp.add_argument("--role", required=True, choices=["admin", "tl", "tsr"])
    sp.add_argument("--team")
    sp.add_argument("--display-name", default="")
    sp.add_argument("--sip-user")
    sp.set_defaults(fn=_cmd_create_user)

    sp = sub.add_parser("set-password", parents=[common], help="password from a prompt, or one line on stdin")
    sp.add_argument("username")
    sp.set_defaults(fn=_cmd_set_password)

    sp = sub.add_parser("create-campaign", parents=[common])
    sp.add_argument("name")
    sp.set_defaults(fn=_cmd_create_campaign)

    sp = sub.add_parser("import-leads", parents=[common], help="CSV (UTF-8/GBK) or XLSX, Chinese or English headers")
    sp.add_argument("--campaign", required=True)
    sp.add_argument("--report", help="write rejected rows (row, error) to this CSV")
    sp.add_argument("file")
    sp.set_defaults(fn=cmd_import)

    sp = sub.add_parser("load-script", parents=[common], help="a Markdown call script")
    sp.add_argument("--campaign", required=True)
    sp.add_argument("--title")
    sp.add_argument("file")
    sp.set_defaults(fn=_cmd_load_script)

    sp = sub.add_parser("load-codes", parents=[common], help="codes, targets, compliance (JSON)")
    sp.add_argument("--campaign", required=True)
    sp.add_argument("file")
    sp.set_defaults(fn=_cmd_load_codes)

    sp = sub.add_parser("assign-leads", parents=[common])
    sp.add_argument("--campaign", required=True)
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--evenly", action="store_true")
    g.add_argument("--to", metavar="USER")
    sp.add_argument("--team", help="with --evenly: only this team's agents")
    sp.add_argument("--count", type=int, help="at most this many leads")
    sp.add_argument("--reassign", action="store_true", help="also move leads that are already assigned")
    sp.set_defaults(fn=_cmd_assign)

    sp = sub.add_parser("demo", parents=[common], help="load the demo team, users, campaign and 60 leads")
    sp.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
