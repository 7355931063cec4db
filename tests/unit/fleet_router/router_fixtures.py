# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Real processes on loopback for the router's end-to-end tests: stand-in engines
(tests/standins/fake_openai_backend.py) and the router itself (``python -m sovereign_fleet_router``)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
BACKEND = REPO / "tests" / "standins" / "fake_openai_backend.py"
ROUTER_FILES = REPO / "roles" / "fleet_router" / "files"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {seconds} s")


@dataclass
class Backend:
    """One stand-in engine process."""

    model: str
    port: int
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


def start_backend(
    model: str, chunks: int = 4, chunk_delay: float = 0.01, answer_delay: float = 0.0, refuse_with: int = 0
) -> Backend:
    port = free_port()
    argv = [sys.executable, str(BACKEND), "--port", str(port), "--model", model, "--chunks", str(chunks)]
    argv += ["--chunk-delay", str(chunk_delay), "--answer-delay", str(answer_delay)]
    argv += ["--refuse-with", str(refuse_with)]
    process = subprocess.Popen(argv)
    wait_listening(port, process)
    return Backend(model, port, process)


def table_of(deployments: list[tuple[str, int, int, list[str], list[Backend]]]) -> dict[str, Any]:
    """A routing table: (name, context, weights, tags, backends) smallest first."""
    return {
        "version": 1,
        "host": "test",
        "deployments": [
            {
                "name": name,
                "context": context,
                "weights_bytes": weights,
                "engines": ["fake"],
                "tags": tags,
                "replicas": [
                    {
                        "host": f"h{b.port}",
                        "url": f"http://127.0.0.1:{b.port}",
                        "engine": "fake",
                        "context": context,
                    }
                    for b in backends
                ],
            }
            for name, context, weights, tags, backends in deployments
        ],
    }


@dataclass
class Router:
    """The router process, its port and its files."""

    port: int
    process: subprocess.Popen[bytes]
    accounting_log: Path
    backends: list[Backend] = field(default_factory=list)

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for backend in self.backends:
            if backend.process.poll() is None:
                backend.kill()


def start_router(work: Path, table: dict[str, Any], backends: list[Backend], **settings: Any) -> Router:
    port = free_port()
    (work / "table.json").write_text(json.dumps(table))
    config = {
        "table": str(work / "table.json"),
        "accounting_log": str(work / "accounting.jsonl"),
        "listen_port": port,
        "health": {"interval_s": 0.1, "timeout_s": 0.5, "eject_after": 1, "return_after": 2},
        **settings,
    }
    (work / "router.json").write_text(json.dumps(config))
    environment = {**os.environ, "PYTHONPATH": str(ROUTER_FILES)}
    argv = [sys.executable, "-m", "sovereign_fleet_router", "--config", str(work / "router.json")]
    process = subprocess.Popen([*argv, "--log-level", "warning"], env=environment)
    wait_listening(port, process)
    return Router(port, process, work / "accounting.jsonl", backends)


def post(
    connection: http.client.HTTPConnection, body: dict[str, Any], client: str = "alice"
) -> tuple[int, dict[str, str], bytes]:
    """One POST to /v1/chat/completions; status, headers and the whole body."""
    headers = {"Content-Type": "application/json", "X-Sovereign-Client": client}
    connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
    answer = connection.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
