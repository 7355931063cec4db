# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Every role's interface, checked the same way (shared/STYLE.md rule 1): meta/argument_specs.yml
and defaults/main.yml agree, every option is prefixed, typed, described and named in the role's doc
page, and every template carries the ansible_managed header. Role-specific checks stay in the
role's own test file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
ROLES_DIR = REPO_ROOT / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks" / "main.yml").is_file())
# Roles whose page is not docs/roles/<role>.md.
DOC_PAGES: dict[str, str] = {}
TYPES = {"bool", "int", "float", "str", "list", "dict", "path", "raw"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _defaults(role: str) -> dict[str, Any]:
    path = ROLES_DIR / role / "defaults" / "main.yml"
    return (_yaml(path) or {}) if path.is_file() else {}


def _options(role: str) -> dict[str, Any]:
    specs = _yaml(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]
    options: dict[str, Any] = specs["main"].get("options") or {}
    return options


def test_the_roles_are_found() -> None:
    assert {"baseline", "engine", "firewall", "hardware", "nvidia", "opa", "rocm"} <= set(ROLES)


def test_a_role_directory_without_tasks_holds_only_files() -> None:
    """roles/mcp_gateway carries the gateway service (files/) until its tasks land."""
    others = {path.name for path in ROLES_DIR.iterdir() if path.is_dir()} - set(ROLES)
    for name in others:
        assert [child.name for child in (ROLES_DIR / name).iterdir()] == ["files"], name


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role: str) -> None:
    assert set(_defaults(role)) == set(_options(role))


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_prefixed_typed_described_and_defaulted_as_in_defaults(role: str) -> None:
    defaults = _defaults(role)
    for name, spec in _options(role).items():
        assert name.startswith(f"{role}_"), name
        assert spec.get("type") in TYPES, name
        assert spec.get("description"), name
        assert spec.get("default") == defaults.get(name), name
        if spec["type"] == "list":
            assert spec.get("elements"), name
        value = defaults.get(name)
        if spec["type"] == "bool" and "{{" not in str(value):
            assert isinstance(value, bool), name
        if "choices" in spec and value is not None and "{{" not in str(value):
            assert value in spec["choices"], name


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_named_in_the_role_doc(role: str) -> None:
    page = REPO_ROOT / DOC_PAGES.get(role, f"docs/roles/{role}.md")
    text = page.read_text(encoding="utf-8")
    # As a whole word: rocm_verify inside test_rocm_verify.py does not count.
    missing = [name for name in _options(role) if not re.search(rf"(?<!\w){name}(?!\w)", text)]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_every_template_carries_the_ansible_managed_header(role: str) -> None:
    """First line; a plist's header follows the XML declaration and DOCTYPE it must start with."""
    for template in sorted((ROLES_DIR / role / "templates").rglob("*.j2")):
        lines = template.read_text(encoding="utf-8").splitlines()
        head = lines[:4] if template.name.endswith(".plist.j2") else lines[:1]
        assert any(line.lstrip().startswith("{{ ansible_managed | comment") for line in head), template
