#!/usr/bin/env bash
# Build the frozen Seatmate (PyInstaller one-folder build) into dist/seatmate/.
#
#   scripts/build-installer.sh          # then: scripts/smoke-frozen.sh
#
# Needs the venv with the `dev` extra (pyinstaller): scripts/setup-venv.sh dev.
# Work files go to build/, the result to dist/seatmate/ (both gitignored).
# The .qm translations are compiled first: the spec ships resources/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "build-installer: PyInstaller is not in .venv; run: scripts/setup-venv.sh dev" >&2
  exit 1
fi
SECONDS=0
"$PY" -m app.i18n_build --force
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath build/pyinstaller --distpath dist build_installer.spec
took=$SECONDS
if [ ! -x dist/seatmate/seatmate ]; then
  echo "build-installer: dist/seatmate/seatmate was not produced" >&2
  exit 1
fi
size=$(du -sh dist/seatmate | cut -f1)
files=$(find dist/seatmate -type f | wc -l)
printf 'build-installer: dist/seatmate is %s in %d files; built in %d s\n' "$size" "$files" "$took"
