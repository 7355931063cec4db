# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""docs/inventory-reference.md is generated (docs/dev/gen_inventory_reference.py) and complete: the
committed page is the generator's output, every sovereign_* name the code uses is in
meta/variables.yml, every result a role sets is listed there, and every role has its page under
docs/roles/."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
GENERATOR = REPO_ROOT / "docs" / "dev" / "gen_inventory_reference.py"
DATA_FILE = REPO_ROOT / "meta" / "variables.yml"
SCANNED = ("plugins", "playbooks", "roles")
# A whole name: `sovereign_artifact_*` (a wildcard in a comment) is not one.
NAME = re.compile(r"\bsovereign_[a-z_]+\b(?!\*)")
ROLES = sorted(path.parent.parent.name for path in (REPO_ROOT / "roles").glob("*/tasks/main.yml"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_inventory_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return data


def _names_in_code() -> dict[str, str]:
    """Each sovereign_* name used in the scanned trees, with one file that uses it."""
    found: dict[str, str] = {}
    for top in SCANNED:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for name in NAME.findall(text):
                found.setdefault(name, str(path.relative_to(REPO_ROOT)))
    return found


def test_the_committed_page_is_the_generators_output() -> None:
    page = REPO_ROOT / "docs" / "inventory-reference.md"
    assert page.read_text(encoding="utf-8") == _generator().render(), (
        "docs/inventory-reference.md is stale: run python docs/dev/gen_inventory_reference.py"
    )


def test_every_sovereign_name_in_the_code_is_in_the_data_file() -> None:
    data = _data()
    known = set(data["variables"]) | set(data["not_variables"])
    missing = {name: where for name, where in _names_in_code().items() if name not in known}
    assert missing == {}, (
        "add these names (first file using each shown) to meta/variables.yml, "
        "then run python docs/dev/gen_inventory_reference.py"
    )


def test_the_scan_finds_the_names_it_must() -> None:
    """Guards the scan itself: these are read by plugins and playbooks today."""
    found = _names_in_code()
    assert {"sovereign_deployments", "sovereign_artifact_offline", "sovereign_layers"} <= set(found)
    assert "sovereign_artifact_" not in found


def test_every_data_file_entry_is_complete() -> None:
    data = _data()
    assert not set(data["variables"]) & set(data["not_variables"])
    for name, entry in data["variables"].items():
        assert NAME.fullmatch(name), name
        assert entry["kind"] in ("inventory", "extra_var", "result"), name
        assert ("default" in entry) != ("default_text" in entry), name
        for key in ("type", "read_by", "meaning"):
            assert str(entry.get(key) or "").strip(), f"{name}: {key}"
    for name, reason in data["not_variables"].items():
        assert NAME.fullmatch(name) and str(reason).strip(), name


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_its_page(role: str) -> None:
    page = REPO_ROOT / "docs" / "roles" / f"{role}.md"
    assert page.is_file(), f"docs/roles/{role}.md is missing"
    assert f"sovereign.stack.{role}" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_every_role_is_on_the_page(role: str) -> None:
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    page = _generator().render()
    for entry_point in specs["argument_specs"].values():
        for name in entry_point.get("options") or {}:
            assert f"| `{name}` |" in page, f"{role}: {name}"


def test_a_spec_renders_with_sub_options_choices_and_escaped_pipes(tmp_path: Path) -> None:
    meta = tmp_path / "demo_role" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(
        yaml.safe_dump(
            {
                "argument_specs": {
                    "main": {
                        "short_description": "Do a thing",
                        "options": {
                            "demo_role_items": {
                                "type": "list",
                                "elements": "dict",
                                "default": [],
                                "description": ["Items; see C(a | b) and <dir>."],
                                "options": {
                                    "mode": {"type": "str", "choices": ["on", "off"], "required": True},
                                },
                            },
                            "demo_role_key": {
                                "type": "str",
                                "no_log": True,
                                "description": ["The key", "kept apart."],
                            },
                        },
                    }
                }
            }
        )
    )
    lines = _generator().render_roles(tmp_path)
    assert (
        "| `demo_role_items` | list of dict | `[]` |  |  | Items; see `a \\| b` and &lt;dir&gt;. |" in lines
    )
    assert "| `demo_role_items[].mode` | str |  | yes | `on`, `off` |  |" in lines
    # A YAML flow sequence split the sentence at its comma; the comma comes back.
    assert "| `demo_role_key` | str |  |  |  | The key, kept apart. A secret: never logged. |" in lines
    assert "Do a thing." in lines


def test_check_mode_reports_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = _generator()
    page = tmp_path / "inventory-reference.md"
    monkeypatch.setattr(generator, "PAGE", page)
    monkeypatch.setattr(generator, "REPO_ROOT", tmp_path)
    page.write_text("stale\n", encoding="utf-8")
    assert generator.main(["--check"]) == 1
    assert "run python docs/dev/gen_inventory_reference.py" in capsys.readouterr().err
    assert generator.main([]) == 0
    assert page.read_text(encoding="utf-8") == generator.render()
    assert generator.main(["--check"]) == 0


def _set_names(node: Any) -> set[str]:
    """Names a task file sets for later tasks: set_fact keys and register targets."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("set_fact", "ansible.builtin.set_fact") and isinstance(value, dict):
                names.update(name for name in value if name != "cacheable")
            elif key == "register" and isinstance(value, str):
                names.add(value)
            else:
                names |= _set_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= _set_names(item)
    return names


def test_every_result_a_role_or_playbook_sets_is_known() -> None:
    """The planner refuses unknown sovereign_* and <role>_* names: the collection's own results
    (kept in a fact cache between runs) must never be among them."""
    from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import known_variables

    files = [*(REPO_ROOT / "roles").glob("*/tasks/*.yml"), *(REPO_ROOT / "playbooks").glob("*.yml")]
    public = {
        name: str(path.relative_to(REPO_ROOT))
        for path in sorted(files)
        for name in _set_names(yaml.safe_load(path.read_text(encoding="utf-8")))
        if not name.startswith("_") and name.startswith(known_variables.prefixes())
    }
    assert "tailscale_ipv4" in public and "sovereign_plan" in public
    unknown = {name: where for name, where in public.items() if name not in known_variables.known_names()}
    assert unknown == {}, "add these results to meta/variables.yml (role_results or variables)"


@pytest.mark.parametrize(("section", "by"), [("role_results", "role"), ("playbook_options", "playbook")])
def test_every_role_name_entry_is_complete(section: str, by: str) -> None:
    for name, entry in _data()[section].items():
        for key in (by, "type", "meaning"):
            assert str(entry.get(key) or "").strip(), f"{name}: {key}"
