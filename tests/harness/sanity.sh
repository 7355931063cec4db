#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the collection at an ansible_collections/sovereign/stack
# path (ansible-test insists on that layout) holding exactly the files git would ship.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$repo/.venv
dest=$repo/.build/sanity/ansible_collections/sovereign/stack

# ansible-test bootstraps pip in its own virtualenvs with a script it downloads from a host that is
# unreachable here; it looks in this cache first. The stand-in uses the interpreter's ensurepip and
# then PyPI, which is reachable (shared/ENVIRONMENT.md, "ansible-test sanity offline").
pip_cache=$HOME/.ansible/test/cache
mkdir -p "$pip_cache"
for version in 24_2 25_0 25_1 25_2; do
  cat > "$pip_cache/get_pip_${version}.py" <<'PY'
"""Offline stand-in for get-pip.py: bootstrap pip with ensurepip, then install what was asked."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
PY
done

rm -rf "$dest"
mkdir -p "$dest"
cd "$repo"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -P "$f" "$dest/$f"
done
cd "$dest"
# ansible-test needs a git repository or a list of files to know what belongs to the collection.
git init -q . && git add -A >/dev/null
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$venv/bin/ansible-test" sanity --local --python "$python_version" --color no "$@"
