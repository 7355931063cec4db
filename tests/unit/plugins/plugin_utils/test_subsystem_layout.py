# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""plugins/plugin_utils is split by subsystem (issue 23: one flat folder of some forty files mixed the
planner, the artifact and weights cache and the driver rules): catalog/ is read by the three others,
which never import one another; only the two shared modules stay at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PLUGIN_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "plugin_utils"
PREFIX = "ansible_collections.sovereign.stack.plugins.plugin_utils."
SHARED = {"input_rules", "play_settings"}
# subsystem -> the subsystems it may import (besides itself and the shared modules)
MAY_IMPORT = {"catalog": set(), "planner": {"catalog"}, "cache": {"catalog"}, "drivers": {"catalog"}}


def _imported_subsystems(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            found.add(node.module.removeprefix(PREFIX).split(".")[0])
    return found


def test_only_the_shared_modules_stay_at_the_top() -> None:
    assert {path.stem for path in PLUGIN_UTILS.glob("*.py")} == SHARED
    folders = {path.name for path in PLUGIN_UTILS.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert folders == set(MAY_IMPORT)


@pytest.mark.parametrize("subsystem", sorted(MAY_IMPORT))
def test_a_subsystem_imports_only_the_catalog_and_the_shared_modules(subsystem: str) -> None:
    allowed = MAY_IMPORT[subsystem] | SHARED | {subsystem}
    for path in sorted((PLUGIN_UTILS / subsystem).glob("*.py")):
        assert _imported_subsystems(path) <= allowed, path.name
    for shared in SHARED:
        assert _imported_subsystems(PLUGIN_UTILS / f"{shared}.py") == set(), shared
