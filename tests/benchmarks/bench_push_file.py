# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Transfer benchmark: a 1 GiB file to a Debian test container over the docker connection, sent
with sovereign.stack.push_file and with ansible.builtin.copy, first run and second (nothing to send).

Run: ``.venv/bin/python tests/benchmarks/bench_push_file.py`` (needs Docker and the base image, like
the integration tests; ``--size-mib`` and ``--chunk-mib`` change the sizes). One run each, figures
printed, not a test: it exits non-zero only if a playbook fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from conftest import PlaybookRun, TestContainer, run_playbook, start_container, stop_container  # noqa: E402

PUSH_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "playbooks" / "push_file.yml"
COPY_PLAYBOOK = REPO_ROOT / "tests" / "benchmarks" / "playbooks" / "copy_file.yml"
MIB = 1 << 20


def random_file(path: Path, size_mib: int) -> str:
    """``size_mib`` MiB of random bytes at ``path``; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _block in range(size_mib):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def timed(
    label: str, size_mib: int, playbook: Path, inventory: dict[str, object], work: Path, **extravars: str
) -> None:
    """Run ``playbook`` once and print its wall time and rate."""
    started = time.monotonic()
    run: PlaybookRun = run_playbook(playbook, inventory, work, extravars=dict(extravars))
    elapsed = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit(f"{label}: playbook failed: {run.failure_messages()}")
    changed = bool(run.task_results("changed"))
    print(f"{label}: {elapsed:.1f} s, {size_mib / elapsed:.0f} MiB/s (changed={changed})", flush=True)


def main() -> None:
    """Start a container, push and copy the file, print the figures, remove the container."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, help="push_file chunk_size in MiB (default: the action's)")
    options = parser.parse_args()
    size_mib = options.size_mib
    chunk = {"push_chunk_size": str(options.chunk_mib * MIB)} if options.chunk_mib else {}
    started = start_container("bookworm")
    container = TestContainer(
        name=started.name.replace("sovereign-it-", "sovereign-it-bench-push-file-"), network=None
    )
    subprocess.run(["docker", "rename", started.name, container.name], check=True, capture_output=True)
    inventory: dict[str, object] = {"all": {"hosts": {container.name: container.inventory_host()}}}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-push-file-") as scratch:
            work = Path(scratch)
            src = work / "standin-weights.bin"
            sha256 = random_file(src, size_mib)
            print(
                f"file: {size_mib} MiB of random bytes, container {container.name}, "
                f"chunks: {options.chunk_mib or 64} MiB",
                flush=True,
            )
            for attempt in ("first run", "second run"):
                timed(
                    f"push_file {attempt}",
                    size_mib,
                    PUSH_PLAYBOOK,
                    inventory,
                    work,
                    push_src=str(src),
                    push_dest="/var/tmp/push-standin-weights.bin",
                    push_sha256=sha256,
                    **chunk,
                )
            for attempt in ("first run", "second run"):
                timed(
                    f"ansible.builtin.copy {attempt}",
                    size_mib,
                    COPY_PLAYBOOK,
                    inventory,
                    work,
                    push_src=str(src),
                    push_dest="/var/tmp/copy-standin-weights.bin",
                )
    finally:
        stop_container(container)


if __name__ == "__main__":
    main()
