#!/usr/bin/env bash
# Prints the name of a Debian systemd test image for SUITE (bookworm = Debian 12, trixie =
# Debian 13, sid for packages only sid has, such as llama.cpp), building it once if needed.
# No registry is reachable here, so the image is made with debootstrap and `docker import`.
#
# The image tag carries a content key (this script + the package list), so a change to either
# builds a new image and an unchanged tree reuses the old one. The root filesystem tarball is kept
# in the cache directory too, so even a wiped Docker store only costs an import, not a debootstrap.
#
# SOVEREIGN_TEST_IMAGE_<SUITE> (e.g. SOVEREIGN_TEST_IMAGE_BOOKWORM) names an image of your own
# (from your registry) and skips all of this. systemd wants SIGRTMIN+3 to stop; Docker 20.10 cannot
# set that on import, so the container settings (molecule/_shared) carry it.
set -euo pipefail

suite=${1:?usage: base-image.sh SUITE}
override_var="SOVEREIGN_TEST_IMAGE_${suite^^}"
if [ -n "${!override_var:-}" ]; then
  echo "${!override_var}"
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
mirror=${SOVEREIGN_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Baked in once instead of installed by every scenario: what systemd, Ansible (python3-apt for the
# apt module) and most roles' verification steps need.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates,curl,gnupg,less
key=$( { cat "$0"; echo "$packages"; echo "$mirror"; } | sha256sum | cut -c1-12)
image="sovereign-test/debian:${suite}-${key}"
cache_dir=${SOVEREIGN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sovereign-stack}/images
tarball="$cache_dir/debian-${suite}-${key}.tar"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

mkdir -p "$cache_dir"
if [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "debootstrap is needed to build the $suite test image (apt-get install debootstrap)." >&2
    exit 1
  fi
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "==> debootstrap $suite into $rootfs (about a minute)" >&2
  extra=()
  # sid's Release file in the reachable archive snapshot is older than the clock.
  [ "$suite" = sid ] && extra+=(--no-check-gpg)
  log="$cache_dir/debootstrap-${suite}.log"
  if ! debootstrap --variant=minbase --include="$packages" "${extra[@]}" "$suite" "$rootfs" "$mirror" \
      >"$log" 2>&1; then
    echo "debootstrap of $suite failed; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  # Containers have no console or udev; these units only slow boot and fail.
  for unit in getty.target systemd-udevd.service systemd-udev-trigger.service systemd-remount-fs.service \
              systemd-firstboot.service sys-kernel-config.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  echo "$suite" > "$rootfs/etc/sovereign-test-image"
  if [ "$suite" = sid ]; then
    # The reachable archive snapshot of sid is older than the clock (its Release is "expired").
    echo 'Acquire::Check-Valid-Until "false";' > "$rootfs/etc/apt/apt.conf.d/99sovereign-snapshot"
  fi
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
# Images and tarballs of earlier keys are dead weight (about 330 MB each).
docker images --format '{{.Repository}}:{{.Tag}}' "sovereign-test/debian" | grep ":${suite}-" \
  | xargs -r docker rmi >/dev/null 2>&1 || true
find "$cache_dir" -name "debian-${suite}-*.tar" ! -name "debian-${suite}-${key}.tar" -delete
echo "==> docker import $tarball as $image" >&2
docker import --change 'CMD ["/lib/systemd/systemd"]' \
  "$tarball" "$image" >/dev/null
echo "$image"
