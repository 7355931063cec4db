#!/usr/bin/env bash
# Makes sure a Docker engine answers before molecule or the integration tests need one.
# As root on Debian/Ubuntu it installs Debian's docker.io and starts dockerd itself (CI machines
# have no init that would); anyone else gets a message saying what is missing.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "No Docker engine answers 'docker info', and you are not root, so it cannot be installed here." >&2
  echo "Install and start Docker (Debian/Ubuntu: 'sudo apt-get install docker.io'), add yourself" >&2
  echo "to the 'docker' group, log in again, and rerun." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "No Docker engine and no apt-get to install one: install Docker for your OS and rerun." >&2
    exit 1
  fi
  echo "==> Installing Docker (Debian's docker.io) and debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io debootstrap >/dev/null
fi

echo "==> Starting dockerd"
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker
else
  # No systemd as PID 1 (CI containers): run the daemon in its own session so it outlives make.
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then
    echo "==> Docker engine is up ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; its log is /var/log/dockerd.log:" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
