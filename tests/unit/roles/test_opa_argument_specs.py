# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The opa role's interface: defaults and argument specs agree, and the shipped policies are listed."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "opa"
DOC = Path(__file__).resolve().parents[3] / "docs" / "roles" / "opa.md"


def _options() -> dict[str, dict[str, object]]:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options: dict[str, dict[str, object]] = specs["argument_specs"]["main"]["options"]
    return options


def test_defaults_agree_with_argument_specs() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    options = _options()
    assert set(defaults) == set(options)
    assert len(options) == 14
    for name, spec in options.items():
        assert name.startswith("opa_"), name
        assert spec["default"] == defaults[name], name
        assert spec["type"] and spec["description"], name


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


def test_doc_page_names_every_variable() -> None:
    text = DOC.read_text()
    for name in _options():
        assert f"`{name}`" in text, name
