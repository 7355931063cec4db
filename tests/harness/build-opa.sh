#!/usr/bin/env bash
# Prints the path of a real, static `opa` binary (OPA 1.4.2), building it once if needed.
# No OPA release can be downloaded here, but Debian sid ships OPA's complete Go source as
# golang-github-open-policy-agent-opa-dev, with every Go dependency in its Depends. So the binary
# is built in a throw-away sid container from Debian's source package (shared/ENVIRONMENT.md):
#   - GOPATH mode (GO111MODULE=off, GOPROXY=off): nothing but Debian's packages is compiled;
#   - bookworm's tablewriter 0.0.5 first on the GOPATH: sid's 1.1.5 breaks three files of OPA;
#   - a copy of OPA's main package starting with `//go:debug default=go1.23`: without a go.mod
#     Go applies the go1.20 defaults of its GODEBUG settings (older TLS/crypto behaviour).
#
# The result lands in <cache>/opa/<content key>/opa, the key being a hash of this script, so a
# changed recipe builds anew and an unchanged one reuses the binary. The .debs go through the same
# shared apt archive cache as the molecule containers (molecule/_shared/create.yml), and the sid
# package lists are kept too, so a rebuild with warm caches downloads no package.
#
# Needs a Docker engine (tests/harness/ensure-docker.sh) and builds the sid base image through
# tests/harness/base-image.sh if it is missing. SOVEREIGN_TEST_OPA names an opa binary of your own
# and skips all of this.
set -euo pipefail

if [ -n "${SOVEREIGN_TEST_OPA:-}" ]; then
  echo "$SOVEREIGN_TEST_OPA"
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SOVEREIGN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sovereign-stack}
key=$(sha256sum "$0" | cut -c1-12)
out_dir="$cache_root/opa/$key"
binary="$out_dir/opa"

if [ -x "$binary" ]; then
  echo "==> opa: reusing $binary (recipe $key)" >&2
  echo "$binary"
  exit 0
fi

fail() {
  echo "build-opa.sh: $*" >&2
  exit 1
}

start=$(date +%s)
image=$("$here/base-image.sh" sid | tail -n 1) || fail "could not get the Debian sid base image (tests/harness/base-image.sh sid)"
apt_archives="$cache_root/apt-archives"
apt_lists="$cache_root/apt-lists/sid-opa"
mkdir -p "$apt_archives/partial" "$apt_lists/partial" "$cache_root/opa"
work=$(mktemp -d "$cache_root/opa/.build-$key.XXXXXX")
container="sovereign-opa-build-$key-$$"
log="$cache_root/opa/build-$key.log"
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The recipe that runs inside the container; /out is $work, the binary is handed back through it.
cat > "$work/build.sh" <<'RECIPE'
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# bookworm only provides tablewriter 0.0.5; it must never replace a sid package.
echo "deb $MIRROR bookworm main" > /etc/apt/sources.list.d/bookworm.list
printf 'Package: *\nPin: release n=bookworm\nPin-Priority: 100\n' > /etc/apt/preferences.d/bookworm
apt_opts=(-o Acquire::Check-Valid-Until=false -o APT::Keep-Downloaded-Packages=true -o Acquire::Retries=3)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
  golang-go golang-github-open-policy-agent-opa-dev >/dev/null
tablewriter=golang-github-olekukonko-tablewriter-dev_0.0.5-2_all.deb
if [ ! -s "/var/cache/apt/archives/$tablewriter" ]; then
  (cd /var/cache/apt/archives && apt-get "${apt_opts[@]}" download golang-github-olekukonko-tablewriter-dev=0.0.5-2)
fi
first=/tmp/gopath-first
dpkg-deb -x "/var/cache/apt/archives/$tablewriter" /tmp/tablewriter
mkdir -p "$first/src/sovereign-opa"
cp -r /tmp/tablewriter/usr/share/gocode/src/. "$first/src/"
src=/usr/share/gocode/src/github.com/open-policy-agent/opa
{ echo '//go:debug default=go1.23'; echo; cat "$src/main.go"; } > "$first/src/sovereign-opa/main.go"
export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOCACHE=/tmp/gocache
export GOPATH="$first:/usr/share/gocode"
cd "$first/src/sovereign-opa"
go version
go build -trimpath -ldflags '-s -w' -o /out/opa .
/out/opa version
chown "$OWNER" /out/opa
RECIPE

echo "==> opa: building OPA from Debian sid's source package in $image (about 3 min the first time; log: $log)" >&2
if ! docker run --name "$container" --rm \
    -e OWNER="$(id -u):$(id -g)" -e MIRROR="${SOVEREIGN_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    -v "$apt_archives:/var/cache/apt/archives" -v "$apt_lists:/var/lib/apt/lists" -v "$work:/out" \
    "$image" bash /out/build.sh >"$log" 2>&1; then
  echo "build-opa.sh: the OPA build failed; last lines of $log:" >&2
  tail -n 25 "$log" >&2
  exit 1
fi
[ -x "$work/opa" ] || fail "the build finished but left no $work/opa; see $log"
"$work/opa" version >/dev/null 2>&1 || fail "the built $work/opa does not run on this machine; see $log"

mkdir -p "$out_dir"
mv "$work/opa" "$binary.tmp"
mv "$binary.tmp" "$binary"
# Binaries of earlier recipes are dead weight (about 35 MB each).
find "$cache_root/opa" -mindepth 1 -maxdepth 1 ! -name "$key" ! -name "build-$key.log" ! -name ".build-$key.*" \
  -exec rm -rf {} +
echo "==> opa: built $binary in $(($(date +%s) - start)) s ($("$binary" version | head -n 1))" >&2
echo "$binary"
