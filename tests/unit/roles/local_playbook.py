# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Runs a playbook on localhost against this checkout's collection and reads Ansible's JSON report.

The role tests that need Ansible itself (the checks of tls_proxy, engine, qdrant, backup and the
firewall, service_ready, the engine account) make one inventory host per case, all connecting
locally, run one playbook once and read what each host's tasks answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Every case host runs on this machine, with the test's own Python.
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def run(
    root: Path,
    playbook: str | list[dict[str, Any]],
    hosts: Mapping[str, Mapping[str, Any]],
    *,
    check_mode: bool = False,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``playbook`` (YAML text or its tasks as data) on ``hosts`` (name -> variables, LOCAL added)
    from ``root``; the report of Ansible's json callback."""
    if not (REPO / ".build" / "collections" / "ansible_collections" / "sovereign" / "stack").exists():
        pytest.skip("the collection link .build/collections is made by `make venv`")
    inventory = {"all": {"hosts": {name: {**LOCAL, **variables} for name, variables in hosts.items()}}}
    (root / "inventory.json").write_text(json.dumps(inventory))
    text = playbook if isinstance(playbook, str) else yaml.safe_dump(playbook, sort_keys=False)
    (root / "play.yml").write_text(text)
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_FACT_CACHING": "memory",
        **(env or {}),
    }
    command = [
        str(ANSIBLE_PLAYBOOK),
        *(["--check"] if check_mode else []),
        "-i",
        str(root / "inventory.json"),
    ]
    result = subprocess.run(
        [*command, str(root / "play.yml")],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )
    # ansible.cfg's profile_tasks callback prints its timings around the JSON report.
    report: dict[str, Any]
    report, _end = json.JSONDecoder().raw_decode(result.stdout[result.stdout.find("\n{") + 1 :])
    return report


def failure_messages(report: Mapping[str, Any], hosts: Mapping[str, Any]) -> dict[str, str]:
    """Host -> "" where no task failed, else the message of the last task that failed there (a rescued
    task fails first, the one that stops the play last); for a loop, its failed items' messages."""
    messages = dict.fromkeys(hosts, "")
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, outcome in task["hosts"].items():
                if outcome.get("failed"):
                    items = [
                        str(item.get("msg", "")) for item in outcome.get("results", []) if item.get("failed")
                    ]
                    messages[host] = " ".join(items) or str(outcome.get("msg", ""))
    return messages
