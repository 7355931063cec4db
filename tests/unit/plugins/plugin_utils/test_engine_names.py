# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/engine_names.py: one list of the engines the planner can start.

The deployment reader and the eligibility rules name the engines a deployment may pin; the command
lines are engine_argv.py's. Both read the names from engine_names.py, so the readers never import
the builders (issue 23) and the two cannot disagree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_argv import BUILDERS
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_names import ENGINES_WITH_ARGV

PLUGIN_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "plugin_utils" / "planner"


def _imported_modules(name: str) -> set[str]:
    tree = ast.parse((PLUGIN_UTILS / f"{name}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.rsplit(".", 1)[-1])
            found.update(f"{node.module.rsplit('.', 1)[-1]}.{alias.name}" for alias in node.names)
    return found


def test_every_listed_engine_has_a_command_line_and_no_other() -> None:
    assert tuple(BUILDERS) == ENGINES_WITH_ARGV


@pytest.mark.parametrize("reader", ["plan_inputs", "eligibility"])
def test_readers_of_engine_names_do_not_import_the_command_lines(reader: str) -> None:
    imported = _imported_modules(reader)
    assert "engine_argv" not in imported
    assert "planner.engine_argv" not in imported
    assert "engine_names" in imported
