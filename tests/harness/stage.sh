#!/usr/bin/env bash
# Runs one stage of `make test`, prints its wall time, and records it in .build/stage-times.txt
# so the final summary can say where the time went.
set -uo pipefail
name=$1; shift
mkdir -p .build
start=$(date +%s)
echo "==> [$name] $*"
"$@"
rc=$?
elapsed=$(( $(date +%s) - start ))
status=ok; [ "$rc" = 0 ] || status="FAILED (exit $rc)"
printf '%-12s %5ss  %s\n' "$name" "$elapsed" "$status" >> .build/stage-times.txt
echo "==> [$name] ${elapsed}s, $status"
exit "$rc"
