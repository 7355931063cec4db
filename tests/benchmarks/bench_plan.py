# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Planner benchmark: a synthetic fleet (default 1,000 hosts x 200 deployments), wall time and peak RSS.

Run: ``.venv/bin/python tests/benchmarks/bench_plan.py`` (goal: under 2 s, with every input checked), or
``--smoke`` for a tiny fleet that CI can afford. Prints one line per figure; exits non-zero only if planning fails.
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

from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import compute_plan  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="20 hosts x 10 deployments")
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--deployments", type=int, default=200)
    args = parser.parse_args()
    hosts, deployments = (20, 10) if args.smoke else (args.hosts, args.deployments)
    hostvars, wanted = fleet(hosts, deployments)
    started = time.perf_counter()
    document, _unused = compute_plan(hostvars, wanted)
    wall = time.perf_counter() - started
    placed = sum(len(entry["deployments"]) for entry in document["hosts"].values())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"fleet: {hosts} hosts x {deployments} deployments ({sum(d['replicas'] for d in wanted)} replicas)")
    print(f"placed replicas: {placed}, unplaced: {len(document['unplaced'])}")
    print(f"wall time: {wall:.2f} s (goal < 2 s)")
    print(f"peak RSS: {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
