#!/usr/bin/env bash
# Quick start, command 2: set up everything and run the whole test suite.
# Installs system packages (apt), the venv with dev tools, then runs pytest in a
# private D-Bus session (the tests start their own keyring, audio, SIP and
# database services on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
scripts/setup-venv.sh dev
export QT_QPA_PLATFORM=offscreen
exec dbus-run-session -- .venv/bin/python -m pytest -p no:cacheprovider "$@"
