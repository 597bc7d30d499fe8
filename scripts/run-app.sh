#!/usr/bin/env bash
# Quick start, command 1: set up and run Seatmate on the embedded local demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh .ci/apt-packages-app.txt
scripts/setup-venv.sh
exec .venv/bin/seatmate "$@"
