# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Helpers shared by the gateway tests and the benchmark: the package on sys.path, a workspace with
symlinks leading out, the real npm filesystem server (installed into a cache outside the
repository), gateway configurations for the real servers, and starting/stopping a gateway process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GATEWAY_FILES = Path(__file__).resolve().parents[3] / "roles" / "mcp_gateway" / "files"
if str(GATEWAY_FILES) not in sys.path:
    sys.path.insert(0, str(GATEWAY_FILES))

HERE = Path(__file__).resolve().parent
NPM_CACHE = Path(os.environ.get("SOVEREIGN_NPM_CACHE", Path.home() / ".cache" / "sovereign-stack" / "npm"))
FILESYSTEM_PACKAGE = "@modelcontextprotocol/server-filesystem@2026.8.31"
FILESYSTEM_ENTRY = (
    NPM_CACHE / "node_modules" / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
)

TOKENS = {
    "alice": "alice-token-" + "a" * 40,
    "bob": "bob-token-" + "b" * 40,
    "carol": "carol-token-" + "c" * 40,
}
SECRET_MARKER = "TOP-SECRET-CONTENT-7f3a"
WORKSPACE_TEXT = "hello from the workspace\n"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_filesystem_server() -> Path:
    """Install the reference filesystem server with npm into the cache (once) and return its entry point."""
    if not FILESYSTEM_ENTRY.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("node and npm are needed for the end-to-end tests with the npm filesystem server")
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), FILESYSTEM_PACKAGE],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return FILESYSTEM_ENTRY


@dataclass
class Layout:
    """The files the end-to-end tests work on. ``base`` is allowed by the downstream filesystem
    server itself, so only the gateway and the policy stand between a client and ``secret``."""

    base: Path
    workspace: Path
    secret: Path
    outside_repo: Path


def build_layout(directory: Path) -> Layout:
    """A workspace (files, a git repository, symlinks in and out) next to a secret directory."""
    base = Path(os.path.realpath(directory))
    workspace, secret = base / "workspace", base / "secret"
    (workspace / "sub").mkdir(parents=True)
    secret.mkdir()
    (workspace / "a.txt").write_text(WORKSPACE_TEXT)
    (workspace / "sub" / "b.txt").write_text("bee\n")
    (secret / "key.txt").write_text(SECRET_MARKER + "\n")
    (workspace / "link_out").symlink_to(secret)
    (workspace / "link_key").symlink_to(secret / "key.txt")
    (workspace / "link_up").symlink_to("..")
    (workspace / "link_in").symlink_to(workspace / "a.txt")
    (workspace / "sub" / "link_escape").symlink_to("../../secret")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for repo in (workspace / "repo", base / "outside_repo"):
        repo.mkdir()
        subprocess.run([*git, "init", "-q", str(repo)], check=True)
        (repo / "README").write_text("repo\n")
        subprocess.run([*git, "-C", str(repo), "add", "README"], check=True)
        subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "first"], check=True)
    return Layout(base=base, workspace=workspace, secret=secret, outside_repo=base / "outside_repo")


@dataclass
class RunningGateway:
    """A gateway process started by a fixture."""

    url: str
    health_url: str
    audit_log: Path
    downstream_log: Path
    process: subprocess.Popen[bytes]
    config_path: Path

    def audit_lines(self) -> list[dict[str, Any]]:
        """Every audit record written so far."""
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines()]

    def downstream_calls(self) -> list[str]:
        """The tool names of every tools/call that reached a downstream server."""
        if not self.downstream_log.exists():
            return []
        return [json.loads(line)["tool"] for line in self.downstream_log.read_text().splitlines()]


def write_tokens(directory: Path, mode: int = 0o600) -> Path:
    """A tokens file with the sha256 of every test token."""
    path = directory / "tokens.json"
    path.write_text(json.dumps({c: hashlib.sha256(t.encode()).hexdigest() for c, t in TOKENS.items()}))
    path.chmod(mode)
    return path


def gateway_config(
    directory: Path,
    layout: Layout,
    opa_url: str,
    *,
    record: bool = True,
    filesystem_roots: list[Path] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A configuration for the two real downstream servers (wrapped by the recorder when ``record``).

    The filesystem server is allowed ``filesystem_roots``: by default the whole test directory
    (``layout.base``), so only the gateway and the policy confine; the role gives it the workspace.
    """
    entry = ensure_filesystem_server()
    downstream_log = directory / "downstream_calls.jsonl"

    def wrapped(command: list[str]) -> tuple[str, list[str]]:
        if not record:
            return command[0], command[1:]
        return sys.executable, [str(HERE / "stdio_recorder.py"), str(downstream_log), "--", *command]

    server_roots = [str(root) for root in (filesystem_roots or [layout.base])]
    fs_command, fs_args = wrapped([shutil.which("node") or "node", str(entry), *server_roots])
    git_command, git_args = wrapped([sys.executable, "-m", "mcp_server_git"])
    config: dict[str, Any] = {
        "listen_address": "127.0.0.1",
        "listen_port": free_port(),
        "tokens_file": str(write_tokens(directory)),
        "opa_url": opa_url,
        "opa_timeout_ms": 300,
        "workspace_roots": [str(layout.workspace)],
        "max_payload_bytes": 65536,
        "rate_limit_per_second": 5000,
        "rate_limit_burst": 5000,
        "audit_log": str(directory / "audit.jsonl"),
        "call_timeout_s": 20,
        "servers": {
            "filesystem": {
                "transport": "stdio",
                "command": fs_command,
                "args": fs_args,
                "path_arguments": ["path", "paths", "source", "destination"],
            },
            "git": {
                "transport": "stdio",
                "command": git_command,
                "args": git_args,
                "path_arguments": ["repo_path"],
            },
        },
    }
    config.update(overrides)
    return config


def start_gateway(directory: Path, config: dict[str, Any]) -> RunningGateway:
    """Run ``python -m sovereign_mcp_gateway`` on ``config`` and wait until it answers HTTP."""
    config_path = directory / "gateway.json"
    config_path.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(GATEWAY_FILES)}
    log = (directory / "gateway.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sovereign_mcp_gateway",
            "--config",
            str(config_path),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    port = config["listen_port"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gateway exited with {process.returncode}: {(directory / 'gateway.log').read_text()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("gateway did not start listening within 60 s")
    return RunningGateway(
        url=f"http://127.0.0.1:{port}/mcp",
        health_url=f"http://127.0.0.1:{port}/healthz",
        audit_log=Path(config["audit_log"]),
        downstream_log=directory / "downstream_calls.jsonl",
        process=process,
        config_path=config_path,
    )


def stop_gateway(gateway: RunningGateway) -> None:
    """Stop the gateway process (SIGTERM, then SIGKILL)."""
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait()
