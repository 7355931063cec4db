#!/usr/bin/env bash
# Host tools that tests use for real: nft, which checks the firewall role's rendered ruleset with
# `nft -c` (a check-only transaction: nothing is loaded); nginx, for `nginx -t` and a live Nginx in
# the tls_proxy tests; mkcert, the controller-side CA of the firewall scenario's TLS proxy; node
# with npm, which run the reference MCP filesystem server in the gateway tests and pack its bundle
# for the agent_layer scenario; restic, which tests/unit/backup runs for real (backup, drill, check,
# stale locks). As root with apt-get they are installed; anyone else is told, and
# those tests are skipped.
set -euo pipefail

missing=()
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v mkcert >/dev/null 2>&1 || missing+=(mkcert)
command -v restic >/dev/null 2>&1 || missing+=(restic)
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
