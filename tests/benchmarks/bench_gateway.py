# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Gateway benchmark: the latency the MCP gateway and its policy decision add per tools/call.

The same ``read_text_file`` call, at least 1,000 times each, in the same run and interleaved call
by call: directly to the npm filesystem server over stdio with the SDK client, and through the
gateway (SDK client over Streamable HTTP -> gateway -> decision -> the same kind of stdio server).
The decision comes from the real ``opa run --server`` with the collection's policy when the cached
OPA build exists, else from the tests' decision double (printed either way).

Run: ``.venv/bin/python tests/benchmarks/bench_gateway.py`` (goal: gateway p50 at most 2x direct),
or ``--smoke`` for a few calls that CI can afford. Exits non-zero only if a call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "unit" / "mcp_gateway"
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(HERE.parents[1] / "roles" / "mcp_gateway" / "files"))

from decision_double import POLICY_DATA, DecisionDouble  # noqa: E402
from gateway_client import connect, text_of  # noqa: E402
from gateway_fixtures import (  # noqa: E402
    TOKENS,
    WORKSPACE_TEXT,
    Layout,
    ensure_filesystem_server,
    gateway_config,
    start_gateway,
    stop_gateway,
)
from mcp import Client, StdioServerParameters  # noqa: E402
from real_opa import RealOpa, find_opa  # noqa: E402


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (milliseconds)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def measure(
    url: str, entry: Path, workspace: Path, calls: int, warmup: int
) -> tuple[list[float], list[float]]:
    """(direct, gateway) latencies in ms, interleaved call by call."""
    arguments = {"path": str(workspace / "a.txt")}
    node = shutil.which("node") or "node"
    direct_ms: list[float] = []
    gateway_ms: list[float] = []
    direct_server = StdioServerParameters(command=node, args=[str(entry), str(workspace)])
    async with AsyncExitStack() as stack:
        direct = await stack.enter_async_context(Client(direct_server, mode="legacy"))
        gateway = await stack.enter_async_context(connect(url, TOKENS["alice"]))
        for index in range(warmup + calls):
            started = time.perf_counter()
            direct_result = await direct.call_tool("read_text_file", arguments)
            middle = time.perf_counter()
            gateway_result = await gateway.call_tool("filesystem__read_text_file", arguments)
            ended = time.perf_counter()
            if text_of(direct_result) != WORKSPACE_TEXT or text_of(gateway_result) != WORKSPACE_TEXT:
                raise RuntimeError(
                    f"call {index} failed: {text_of(direct_result)!r} / {text_of(gateway_result)!r}"
                )
            if index >= warmup:
                direct_ms.append((middle - started) * 1000)
                gateway_ms.append((ended - middle) * 1000)
    return direct_ms, gateway_ms


def main() -> int:
    """Set up workspace, decision service and gateway; measure; print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a few calls only (CI)")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--decider", choices=["auto", "opa", "double"], default="auto")
    options = parser.parse_args()
    calls, warmup = (10, 2) if options.smoke else (max(options.calls, 1000), 50)

    entry = ensure_filesystem_server()
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary).resolve()
        workspace = base / "workspace"
        workspace.mkdir()
        (workspace / "a.txt").write_text(WORKSPACE_TEXT)
        layout = Layout(base=base, workspace=workspace, secret=base / "secret", outside_repo=base / "none")
        opa_binary = find_opa() if options.decider in ("auto", "opa") else None
        if options.decider == "opa" and opa_binary is None:
            print("no cached OPA build found", file=sys.stderr)
            return 2
        decider: RealOpa | DecisionDouble
        if opa_binary is not None:
            decider = RealOpa(opa_binary, {**POLICY_DATA, "workspace_roots": [str(workspace)]}, base)
            label = f"real OPA ({opa_binary})"
        else:
            decider = DecisionDouble([str(workspace)])
            label = "decision test double (Python, slower than OPA)"
        config = gateway_config(base, layout, decider.url, record=False)
        # Only the filesystem server: the benchmark compares one server, directly and through the gateway.
        config["servers"] = {"filesystem": config["servers"]["filesystem"]}
        config["servers"]["filesystem"]["args"][-1] = str(workspace)
        gateway = start_gateway(base, config)
        try:
            direct_ms, gateway_ms = asyncio.run(measure(gateway.url, entry, workspace, calls, warmup))
            records = gateway.audit_lines()[warmup:]
            opa_ms = [record["opa_ms"] for record in records]
            call_ms = [record["call_ms"] for record in records]
        finally:
            stop_gateway(gateway)
            decider.close()

    print(f"decision service: {label}")
    print(f"calls: {len(direct_ms)} direct, {len(gateway_ms)} via the gateway, interleaved, {warmup} warm-up")
    rows = [
        ("direct stdio", direct_ms),
        ("through gateway", gateway_ms),
        ("decision (audit)", opa_ms),
        ("downstream (audit)", call_ms),
    ]
    for name, samples in rows:
        print(f"{name:<19} p50 {statistics.median(samples):8.3f} ms  p99 {percentile(samples, 0.99):8.3f} ms")
    p50_ratio = statistics.median(gateway_ms) / statistics.median(direct_ms)
    p99_ratio = percentile(gateway_ms, 0.99) / percentile(direct_ms, 0.99)
    print(f"ratio gateway/direct: p50 {p50_ratio:.2f}x  p99 {p99_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
