#!/usr/bin/env bash
# Runs chains of `make` targets of `make test` at the same time. Each argument is one chain, its
# targets joined by "+" and run one after the other (the chain stops at the first failure); every
# target is a stage of its own (stage.sh records its time). Each chain's output is printed whole
# once it ends, so outputs never interleave. The exit status is non-zero when any chain failed;
# every chain runs to its end either way.
#
# Why: lint and sanity each keep about one core busy (measured on two cores: lint 181 s of CPU in
# 147 s, sanity 137 s in 138 s), and a fresh machine's image builds wait mostly on the network, so
# the three chains end in about the time of the longest instead of the sum.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
logs=.build/stage-logs
mkdir -p "$logs"
make_bin=${MAKE:-make}

run_chain() {
  local chain=$1 target
  IFS=+ read -r -a targets <<<"$chain"
  for target in "${targets[@]}"; do
    "$here/stage.sh" "$target" "$make_bin" --no-print-directory "$target" || return 1
  done
}

chains=("$@")
pids=()
for chain in "${chains[@]}"; do
  run_chain "$chain" >"$logs/${chain//+/-}.log" 2>&1 &
  pids+=("$!")
done

rc=0
for i in "${!pids[@]}"; do
  chain=${chains[$i]}
  status=ok
  wait "${pids[$i]}" || { rc=1; status=FAILED; }
  echo "==> [$chain] $status; its output follows"
  cat "$logs/${chain//+/-}.log"
done
exit "$rc"
