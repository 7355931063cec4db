# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""catalog.py is the one place that says where catalogs/ is: no other plugin builds that path."""

from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.sovereign.stack.plugins.plugin_utils.cache import artifacts
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    DEFAULT_CATALOG_DIR,
    catalog_path,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.drivers import amd_rules, nvidia_rules

PLUGINS = Path(__file__).resolve().parents[4] / "plugins"
# A path built to the folder: `/ "catalogs"`, `"catalogs" /` or a string starting with catalogs/.
BUILDS_THE_PATH = re.compile(r"""/\s*["']catalogs["']|["']catalogs["']\s*/|["']catalogs/""")


def test_only_catalog_py_builds_the_catalogs_path() -> None:
    builders = [
        str(path.relative_to(PLUGINS))
        for path in sorted(PLUGINS.rglob("*.py"))
        if path.name != "catalog.py" and BUILDS_THE_PATH.search(path.read_text(encoding="utf-8"))
    ]
    assert builders == []


def test_the_driver_rules_and_the_artifact_cache_read_their_files_from_there() -> None:
    assert nvidia_rules.RULES_FILE == amd_rules.RULES_FILE == DEFAULT_CATALOG_DIR / "gpu_drivers.yml"
    assert catalog_path("artifacts.yml") == artifacts.DEFAULT_CATALOG_PATH
    assert catalog_path("gpu_drivers.yml").is_file() and catalog_path("artifacts.yml").is_file()
