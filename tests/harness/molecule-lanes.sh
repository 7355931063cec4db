#!/usr/bin/env bash
# Runs `molecule test` for each scenario named on the command line, MOLECULE_JOBS at a time
# (default 2), in the order given: name the longest first so the lanes end close together. Most of
# a scenario's time is spent waiting on containers (apt, systemd, readiness), so two lanes finish
# the set well before one would, even on two cores. Each scenario writes its own log under
# .build/molecule-logs/, printed whole when it ends; the exit status is non-zero when any failed,
# and every scenario runs to its end either way.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jobs=${MOLECULE_JOBS:-2}
molecule=${MOLECULE_BIN:-molecule}
logs=.build/molecule-logs
mkdir -p "$logs"
export here molecule logs

run_one() {
  local scenario=$1 log="$logs/$1.log" rc
  "$here/stage.sh" "molecule:$scenario" "$molecule" test -s "$scenario" >"$log" 2>&1
  rc=$?
  # One scenario's log at a time, so two lanes never interleave their output.
  {
    flock 9
    echo "==> molecule:$scenario ended (exit $rc); its log follows"
    cat "$log"
    echo "==> end of molecule:$scenario ($(tail -n 1 "$log"))"
  } 9>"$logs/.print.lock"
  return "$rc"
}
export -f run_one

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
rc=$?
[ "$rc" = 0 ] || echo "==> molecule: at least one scenario failed (see the logs above and in $logs/)" >&2
exit "$rc"
