#!/usr/bin/env bash
# Smoke test of the frozen build made by scripts/build-installer.sh:
#
#   scripts/build-installer.sh && scripts/smoke-frozen.sh
#
# Starts dist/seatmate/seatmate headless (Qt offscreen) with a private HOME in a
# private D-Bus session (with its own gnome-keyring) and checks what a user would
# see: demo leads in a Chinese window, the Alembic-migrated cache, the registered
# pjsua2 softphone, the keyring, `seatmate import-leads`, an English restart.
# Details: tests/frozen/smoke_frozen.py. Exit 0 = passed.
set -euo pipefail
cd "$(dirname "$0")/.."
exec dbus-run-session -- .venv/bin/python tests/frozen/smoke_frozen.py "$@"
