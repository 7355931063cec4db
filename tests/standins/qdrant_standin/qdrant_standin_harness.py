# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Start the Qdrant stand-in on loopback for a test and talk to it (test-only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

SERVER = Path(__file__).resolve().parent / "qdrant_standin.py"


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class StandinServer:
    """One stand-in process with its configuration file, storage and snapshots under ``root``."""

    def __init__(
        self, root: Path, api_key: Optional[str] = "rw-key", read_only_api_key: Optional[str] = "ro-key"
    ):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        self.read_only_api_key = read_only_api_key
        self.config_path = root / "config.yaml"
        self.storage_path = root / "storage"
        self.snapshots_path = root / "snapshots"
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.log = root / "qdrant.log"

    def write_config(self, **extra: Any) -> None:
        """The configuration file, in the real server's layout."""
        service: Dict[str, Any] = {"host": "127.0.0.1", "http_port": self.port, "grpc_port": None}
        if self.api_key:
            service["api_key"] = self.api_key
        if self.read_only_api_key:
            service["read_only_api_key"] = self.read_only_api_key
        config = {
            "log_level": "INFO",
            "telemetry_disabled": True,
            "service": service,
            "storage": {"storage_path": str(self.storage_path), "snapshots_path": str(self.snapshots_path)},
        }
        config.update(extra)
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    def start(self, timeout: float = 20.0) -> None:
        """Start it and wait until /readyz answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            self.write_config()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER), "--config-path", str(self.config_path)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the stand-in exited with {self.process.returncode}: {self.log.read_text()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the stand-in did not become ready: {self.log.read_text()}")

    def stop(self) -> None:
        """Stop it with SIGTERM (it flushes every shard) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def request(
        self, method: str, path: str, body: Any = None, key: Optional[str] = "", bearer: bool = False
    ) -> Tuple[int, Any]:
        """``(status, JSON or bytes)``; ``key=""`` means the read-write key, None no key."""
        presented = self.api_key if key == "" else key
        headers = {"Content-Type": "application/json"}
        if presented:
            headers["Authorization" if bearer else "api-key"] = f"Bearer {presented}" if bearer else presented
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw
