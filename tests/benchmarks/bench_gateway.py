# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Gateway benchmark: the latency the MCP gateway and its policy decision add per tools/call.

The same ``read_text_file`` call, at least 1,000 times each, in the same run and interleaved call
by call: directly to the npm filesystem server over stdio with the SDK client, and through the
gateway (SDK client over Streamable HTTP -> gateway -> decision -> the same kind of stdio server).
The decision comes from the real ``opa run --server`` with the collection's policy when the cached
OPA build exists, else from the tests' decision double (printed either way).

A second pair takes the clients' own cost out: the same call as one JSON-RPC line over a pipe to
the server, and as one HTTP/1.1 POST on a kept-alive connection to the gateway, both from plain
blocking Python with no SDK. Its difference is what the gateway, its decision and its own SDK
stdio client to the server add.

Last, the parts no gateway call can avoid, from the same plain clients: the decision for this call
asked of the decision service directly, its ``/health`` (an HTTP round trip without policy), and an
MCP ``ping`` through the gateway (HTTP, auth and MCP handling without decision or downstream call).
Their sum with the direct call estimates the lowest gateway median this design can reach; the
plain gateway median is printed against it (goal: at most 1.4x).

Run: ``.venv/bin/python tests/benchmarks/bench_gateway.py`` (goal: gateway p50 at most 2x direct),
or ``--smoke`` for a few calls that CI can afford. Exits non-zero only if a call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "unit" / "mcp_gateway"
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(HERE.parents[1] / "roles" / "mcp_gateway" / "files"))

from decision_double import POLICY_DATA, DecisionDouble  # noqa: E402
from gateway_client import INITIALIZE, MCP_HEADERS, PROTOCOL, connect, text_of  # noqa: E402
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
from sovereign_mcp_gateway.downstream import exposed_name  # noqa: E402

CLIENT, SERVER, TOOL = "alice", "filesystem", "read_text_file"
"""The one call every series makes: this client, this server's tool, on the workspace's file."""
FILE_NAME = "a.txt"


def call_arguments(workspace: Path) -> dict[str, str]:
    """The tool arguments of that call."""
    return {"path": str(workspace / FILE_NAME)}


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (milliseconds)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def measure(
    url: str, entry: Path, workspace: Path, calls: int, warmup: int
) -> tuple[list[float], list[float]]:
    """(direct, gateway) latencies in ms, interleaved call by call."""
    arguments = call_arguments(workspace)
    node = shutil.which("node") or "node"
    direct_ms: list[float] = []
    gateway_ms: list[float] = []
    direct_server = StdioServerParameters(command=node, args=[str(entry), str(workspace)])
    async with AsyncExitStack() as stack:
        direct = await stack.enter_async_context(Client(direct_server, mode="legacy"))
        gateway = await stack.enter_async_context(connect(url, TOKENS[CLIENT]))
        for index in range(warmup + calls):
            started = time.perf_counter()
            direct_result = await direct.call_tool(TOOL, arguments)
            middle = time.perf_counter()
            gateway_result = await gateway.call_tool(exposed_name(SERVER, TOOL), arguments)
            ended = time.perf_counter()
            if text_of(direct_result) != WORKSPACE_TEXT or text_of(gateway_result) != WORKSPACE_TEXT:
                raise RuntimeError(
                    f"call {index} failed: {text_of(direct_result)!r} / {text_of(gateway_result)!r}"
                )
            if index >= warmup:
                direct_ms.append((middle - started) * 1000)
                gateway_ms.append((ended - middle) * 1000)
    return direct_ms, gateway_ms


class RawStdio:
    """The server over its pipes, one JSON-RPC line each way, no SDK."""

    def __init__(self, entry: Path, workspace: Path) -> None:
        node = shutil.which("node") or "node"
        self.process = subprocess.Popen(
            [node, str(entry), str(workspace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.request(INITIALIZE)
        self.notify({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def notify(self, message: dict[str, Any]) -> None:
        """Write one line."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Write one line, read the answer's line."""
        self.notify(message)
        assert self.process.stdout is not None
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        """Stop the server."""
        self.process.kill()
        self.process.wait()


class RawHttp:
    """The gateway over one kept-alive HTTP/1.1 connection, JSON bodies, no SDK."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.path = parts.path
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self.headers = {**MCP_HEADERS, "authorization": f"Bearer {token}"}
        response = self._post(INITIALIZE)
        self.headers["mcp-session-id"] = response.getheader("mcp-session-id") or ""
        self.headers["mcp-protocol-version"] = PROTOCOL
        response.read()
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"}).read()

    def _post(self, message: dict[str, Any]) -> http.client.HTTPResponse:
        self.connection.request("POST", self.path, json.dumps(message), self.headers)
        return self.connection.getresponse()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """POST one request, read its JSON answer."""
        response = self._post(message)
        answer: dict[str, Any] = json.loads(response.read())
        return answer

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def measure_raw(
    url: str, entry: Path, workspace: Path, calls: int, warmup: int
) -> tuple[list[float], list[float]]:
    """(direct, gateway) latencies in ms without any SDK client, interleaved call by call."""
    arguments = call_arguments(workspace)
    direct, gateway = RawStdio(entry, workspace), RawHttp(url, TOKENS[CLIENT])
    direct_ms: list[float] = []
    gateway_ms: list[float] = []
    try:
        for index in range(warmup + calls):
            call = {"jsonrpc": "2.0", "id": index + 1, "method": "tools/call"}
            started = time.perf_counter()
            direct_answer = direct.request({**call, "params": {"name": TOOL, "arguments": arguments}})
            middle = time.perf_counter()
            gateway_answer = gateway.request(
                {**call, "params": {"name": exposed_name(SERVER, TOOL), "arguments": arguments}}
            )
            ended = time.perf_counter()
            texts = [
                answer.get("result", {}).get("content", [{}])[0].get("text")
                for answer in (direct_answer, gateway_answer)
            ]
            if texts != [WORKSPACE_TEXT, WORKSPACE_TEXT]:
                raise RuntimeError(f"raw call {index} failed: {direct_answer!r} / {gateway_answer!r}")
            if index >= warmup:
                direct_ms.append((middle - started) * 1000)
                gateway_ms.append((ended - middle) * 1000)
    finally:
        direct.close()
        gateway.close()
    return direct_ms, gateway_ms


def measure_floor(
    url: str, decider_url: str, workspace: Path, calls: int, warmup: int
) -> dict[str, list[float]]:
    """Latencies (ms) of the parts a gateway call cannot avoid, interleaved call by call: the
    decision for this call straight from the decision service, its ``/health`` (the HTTP round
    trip with no policy evaluation), and an MCP ``ping`` through the gateway (its HTTP, auth and
    MCP handling with no decision and no downstream call); all from plain blocking clients."""
    parts = urlsplit(decider_url)
    decider = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    arguments = call_arguments(workspace)
    # What the gateway sends for this call: the workspace is resolved, so the path is already normal.
    decision_input = {"client": CLIENT, "server": SERVER, "tool": TOOL, "arguments": arguments}
    decision_body = json.dumps(
        {
            "input": {
                **decision_input,
                "paths": [arguments["path"]],
                "path_errors": [],
                "path_arguments": ["path"],
            }
        }
    )
    gateway = RawHttp(url, TOKENS[CLIENT])
    series: dict[str, list[float]] = {"decision alone": [], "decider /health": [], "ping via gateway": []}
    try:
        for index in range(warmup + calls):
            started = time.perf_counter()
            decider.request("POST", parts.path, decision_body, {"content-type": "application/json"})
            decision = json.loads(decider.getresponse().read())
            after_decision = time.perf_counter()
            decider.request("GET", "/health")
            health = decider.getresponse()
            health.read()
            after_health = time.perf_counter()
            pong = gateway.request({"jsonrpc": "2.0", "id": index + 1, "method": "ping"})
            ended = time.perf_counter()
            allowed = decision.get("result", {}).get("allow") is True
            if not allowed or health.status != 200 or "result" not in pong:
                raise RuntimeError(f"floor call {index} failed: {decision!r} / {health.status} / {pong!r}")
            if index >= warmup:
                series["decision alone"].append((after_decision - started) * 1000)
                series["decider /health"].append((after_health - after_decision) * 1000)
                series["ping via gateway"].append((ended - after_health) * 1000)
    finally:
        decider.close()
        gateway.close()
    return series


FLOOR_GOAL = 1.4
"""The plain gateway median may be at most this many times the floor estimate (issue 19)."""


def report_floor(
    floor: dict[str, list[float]], raw_direct_ms: list[float], raw_gateway_ms: list[float]
) -> None:
    """Print the unavoidable parts, the gateway p50 they add up to with this design, and how far
    the plain gateway median is from it (what the gateway's own checks cost beyond the floor)."""
    print("what a gateway call cannot avoid (plain blocking clients):")
    for name, samples in floor.items():
        print_series(name, samples)
    direct = statistics.median(raw_direct_ms)
    unavoidable = [statistics.median(floor[name]) for name in ("decision alone", "ping via gateway")]
    lowest = direct + sum(unavoidable)
    print(
        f"  lowest gateway p50 with this design, estimated (ping + decision + direct call): "
        f"{lowest:.3f} ms = {lowest / direct:.2f}x the plain direct call"
    )
    ratio = statistics.median(raw_gateway_ms) / lowest
    print(
        f"  plain gateway p50 / that floor: {ratio:.2f}x "
        f"({'within' if ratio <= FLOOR_GOAL else 'above'} the goal of {FLOOR_GOAL}x)"
    )


def print_series(name: str, samples: list[float]) -> None:
    """One line: the series' p50 and p99."""
    print(f"  {name:<19} p50 {statistics.median(samples):8.3f} ms  p99 {percentile(samples, 0.99):8.3f} ms")


def report(
    title: str, direct_ms: list[float], gateway_ms: list[float], extra: list[tuple[str, list[float]]]
) -> None:
    """Print p50/p99 of each series and the gateway/direct ratios."""
    print(title)
    for name, samples in [("direct stdio", direct_ms), ("through gateway", gateway_ms), *extra]:
        print_series(name, samples)
    p50_ratio = statistics.median(gateway_ms) / statistics.median(direct_ms)
    p99_ratio = percentile(gateway_ms, 0.99) / percentile(direct_ms, 0.99)
    print(f"  ratio gateway/direct: p50 {p50_ratio:.2f}x  p99 {p99_ratio:.2f}x")


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
        (workspace / FILE_NAME).write_text(WORKSPACE_TEXT)
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
        config["servers"] = {SERVER: config["servers"][SERVER]}
        config["servers"][SERVER]["args"][-1] = str(workspace)
        gateway = start_gateway(base, config)
        try:
            direct_ms, gateway_ms = asyncio.run(measure(gateway.url, entry, workspace, calls, warmup))
            records = gateway.audit_lines()[warmup : warmup + calls]
            opa_ms = [record["opa_ms"] for record in records]
            call_ms = [record["call_ms"] for record in records]
            raw_direct_ms, raw_gateway_ms = measure_raw(gateway.url, entry, workspace, calls, warmup)
            floor = measure_floor(gateway.url, decider.url, workspace, calls, warmup)
        finally:
            stop_gateway(gateway)
            decider.close()

    print(f"decision service: {label}")
    print(f"calls: {len(direct_ms)} direct, {len(gateway_ms)} via the gateway, interleaved, {warmup} warm-up")
    report(
        "SDK clients (mcp.Client over stdio, and over Streamable HTTP to the gateway):",
        direct_ms,
        gateway_ms,
        [("decision (audit)", opa_ms), ("downstream (audit)", call_ms)],
    )
    report(
        "plain clients (one JSON-RPC line over a pipe; one HTTP/1.1 POST, kept alive):",
        raw_direct_ms,
        raw_gateway_ms,
        [],
    )
    report_floor(floor, raw_direct_ms, raw_gateway_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
