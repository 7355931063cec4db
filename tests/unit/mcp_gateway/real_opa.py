# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The real OPA server (``opa run --server``) with the collection's policy, for the integration
test and the benchmark. The binary is the one the OPA build leaves in the cache."""

from __future__ import annotations

import glob
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
POLICY_DIR = REPO_ROOT / "roles" / "opa" / "files" / "policies"
OPA_GLOB = str(Path.home() / ".cache" / "sovereign-stack" / "opa" / "*" / "opa")
BUILD_OPA = REPO_ROOT / "tests" / "harness" / "build-opa.sh"


def find_opa() -> Path | None:
    """The cached ``opa`` binary, or None when no build is there (or the policy is missing)."""
    found = sorted(glob.glob(OPA_GLOB))
    return Path(found[-1]) if found and POLICY_DIR.is_dir() else None


def build_opa() -> Path:
    """The real ``opa`` binary from tests/harness/build-opa.sh (built once, then reused)."""
    result = subprocess.run([str(BUILD_OPA)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"build-opa.sh failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


class RealOpa:
    """``opa run --server`` on a loopback port with POLICY_DIR and ``mcp_config`` as data, with the
    API authorization the role turns on (``system.authz``: only the decision and ``/health``)."""

    def __init__(self, binary: Path, mcp_config: dict[str, Any], directory: Path) -> None:
        data = directory / "data.json"
        data.write_text(json.dumps({"sovereign": {"mcp_config": mcp_config}}))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1/data/sovereign/mcp/decision"
        self.process = subprocess.Popen(
            [
                str(binary),
                "run",
                "--server",
                "--addr",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "error",
                "--disable-telemetry",
                "--authorization=basic",
                str(POLICY_DIR),
                str(data),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(directory / "opa.log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"opa exited: {(directory / 'opa.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError("opa did not listen within 30 s")

    def close(self) -> None:
        """Stop the server."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
