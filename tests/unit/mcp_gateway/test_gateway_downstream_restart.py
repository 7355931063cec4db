# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A downstream server that dies is started again: the real npm filesystem server killed with
SIGKILL under a running gateway is back for the next call, and /healthz reports each server (up,
restarting or down, its restarts, the next attempt) while one of them cannot start.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from decision_double import DecisionDouble
from gateway_client import call, text_of
from gateway_fixtures import (
    TOKENS,
    WORKSPACE_TEXT,
    Layout,
    RunningGateway,
    gateway_config,
    start_gateway,
    stop_gateway,
)

pytestmark = pytest.mark.anyio

ALICE = TOKENS["alice"]


def _children(pid: int) -> list[int]:
    """Every process whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The second field (the command) is in parentheses and may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def filesystem_server(gateway: RunningGateway) -> int:
    """The pid of the gateway's filesystem server (node, started through sh)."""
    for child in _children(gateway.process.pid):
        if b"server-filesystem" in Path(f"/proc/{child}/cmdline").read_bytes():
            return child
    raise AssertionError("no filesystem server under the gateway")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text() if Path(f"/proc/{pid}/status").exists() else ""
        if "State:\tZ" in status:
            break
        time.sleep(0.02)


def health(gateway: RunningGateway) -> tuple[int, dict[str, Any]]:
    response = httpx2.get(gateway.health_url, trust_env=False, timeout=10)
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def start_flag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists the filesystem server starts; without it, its command exits at once."""
    flag = tmp_path_factory.mktemp("flag") / "may-start"
    flag.touch()
    return flag


@pytest.fixture(scope="module")
def restarting_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    layout: Layout,
    decision_double: DecisionDouble,
    start_flag: Path,
) -> Iterator[RunningGateway]:
    """A gateway whose filesystem server starts through sh only while ``start_flag`` exists."""
    directory = tmp_path_factory.mktemp("gateway-restart")
    # The call after a kill includes starting the Node.js server again: on a loaded 2-core machine
    # that took more than 4 s (the call failed with MCPError), so the budget is generous.
    config = gateway_config(directory, layout, decision_double.url, record=False, call_timeout_s=15)
    filesystem = config["servers"]["filesystem"]
    command = " ".join([filesystem["command"], *filesystem["args"]])
    filesystem["command"] = shutil.which("sh") or "/bin/sh"
    filesystem["args"] = ["-c", f'test -e "{start_flag}" || exit 3; exec {command}']
    running = start_gateway(directory, config)
    yield running
    stop_gateway(running)


async def test_a_killed_downstream_server_is_back_for_the_next_call(
    restarting_gateway: RunningGateway, layout: Layout
) -> None:
    arguments = {"path": f"{layout.workspace}/a.txt"}
    first = await call(restarting_gateway.url, ALICE, "filesystem__read_text_file", arguments)
    assert text_of(first) == WORKSPACE_TEXT
    killed = filesystem_server(restarting_gateway)
    kill(killed)

    again = await call(restarting_gateway.url, ALICE, "filesystem__read_text_file", arguments)
    assert again.is_error is False, text_of(again)
    assert text_of(again) == WORKSPACE_TEXT
    assert filesystem_server(restarting_gateway) != killed
    status, body = health(restarting_gateway)
    assert status == 200, body
    assert body["downstreams"] == {
        "filesystem": {"status": "ok", "restarts": 1},
        "git": {"status": "ok", "restarts": 0},
    }
    assert restarting_gateway.audit_lines()[-1]["outcome"] == "ok"


async def test_health_reports_each_server_while_one_cannot_start(
    restarting_gateway: RunningGateway, layout: Layout, start_flag: Path
) -> None:
    start_flag.unlink()
    kill(filesystem_server(restarting_gateway))
    deadline = time.monotonic() + 15
    status, body = health(restarting_gateway)
    # Down once an attempt to start it again has failed.
    while "while starting" not in body["downstreams"]["filesystem"].get("last_error", ""):
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
        status, body = health(restarting_gateway)
    assert status == 503, body
    down = body["downstreams"]["filesystem"]
    assert down["status"] == "down" and down["next_attempt_in_s"] > 0, body
    assert "while starting" in down["last_error"] and "/" not in down["last_error"], body
    assert body["downstreams"]["git"] == {"status": "ok", "restarts": 0}
    assert body["opa"] == "ok" and body["status"] == "not ok"

    refused = await call(
        restarting_gateway.url, ALICE, "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert refused.is_error is True
    assert "downstream server 'filesystem' failed" in text_of(refused)

    # Back within the back-off (at most 8 s after this many attempts) once it can start again.
    start_flag.touch()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = health(restarting_gateway)
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, body
    assert body["downstreams"]["filesystem"]["restarts"] == 2
    back = await call(
        restarting_gateway.url, ALICE, "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert text_of(back) == WORKSPACE_TEXT
