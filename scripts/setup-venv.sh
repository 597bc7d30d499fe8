#!/usr/bin/env bash
# Creates .venv with the project installed (editable) and builds the translations.
# Usage: scripts/setup-venv.sh [extra]   e.g. "dev" for the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extra=${1:-}
spec="."; [ -n "$extra" ] && spec=".[$extra]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e "$spec"
.venv/bin/python -m app.i18n_build
