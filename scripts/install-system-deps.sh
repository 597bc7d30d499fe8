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

# apt may be busy (unattended-upgrades right after a fresh Debian boots, another apt):
# wait for it instead of failing. DPkg::Lock::Timeout makes apt-get wait for dpkg's lock, but
# apt 2.6 (Debian 12) still fails at once on the package-list and archive locks, so a lock
# failure is retried too, for up to APT_LOCK_WAIT_S (600) seconds in all.
lock_wait=${APT_LOCK_WAIT_S:-600}
deadline=$((SECONDS + lock_wait))
apt_get() {
  local err status
  err=$(mktemp)
  while true; do
    status=0
    $SUDO apt-get -o DPkg::Lock::Timeout="$lock_wait" "$@" 2>"$err" || status=$?
    cat "$err" >&2
    if [ "$status" -eq 0 ]; then rm -f "$err"; return 0; fi
    if grep -qE 'Could not get lock|Unable to lock|Unable to acquire' "$err" && [ "$SECONDS" -lt "$deadline" ]; then
      echo "apt is busy (another apt or unattended-upgrades); waiting for it…" >&2
      sleep 5
      continue
    fi
    rm -f "$err"
    return "$status"
  done
}
apt_get update -q
apt_get install -y -q "${missing[@]}"
