#!/usr/bin/env bash
# Installs the Debian 12 packages listed in a file (default .ci/apt-packages.txt, all the tests need;
# .ci/apt-packages-app.txt is what the app alone needs). Needs root or sudo when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
list=${1:-.ci/apt-packages.txt}
mapfile -t pkgs < <(grep -v '^\s*#' "$list" | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
