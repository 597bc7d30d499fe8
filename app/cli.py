"""Command line: ``seatmate [--data-dir DIR] [--lang zh_CN|en] [COMMAND]``.

Commands:
  (none)          open the window
  dial NUMBER     open the window (or hand the number to the running one) and dial
  import-leads    import a CSV/XLSX lead file into a local campaign
  load-demo       load the bundled demo data into the cache
  --self-test     start the window, wait until leads, workspace and phone are up,
                  print one JSON line and exit (0 = all up); see app/self_test.py

The GUI is started through the ``launch_gui`` hook that app/__main__.py
passes in, so this module (and the non-GUI commands) never import Qt. The
entry point is ``app.__main__.main`` (this module never imports its caller).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

GUI_COMMANDS = (None, "dial")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("seatmate")
    except Exception:
        return "0.1.0"


def _add_common(p: argparse.ArgumentParser, top: bool) -> None:
    # Accepted before or after the command; SUPPRESS keeps a sub-command from resetting the value.
    default = None if top else argparse.SUPPRESS
    p.add_argument("--data-dir", type=Path, default=default, metavar="DIR",
                   help="keep the cache, settings and logs in DIR (also: SEATMATE_DATA_DIR)")
    p.add_argument("--lang", choices=("zh_CN", "en"), default=default,
                   help="user interface language (default: the setting, else Chinese)")
    p.add_argument("--server", default=default, metavar="URL",
                   help="the team's server, e.g. http://192.168.1.10:8765 (asks to log in when needed)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seatmate", description="Seatmate 坐席助手 — telesales desktop companion.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_common(parser, top=True)
    parser.add_argument("--self-test", action="store_true",
                        help="start, wait until the leads, workspace and phone are up, print a JSON report, exit")
    parser.add_argument("--self-test-timeout", type=float, default=60.0, metavar="S", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    dial = sub.add_parser("dial", help="dial a number in the running window (tel:/sip: links too)")
    dial.add_argument("number", help="a phone number, tel: or sip: URL")
    _add_common(dial, top=False)

    imp = sub.add_parser("import-leads", help="import leads from a CSV (UTF-8/GBK) or XLSX file")
    imp.add_argument("file", type=Path, help="the .csv or .xlsx file")
    imp.add_argument("--campaign", required=True, metavar="NAME", help="campaign to import into (created if new)")
    imp.add_argument("--json", action="store_true", help='print {"imported": N, "skipped": [...]} only')
    _add_common(imp, top=False)

    demo = sub.add_parser("load-demo", help="load the bundled demo campaign and leads")
    demo.add_argument("--force", action="store_true", help="reload even if already loaded")
    _add_common(demo, top=False)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    for name in ("data_dir", "lang", "server"):
        if not hasattr(args, name):
            setattr(args, name, None)
    return args


def run_cli(argv: Sequence[str] | None, launch_gui: Callable[[argparse.Namespace], int]) -> int:
    args = parse_args(argv)
    if args.command in GUI_COMMANDS:
        return launch_gui(args)
    if args.command == "import-leads":
        return _import_leads(args)
    if args.command == "load-demo":
        return _load_demo(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects unknown ones


def _open_repository(args: argparse.Namespace):
    from app import logging_setup
    from app.paths import AppPaths
    from cache.db import open_cache
    from cache.repository import Repository

    paths = AppPaths.resolve(args.data_dir).ensure()
    logging_setup.configure(paths, console=False)
    handle = open_cache(paths.cache_db, language=args.lang or "zh_CN")
    if handle.repair_notice:
        print(handle.repair_notice, file=sys.stderr)
    return handle, Repository(handle)


def _import_leads(args: argparse.Namespace) -> int:
    from app.lead_import import import_file
    from core.lead_file import ImportFileError, parse_file

    # Read the file before touching the cache: an unreadable file changes nothing.
    try:
        parsed = parse_file(args.file)
    except ImportFileError as exc:
        print(f"seatmate: {exc}", file=sys.stderr)
        return 1
    handle, repo = _open_repository(args)
    try:
        result = import_file(repo, Path(args.file), args.campaign, parsed)
    except ImportFileError as exc:
        print(f"seatmate: {exc}", file=sys.stderr)
        return 1
    finally:
        handle.close()
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return 0
    print(f"Imported {result.imported} leads into “{args.campaign}” "
          f"({result.inserted} new, {result.updated} updated); skipped {len(result.skipped)} rows.")
    for s in result.skipped:
        print(f"  line {s.line}: {s.reason}")
    for w in result.warnings:
        print(f"  line {w.line} (imported): {w.reason}")
    return 0


def _load_demo(args: argparse.Namespace) -> int:
    from app.demo.campaign import load_demo

    handle, repo = _open_repository(args)
    try:
        campaign_id = load_demo(repo, force=args.force)
        count = next((c.lead_count for c in repo.campaigns() if c.id == campaign_id), 0)
    finally:
        handle.close()
    print(f"Demo data loaded: campaign {campaign_id}, {count} leads.")
    return 0
