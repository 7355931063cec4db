# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The mcp_gateway role's inventory checks (tasks/validate.yml), run by ansible-playbook on localhost:
a good inventory passes; each bad one stops the play naming the variable and what is valid."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: sovereign.stack.mcp_gateway
        tasks_from: validate
"""
GOOD: dict[str, Any] = {
    "mcp_gateway_workspace_roots": ["/srv/workspace"],
    "mcp_gateway_clients": {"alice": {"servers": {"filesystem": ["read_text_file"]}}},
    "__mcp_gateway_filesystem_entry": "/opt/x/index.js",
    # What role opa's record gives on a host where OPA runs (test_service_record_readers.py).
    "mcp_gateway_opa_url": "http://127.0.0.1:8181/v1/data/sovereign/mcp/decision",
}


def run_checks(tmp_path: Path, **overrides: Any) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "checks.yml"
    playbook.write_text(PLAYBOOK)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**GOOD, **overrides}))
    binary = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    return subprocess.run(
        [binary, "-i", "localhost,", str(playbook), "-e", f"@{extra}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def _collection_installed() -> None:
    if not (REPO / ".build" / "collections" / "ansible_collections" / "sovereign" / "stack").exists():
        pytest.skip("the collection link .build/collections is made by `make venv`")


def test_a_good_inventory_passes(tmp_path: Path) -> None:
    result = run_checks(
        tmp_path,
        opa_data={"workspace_roots": ["/srv/workspace"], "clients": GOOD["mcp_gateway_clients"]},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mcp_gateway_listen_address": "0.0.0.0"}, "mcp_gateway_listen_address is '0.0.0.0'"),
        ({"mcp_gateway_workspace_roots": ["srv/workspace"]}, "mcp_gateway_workspace_roots is"),
        ({"mcp_gateway_workspace_roots": ["/"]}, "other than '/'"),
        ({"mcp_gateway_clients": {}}, "give at least one client"),
        ({"mcp_gateway_clients": {"al ice": {"servers": {}}}}, "ids are 1-64 letters"),
        ({"mcp_gateway_servers": {"my__git": {"command": "/bin/true"}}}, "server names"),
        ({"mcp_gateway_servers": {"git": {"args": ["-m", "x"]}}}, "mcp_gateway_servers.git is"),
        ({"mcp_gateway_servers": {"web": {"transport": "http", "url": "ftp://x"}}}, "an http server needs"),
        (
            {"opa_data": {"workspace_roots": ["/srv/workspace"], "clients": {}}},
            "opa_data disagrees with the gateway",
        ),
    ],
)
def test_a_bad_inventory_stops_the_play_saying_why(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    result = run_checks(tmp_path, **overrides)
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-2000:]
