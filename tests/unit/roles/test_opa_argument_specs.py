# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The opa role's interface beyond the checks every role gets (test_role_interfaces.py): secure
defaults, and the shipped policies are listed."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "opa"


def test_secure_defaults() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["opa_listen_address"] == "127.0.0.1"
    assert defaults["opa_port"] == 8181
    assert defaults["opa_bundles"] == {} and defaults["opa_services"] == {}
    assert defaults["opa_api_authorization"] is True
    assert defaults["opa_data"]["clients"] == {}


def test_every_shipped_policy_file_is_listed_once() -> None:
    """vars/main.yml names the files the role copies; a new .rego file must be added there."""
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    root = ROLE / "files" / "policies"
    shipped = {str(path.relative_to(root)) for path in root.rglob("*.rego")}
    policies, tests = variables["__opa_policy_files"], variables["__opa_test_files"]
    assert sorted(policies + tests) == sorted(shipped)
    assert all(name.endswith("_test.rego") for name in tests)
    assert not any(name.endswith("_test.rego") for name in policies)
