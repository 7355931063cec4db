#!/bin/sh
# Stand-in of an internal mirror of one ROCm release of https://repo.radeon.com/rocm/apt: the
# package names the rocm role installs from AMD's repository, empty but for a rocminfo that answers
# as the real one does on a host without /dev/kfd; suites jammy and noble, signed with a throwaway key.
set -eu
root=$1
version=6.4.1~standin1
mkdir -p "$root/pool"
work=$(mktemp -d)
export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"

for name in rocm-hip-runtime rocminfo amd-smi-lib; do
  mkdir -p "$work/$name/DEBIAN"
  printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: sovereign.stack tests <tests@invalid>\nDescription: stand-in of the ROCm package %s\n' \
    "$name" "$version" "$name" > "$work/$name/DEBIAN/control"
  if [ "$name" = rocminfo ]; then
    mkdir -p "$work/$name/opt/rocm/bin"
    printf '#!/bin/sh\necho "ROCk module is NOT loaded, possibly no GPU devices" >&2\nexit 1\n' \
      > "$work/$name/opt/rocm/bin/rocminfo"
    chmod 0755 "$work/$name/opt/rocm/bin/rocminfo"
  fi
  dpkg-deb --root-owner-group --build "$work/$name" "$root/pool/${name}_${version}_amd64.deb" >/dev/null
done

packages="$work/Packages"
: > "$packages"
for deb in "$root"/pool/*.deb; do
  {
    dpkg-deb -f "$deb"
    printf 'Filename: pool/%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$deb")" "$(stat -c %s "$deb")" \
      "$(sha256sum "$deb" | cut -d' ' -f1)"
  } >> "$packages"
done

gpg --batch --quiet --passphrase '' --quick-gen-key 'rocm stand-in mirror <tests@invalid>' rsa2048 sign never
gpg --batch --armor --export > "$root/rocm.gpg.key"
for suite in jammy noble; do
  dist="$root/dists/$suite"
  mkdir -p "$dist/main/binary-amd64"
  cp "$packages" "$dist/main/binary-amd64/Packages"
  {
    printf 'Origin: rocm-standin\nSuite: %s\nCodename: %s\nArchitectures: amd64\nComponents: main\n' "$suite" "$suite"
    printf 'Date: %s\nSHA256:\n' "$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    printf ' %s %s main/binary-amd64/Packages\n' "$(sha256sum "$packages" | cut -d' ' -f1)" "$(stat -c %s "$packages")"
  } > "$dist/Release"
  gpg --batch --yes --clearsign -o "$dist/InRelease" "$dist/Release"
done
chmod -R a+rX "$root"
gpgconf --kill gpg-agent
rm -rf "$work"
