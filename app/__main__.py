"""Entry point: ``seatmate`` and ``python -m app``.

A bare ``tel:…`` / ``sip:…`` / ``callto:…`` argument (what the OS passes when
the user clicks such a link) is turned into ``dial <url>`` before parsing.
"""

from __future__ import annotations

import re
import sys

# Same schemes as app.single_instance; not imported from there to keep CLI start-up light.
_DIAL_URL = re.compile(r"^(tel|sip|sips|callto):", re.I)


def _rewrite_urls(argv: list[str]) -> list[str]:
    out = []
    for i, arg in enumerate(argv):
        if _DIAL_URL.match(arg.strip()) and (i == 0 or argv[i - 1] != "dial"):
            out += ["dial", arg]
        else:
            out.append(arg)
    return out


def launch_gui(args) -> int:
    if getattr(args, "self_test", False):
        from app.self_test import run_self_test

        return run_self_test(args)
    from app.application import launch_gui as run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    from app.cli import run_cli

    argv = _rewrite_urls(list(sys.argv[1:] if argv is None else argv))
    return run_cli(argv, launch_gui)


if __name__ == "__main__":
    raise SystemExit(main())
