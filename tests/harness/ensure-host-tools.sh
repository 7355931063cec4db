#!/usr/bin/env bash
# Host tools that unit tests use for real: nft, which checks the firewall role's rendered ruleset
# with `nft -c` (a check-only transaction: nothing is loaded). As root with apt-get they are
# installed; anyone else is told, and those tests are skipped.
set -euo pipefail

missing=()
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing ${missing[*]} (used by the unit tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing host tools: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]});" \
    "the unit tests that need them are skipped." >&2
fi
