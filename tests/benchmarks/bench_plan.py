# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Planner benchmark: synthetic fleets, wall time, replicas placed and peak RSS.

Run: ``.venv/bin/python tests/benchmarks/bench_plan.py`` (``make bench``): 1,000 hosts x 200 deployments
(goal: under 2 s, every input checked), then 1,000 x 1,000 and 1,000 x 2,000 (goal: under 10 s, and at
least as many replicas placed as 1,000 x 1,000), then the growth with hosts (250 to 2,000 hosts x 200
deployments). ``--hosts H --deployments D`` runs one point; ``--smoke`` a tiny fleet that CI can
afford. Prints one line per point; exits non-zero only if planning fails.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

COLLECTIONS = Path(__file__).resolve().parents[2] / ".build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan  # noqa: E402

# Host shapes of a realistic mixed fleet: (GPU device, count, system RAM GiB).
SHAPES = (
    ("rtx-3090", 2, 128),
    ("rtx-4090", 1, 64),
    ("rtx-5090", 2, 256),
    ("h100-sxm", 8, 1024),
    ("l40s", 4, 512),
    ("gb10", 1, 128),
    ("m3-ultra", 1, 192),
    ("cpu-ddr5-dual-channel", 1, 96),
)
MODELS = (
    "Qwen/Qwen3-4B",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen3-14B",
    "Qwen/Qwen3-32B",
    "Qwen/Qwen3-30B-A3B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "google/gemma-3-27b-it",
    "openai/gpt-oss-20b",
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
)


def fleet(hosts: int, deployments: int, seed: int = 7) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A deterministic synthetic fleet and its deployment list."""
    rng = random.Random(seed)
    hostvars = {}
    for index in range(hosts):
        device, count, memory = SHAPES[index % len(SHAPES)]
        hostvars[f"host-{index:04d}"] = {
            "sovereign_hardware_declared": {
                "gpus": [{"device": device, "count": count}],
                "memory_gib": memory,
            }
        }
    wanted = []
    for index in range(deployments):
        wanted.append(
            {
                "name": f"d{index:03d}",
                "model": rng.choice(MODELS),
                "replicas": rng.randint(1, 4),
                "context": rng.choice((4096, 8192, 16384, 32768)),
                "concurrency": rng.choice((1, 1, 2, 4, 8)),
                "allow_partial_placement": True,
            }
        )
    return hostvars, wanted


def point(hosts: int, deployments: int) -> tuple[float, int, int]:
    """Wall seconds, replicas wanted and replicas placed for one synthetic fleet."""
    hostvars, wanted = fleet(hosts, deployments)
    started = time.perf_counter()
    document, _unused = compute_plan(hostvars, wanted)
    wall = time.perf_counter() - started
    placed = sum(len(entry["deployments"]) for entry in document["hosts"].values())
    return wall, sum(d["replicas"] for d in wanted), placed


def report(hosts: int, deployments: int, goal: str = "") -> tuple[float, int]:
    wall, wanted, placed = point(hosts, deployments)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(
        f"{hosts:5d} hosts x {deployments:5d} deployments: {wall:6.2f} s, placed {placed} of {wanted} "
        f"replicas, peak RSS {peak_mib:.0f} MiB{goal}"
    )
    return wall, placed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="20 hosts x 10 deployments")
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--deployments", type=int)
    args = parser.parse_args()
    if args.smoke:
        report(20, 10)
        return 0
    if args.hosts or args.deployments:
        report(args.hosts or 1000, args.deployments or 200)
        return 0
    report(1000, 200, " (goal < 2 s)")
    print("growth with deployments:")
    _wall, placed_1000 = report(1000, 1000)
    wall, placed_2000 = report(1000, 2000, f" (goal < 10 s and placed >= {placed_1000})")
    print("growth with hosts:")
    for hosts in (250, 500, 2000):
        report(hosts, 200)
    ok = placed_2000 >= placed_1000 and wall < 10
    print(f"1,000 x 2,000 goals: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
