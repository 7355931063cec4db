# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The records the service roles keep on the host for the firewall (issue 23, docs/architecture.md "Wiring").

Every role that creates a service account of its own records that account (``service_user``) in its
local fact, so the firewall restricts it by what the role really created, never by a copied name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def _tasks(role: str) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted((ROLES / role / "tasks").glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            found.append((path, task))
    return found


def _account_variables(role: str) -> set[str]:
    """The role's public variables naming the accounts its ``ansible.builtin.user`` tasks create.

    The engine account is made by the engine role's tasks/account.yml alone, for rocm and mlx too
    (tests/unit/roles/test_engine_account.py), so those two have no user task of their own.
    """
    public = set(yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {})
    names = set()
    for _where, task in _tasks(role):
        if "ansible.builtin.user" in task:
            words = re.findall(r"\b[a-z]\w*\b", str(task["ansible.builtin.user"]["name"]))
            names.update(word for word in words if word in public)
    return names


ACCOUNT_ROLES = sorted(role.name for role in ROLES.iterdir() if _account_variables(role.name))


def test_the_service_roles_are_found() -> None:
    assert ACCOUNT_ROLES == ["engine", "fleet_router", "mcp_gateway", "opa", "qdrant"]


@pytest.mark.parametrize("role", ACCOUNT_ROLES)
def test_each_account_role_records_the_account_it_creates(role: str) -> None:
    output = yaml.safe_load((ROLES / role / "tasks" / "output.yml").read_text())
    record = next(task for task in output if "ansible.builtin.copy" in task)
    assert record["ansible.builtin.copy"]["dest"] == f"{{{{ __{role}_facts_dir }}}}/sovereign_{role}.fact"
    fields = record["vars"][f"__{role}_output"]
    # Every account role records these two; qdrant also where it lives (test_qdrant_record_readers.py).
    assert {"service_user", "ports"} <= set(fields)
    assert fields["service_user"] == f"{{{{ {_account_variables(role).pop()} }}}}"
    assert output[-1]["ansible.builtin.setup"]["gather_subset"] == ["!all", "!min", "local"]
    included = [
        task for _where, task in _tasks(role) if task.get("ansible.builtin.include_tasks") == "output.yml"
    ]
    assert len(included) == 1, role
    facts_dir = yaml.safe_load((ROLES / role / "vars" / "Debian.yml").read_text())[f"__{role}_facts_dir"]
    assert facts_dir == "/etc/ansible/facts.d"
