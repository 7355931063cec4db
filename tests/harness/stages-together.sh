#!/usr/bin/env bash
# Runs chains of `make` targets of `make test` at the same time. Each argument is one chain, its
# targets joined by "+" and run one after the other (the chain stops at the first failure); every
# target is a stage of its own (stage.sh records its time). Each chain's output is printed whole
# once it ends, so outputs never interleave. The exit status is non-zero when any chain failed;
# every chain runs to its end either way.
#
# Why: on two cores, lint keeps 1.2 cores busy (181 s of CPU in 147 s), sanity one (137 s in 138 s)
# and unit 1.5 on average (388 s in 251 s; a third pytest worker made it slower, 265 s), while a fresh
# machine's debootstraps and OPA build wait mostly on the network. Measured with the images and OPA
# already built: lint || sanity, then unit: 419 s; lint+unit || sanity: 464 s; all four at once:
# 458 s (lint alone took 432 s then). On a fresh machine the images+opa chain (two debootstraps,
# then sid's and the OPA build: 370 to 510 s by docs/testing.md) is the longest, so make test runs
# lint+unit || sanity || images+opa rather than making unit wait for it.
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
