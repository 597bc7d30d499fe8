"""``seatmate-server``: run the server and administer it.

    seatmate-server serve [--db URL] [--host 127.0.0.1] [--port 8765] [--workers N]
    seatmate-server demo
    seatmate-server simulate-floor [--url http://127.0.0.1:8765] [--agents 5] [--speed 1]
    seatmate-server create-team NAME
    seatmate-server create-user USERNAME --role tsr --team NAME   (password from a prompt or stdin)
    seatmate-server update-user USERNAME [--role tl|tsr|admin] [--team NAME | --no-team] [--disable|--enable]
    seatmate-server create-campaign NAME
    seatmate-server import-leads --campaign NAME FILE.csv|.xlsx
    seatmate-server load-script --campaign NAME FILE.md
    seatmate-server load-codes --campaign NAME FILE.json
    seatmate-server assign-leads --campaign NAME (--evenly [--team T] | --to USER)
    seatmate-server load-coaching-form --campaign NAME FILE.json
    seatmate-server backup DIR        (database + recordings + manifest.json; safe while serving)
    seatmate-server restore DIR --yes (every instance stopped; clients resync by themselves)
    seatmate-server report [--date D] [--to D] [--team T] [--format json|csv|xlsx] [-o FILE]
    seatmate-server set-sip USERNAME --domain PBX [--registrar URI] [--sip-user 1001] [--auth-user A]
                    [--transport udp|tcp|tls] [--proxy URI] [--srtp off|optional|mandatory] …
                    [--password-stdin]   (the SIP password, encrypted at rest; pulled by that user)

Every command takes ``--db URL`` (default: SQLite in the user data dir;
PostgreSQL: ``postgresql+psycopg://user@host/dbname``) and ``--data-dir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from server.config import ENV_RECORDINGS_DIR, ServerConfig, default_data_dir, sqlite_url


def _config(args: argparse.Namespace) -> ServerConfig:
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    db_url = args.db or os.environ.get("SEATMATE_SERVER_DB") or sqlite_url(data_dir / "server.sqlite3")
    recordings = getattr(args, "recordings_dir", None) or os.environ.get(ENV_RECORDINGS_DIR)
    return ServerConfig(db_url=db_url, data_dir=data_dir, recordings_path=Path(recordings) if recordings else None)


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

    cfg = dataclasses.replace(_config(args), workers=max(1, args.workers))
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
    from server import logs

    logs.install()  # uvicorn.Config has just configured logging: redact its handlers too
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


def cmd_simulate_floor(args: argparse.Namespace) -> int:
    import asyncio

    from server import changes, demo, demo_floor

    cfg = _config(args)
    with _session(cfg) as s:  # accounts and leads first, like any admin command
        names = demo_floor.ensure_agents(s, args.agents, team=args.team or demo.TEAM, password=args.password)
        changes.commit(s)
    print(f"Simulating {len(names)} agents on {args.url} ({', '.join(names)}); "
          f"log in as the demo TL (zhangwei) to watch. Ctrl+C stops.", flush=True)
    try:
        agents = asyncio.run(demo_floor.simulate(args.url, names, args.password, speed=args.speed,
                                                 duration=args.duration, seed=args.seed))
    except KeyboardInterrupt:
        return 0
    print(demo_floor.describe(agents))
    return 0


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


def _cmd_update_user(a: argparse.Namespace) -> int:
    from server import admin

    active = True if a.enable else (False if a.disable else None)

    def run(s) -> str:  # type: ignore[no-untyped-def]
        u = admin.update_user(s, a.username, role=a.role, team=a.team, no_team=a.no_team, active=active)
        return (f"user {u.username}: role {u.role}, team {u.team_id or '-'}, "
                f"{'active' if u.active else 'disabled'} (effective within seconds on every instance)")

    return _admin(a, run)


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


def _cmd_load_coaching_form(a: argparse.Namespace) -> int:
    import json

    from core.coaching import FormError
    from server import admin, coaching

    def load(s) -> str:
        campaign = admin.find_campaign(s, a.campaign)
        try:
            data = json.loads(Path(a.file).read_text(encoding="utf-8-sig"))
            row = coaching.load_form(s, campaign.id, data)
        except (OSError, ValueError, FormError) as exc:
            raise admin.AdminError(f"cannot load {a.file}: {exc}") from exc
        items = sum(len(sec["items"]) for sec in row.form["sections"])
        return f"coaching form {row.form['name']} v{row.version} ({items} items)"

    return _admin(a, load)


def cmd_report(a: argparse.Namespace) -> int:
    """The 日报表 for a scheduled export: JSON, CSV or XLSX, to a file or stdout."""
    import datetime as dt
    import json
    from zoneinfo import ZoneInfo

    from server import admin, reports

    cfg = _config(a)
    tz = a.tz or cfg.tz
    try:
        first = dt.date.fromisoformat(a.date) if a.date else dt.datetime.now(ZoneInfo(tz)).date()
        last = dt.date.fromisoformat(a.to) if a.to else first
    except ValueError:
        print("error: dates are YYYY-MM-DD", file=sys.stderr)
        return 2
    if last < first or (last - first).days >= reports.MAX_RANGE_DAYS:
        print(f"error: --to must be after --date, at most {reports.MAX_RANGE_DAYS} days", file=sys.stderr)
        return 2
    with _session(cfg) as s:
        try:
            team_id = admin.find_team(s, a.team).id if a.team else None
        except admin.AdminError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = reports.summary(s, first, last, tz, team_id, None)
    if a.format == "xlsx":
        data = reports.summary_xlsx(report)
    elif a.format == "csv":
        data = reports.summary_csv(report).encode("utf-8")
    else:
        data = json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8")
    if a.output and a.output != "-":
        Path(a.output).write_bytes(data)
        print(f"report {first}..{last}: {len(report['agents'])} agents -> {a.output}")
    else:
        if a.format == "xlsx":
            print("error: xlsx needs -o FILE", file=sys.stderr)
            return 2
        sys.stdout.buffer.write(data)
    return 0


_SIP_OPTIONS = {  # option -> core.sip_settings field
    "domain": "domain", "registrar": "registrar", "sip_user": "user", "auth_user": "auth_user",
    "display_name": "display_name", "transport": "transport", "proxy": "outbound_proxy",
    "secondary_registrar": "secondary_registrar", "srtp": "srtp", "stun": "stun_servers",
    "tls_ca_file": "tls_ca_file", "keepalive": "keepalive_s", "codecs": "codecs",
}


def _cmd_set_sip(a: argparse.Namespace) -> int:
    from server import sip_accounts

    cfg = _config(a)
    sip_accounts.configure(cfg.data_dir)
    if a.delete:
        return _admin(a, lambda s: "SIP account removed" if sip_accounts.delete_sip(s, a.username)
                      else "no SIP account")
    password = None
    if a.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")  # never from argv (ps, shell history)
    values = {field: getattr(a, opt) for opt, field in _SIP_OPTIONS.items()}
    if a.no_tls_verify:
        values["tls_verify_server"] = False

    def run(s):  # type: ignore[no-untyped-def]
        try:
            row = sip_accounts.set_sip(s, a.username, values, password)
        except sip_accounts.SipAccountError as exc:
            raise _admin_error(str(exc)) from exc
        return f"SIP account of {a.username} saved (version {row.version}); it reaches the app on its next sync"

    return _admin(a, run)


def _admin_error(text: str) -> Exception:
    from server import admin

    return admin.AdminError(text)


def _cmd_migrate(a: argparse.Namespace) -> int:
    _session(_config(a)).close()
    print("schema is current")
    return 0


def _cmd_backup(a: argparse.Namespace) -> int:
    from server import backup

    cfg = _config(a)
    try:
        manifest = backup.backup(cfg.db_url, cfg.recordings_dir, Path(a.dir))
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rec = manifest["recordings"]
    print(f"backup of the {manifest['database']} database taken at {manifest['taken_at']} "
          f"and {rec['files']} recordings ({rec['bytes']} bytes) in {a.dir}")
    return 0


def _cmd_restore(a: argparse.Namespace) -> int:
    from server import backup, migrate

    cfg = _config(a)
    if not a.yes:
        print("error: restore replaces the whole database; stop every server instance, then run it "
              "again with --yes", file=sys.stderr)
        return 2
    try:
        out = backup.restore(cfg.db_url, cfg.recordings_dir, Path(a.dir))
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    migrate.upgrade(cfg.db_url)  # a backup from an older release gets this release's schema
    print(f"restored the backup taken at {out['taken_at']} ({out['recordings_restored']} recordings); "
          f"database generation {out['generation']}: clients pull again and re-send what they pushed since")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database URL (default: SQLite in the data dir)")
    common.add_argument("--data-dir", help="data dir (default: the user data dir 'Seatmate Server')")
    common.add_argument("--recordings-dir", help="call recordings (default: <data dir>/recordings); with several "
                        "instances, one directory on shared storage (NFS …) that all of them mount")
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

    sp = sub.add_parser("backup", parents=[common],
                        help="database (pg_dump -Fc, or SQLite's backup) and recordings into a new DIR, with a manifest")
    sp.add_argument("dir")
    sp.set_defaults(fn=_cmd_backup)

    sp = sub.add_parser("restore", parents=[common],
                        help="replace the database and put the recordings back from a backup DIR (servers stopped)")
    sp.add_argument("dir")
    sp.add_argument("--yes", action="store_true", help="really replace the database")
    sp.set_defaults(fn=_cmd_restore)

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

    sp = sub.add_parser("update-user", parents=[common],
                        help="change role/team or disable; live sessions follow within seconds")
    sp.add_argument("username")
    sp.add_argument("--role", choices=["admin", "tl", "tsr"])
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--team", help="move to this team (name or id); a TSR's leads move along")
    g.add_argument("--no-team", action="store_true", help="no team (admins only)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--disable", action="store_true", help="refuse the account's logins and live tokens")
    g.add_argument("--enable", action="store_true")
    sp.set_defaults(fn=_cmd_update_user)

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

    sp = sub.add_parser("load-coaching-form", parents=[common], help="a campaign's coaching form (辅导表, JSON)")
    sp.add_argument("--campaign", required=True)
    sp.add_argument("file")
    sp.set_defaults(fn=_cmd_load_coaching_form)

    sp = sub.add_parser("report", parents=[common], help="the daily report (日报表) for a day or a range")
    sp.add_argument("--date", help="YYYY-MM-DD (default: today in the business time zone)")
    sp.add_argument("--to", help="last day of a range (default: --date)")
    sp.add_argument("--team", help="team name or id (default: all agents)")
    sp.add_argument("--tz", help="business time zone (default: the server's)")
    sp.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
    sp.add_argument("-o", "--output", help="file to write (default: stdout; xlsx needs a file)")
    sp.set_defaults(fn=cmd_report)

    sp = sub.add_parser("set-sip", parents=[common],
                        help="provision a user's SIP account (the app registers with it after its next sync)")
    sp.add_argument("username")
    sp.add_argument("--domain", help="SIP domain / PBX, e.g. pbx.example.com or 10.0.0.5:5060")
    sp.add_argument("--registrar", help="registrar URI (default sip:<domain>)")
    sp.add_argument("--secondary-registrar", help="used while the first one fails")
    sp.add_argument("--sip-user", help="SIP user / extension (default: the user's sip_user)")
    sp.add_argument("--auth-user", help="digest user when it differs")
    sp.add_argument("--display-name")
    sp.add_argument("--transport", choices=("udp", "tcp", "tls"))
    sp.add_argument("--proxy", help="outbound proxy URI, e.g. sip:proxy.example.com;lr")
    sp.add_argument("--srtp", choices=("off", "optional", "mandatory"))
    sp.add_argument("--stun", help="STUN servers, comma-separated host[:port]")
    sp.add_argument("--tls-ca-file", help="CA (PEM) path on the agents' workstations")
    sp.add_argument("--no-tls-verify", action="store_true", help="do not verify the PBX's TLS certificate")
    sp.add_argument("--keepalive", type=int, help="keep-alive seconds (5..3600)")
    sp.add_argument("--codecs", help="preferred codecs, comma-separated, e.g. PCMA,PCMU")
    sp.add_argument("--password-stdin", action="store_true", help="read the SIP password from one line of stdin")
    sp.add_argument("--delete", action="store_true", help="remove the user's SIP account")
    sp.set_defaults(fn=_cmd_set_sip)

    sp = sub.add_parser("demo", parents=[common], help="load the demo team, users, campaign and 60 leads")
    sp.set_defaults(fn=cmd_demo)

    sp = sub.add_parser("simulate-floor", parents=[common],
                        help="simulated agents of the demo team working over HTTP (a living floor for the TL)")
    sp.add_argument("--url", default="http://127.0.0.1:8765", help="the running server")
    sp.add_argument("--agents", type=int, default=5, help="how many (the demo has 5; more are created)")
    sp.add_argument("--team", help="their team (default: the demo team)")
    sp.add_argument("--password", default="demo-2026", help="their password (demo accounts)")
    sp.add_argument("--speed", type=float, default=1.0, help="2 = everything twice as fast")
    sp.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = Ctrl+C)")
    sp.add_argument("--seed", type=int)
    sp.set_defaults(fn=cmd_simulate_floor)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from server import logs

    logs.install()  # the same redaction as the app's logs (core.redact)
    args = build_parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
