#!/usr/bin/env bash
# Quick start, command 2: set up everything and run the whole test suite.
# Installs system packages (apt), the venv with dev tools, then runs pytest in a
# private D-Bus session (the tests start their own keyring, audio, SIP and
# database services on loopback).
#
# pjsua2 allows one Endpoint per process and aborts on a second, so the areas
# that drive SIP run in their own pytest processes; a summary line adds them up.
# Arguments (e.g. a test path or -k EXPR) run one pytest process instead.
#
# The whole suite (what CI runs) is preceded by the static checks: `ruff check` and
# `lint-imports` (the layering contracts in pyproject.toml). The tests run either
# way; the build fails if a check failed, even when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
scripts/setup-venv.sh dev
export QT_QPA_PLATFORM=offscreen
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  exec dbus-run-session -- .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
failed_checks=()
echo "=== ruff check"
.venv/bin/ruff check . || failed_checks+=("ruff check")
echo "=== lint-imports"
.venv/bin/lint-imports --no-logo || failed_checks+=("lint-imports")
status=0
dbus-run-session -- .venv/bin/python -m tests.run_groups "$@" || status=$?
if [ ${#failed_checks[@]} -gt 0 ]; then
  echo "static checks failed: ${failed_checks[*]} (see their output above the tests)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
