# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Random inventories and facts through the planner: every failure is a plan error that names a host
or a variable, never a Python exception, and every plan that comes out is safe to write.

Inputs mix plausible values (catalog ids, real shapes of the hardware fact, sizes near the limits)
with anything YAML or a fact cache could hold: NaN, infinities, huge integers, strings with units,
newlines, '..', nested junk. SOVEREIGN_FUZZ_EXAMPLES raises the number of examples for a long run.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from typing import Any
from unittest.mock import MagicMock

from ansible_collections.sovereign.stack.plugins.action.fleet_plan import ActionModule
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import (
    plan_markdown,
    plan_svg,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CATALOG = load_catalog()
EXAMPLES = int(os.environ.get("SOVEREIGN_FUZZ_EXAMPLES", "250"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
# Where a problem may point: a host's variable, the deployment list, or the catalog extensions.
PROBLEM_PREFIXES = ("hosts.", "sovereign_deployments", "sovereign_catalog_extensions")
GIB = 1024**3

TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "..",
        "../../etc",
        "/",
        "/etc",
        "a\nb",
        "x\r\n[Service]",
        "$(reboot)",
        "48GB",
        "nan",
        "NaN",
        "é",
        "e\u0301",
        "\u2025",
        "a|b",
        "<b>",
        "`x`",
        "%h",
        "$HOME",
        "\x00",
        "-rf",
        "Q4_K_M",
        "Qwen/Qwen3-8B",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 1e30, -0.0, float("nan"), float("inf"), float("-inf")]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TRICKY_TEXT, st.text(max_size=12))
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the plausible value, sometimes junk."""
    return st.one_of(strategy, strategy, strategy, JUNK)


DEVICE_IDS = st.sampled_from(sorted(CATALOG.devices))
MODEL_IDS = st.sampled_from(sorted(CATALOG.models))
QUANT_IDS = st.sampled_from(sorted(CATALOG.quantizations))
ENGINE_IDS = st.sampled_from(sorted(CATALOG.engines))
SIZES = st.one_of(st.integers(min_value=1, max_value=1024), NUMBERS)

DECLARED = st.fixed_dictionaries(
    {
        "gpus": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"device": maybe(DEVICE_IDS)},
                    optional={"count": maybe(st.integers(1, 8)), "nvlink": maybe(st.booleans())},
                ),
                max_size=3,
            )
        )
    },
    optional={"memory_gib": maybe(SIZES), "unified_memory_gpu_limit_gib": maybe(SIZES), "cpu": JUNK},
)
GPU_FACT = st.fixed_dictionaries(
    {
        "index": maybe(st.integers(0, 7)),
        "vendor": maybe(st.sampled_from(["nvidia", "amd", "apple", "intel"])),
        "name": maybe(st.sampled_from(["NVIDIA GeForce RTX 4090", "AMD Instinct MI300X", "Apple M3 Ultra"])),
        "memory_total_bytes": maybe(st.one_of(st.none(), st.integers(0, 200 * GIB))),
        "compute_capability": maybe(st.sampled_from(["8.9", "9.0", "12.0", None])),
    },
    optional={
        "pci_device_id": maybe(st.sampled_from(["0x2684", "0x74a1"])),
        "nvlink_peers": maybe(st.lists(st.integers(0, 7))),
        "unified_memory": maybe(st.booleans()),
    },
)
FACT = st.fixed_dictionaries(
    {
        "memory": maybe(st.fixed_dictionaries({"total_bytes": maybe(st.integers(1, 2048 * GIB))})),
        "gpus": maybe(st.lists(GPU_FACT, max_size=3)),
    },
    optional={
        "unified_memory": maybe(
            st.fixed_dictionaries(
                {
                    "kind": maybe(st.sampled_from(["apple", "nvidia_gb10", "amd_apu"])),
                    "total_bytes": maybe(st.integers(0, 512 * GIB)),
                    "gpu_limit_bytes": maybe(st.integers(0, 512 * GIB)),
                }
            )
        )
    },
)
HOST_VARS = st.fixed_dictionaries(
    {},
    optional={
        "sovereign_hardware_declared": maybe(DECLARED),
        "sovereign_hardware": maybe(FACT),
        "sovereign_memory_reserve_gib": maybe(st.integers(0, 16)),
        "sovereign_memory_bandwidth_gbs": maybe(st.floats(1, 1000)),
        "sovereign_models_dir": maybe(
            st.sampled_from(["/srv/models", "/var/lib/sovereign/models/", "/opt/m"])
        ),
        "sovereign_layers": maybe(st.lists(st.sampled_from(["engine", "baseline", "firewall", "engines"]))),
        "sovereign_services": maybe(st.lists(st.sampled_from(["qdrant", "opa", "mcp_gateway"]))),
        "opa_port": maybe(st.integers(1, 65535)),
        "sovereign_catalog_extensions": JUNK,
    },
)
DEPLOYMENT = st.fixed_dictionaries(
    {"name": maybe(st.sampled_from(["chat", "coder", "rag", "x.y_z-1"])), "model": maybe(MODEL_IDS)},
    optional={
        "replicas": maybe(st.integers(1, 3)),
        "context": maybe(st.integers(1, 65536)),
        "concurrency": maybe(st.integers(1, 16)),
        "engine": maybe(ENGINE_IDS),
        "quant": maybe(QUANT_IDS),
        "port": maybe(st.integers(1024, 65535)),
        "allow_cpu_offload": maybe(st.booleans()),
        "allow_context_reduction": maybe(st.booleans()),
        "allow_partial_placement": maybe(st.booleans()),
        "kv_cache_dtype": maybe(st.sampled_from(["fp16", "q8_0", "fp8"])),
        "hosts": JUNK,
        **{key: JUNK for key in ("replica", "modle")},
    },
)
HOST_NAMES = st.one_of(st.sampled_from(["rig", "mac-1", "lab|gpu", "box"]), st.text(min_size=1, max_size=8))
HOSTVARS = st.dictionaries(HOST_NAMES, HOST_VARS, min_size=1, max_size=4)
DEPLOYMENTS = maybe(st.lists(DEPLOYMENT, max_size=4))


def _check_plan(document: dict[str, Any]) -> None:
    """A plan that comes out is JSON, its paths lie inside each host's folder, its reports render."""
    json.dumps(document, allow_nan=False)
    for entry in document["hosts"].values():
        root = entry["models_dir"]
        for item in entry["deployments"]:
            path = item["model_path"]
            assert posixpath.normpath(path) == path and path.startswith(root + "/"), path
            assert all(isinstance(word, str) and "\n" not in word for word in item["argv"]), item["argv"]
            assert math.isfinite(item["memory"]["total_bytes"])
    markdown = plan_markdown(document)
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert line.endswith("|"), line
    plan_svg(document)


@FUZZ
@given(hostvars=HOSTVARS, deployments=DEPLOYMENTS)
def test_any_inventory_plans_or_fails_with_a_plan_error(hostvars: dict[str, Any], deployments: Any) -> None:
    try:
        document, _fleet = compute_plan(hostvars, deployments)
    except PlanInputError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.startswith(PROBLEM_PREFIXES), problem
        return
    _check_plan(document)


def _action() -> ActionModule:
    task = MagicMock()
    task.args = {"output_dir": "/nonexistent/plan-output"}
    task.check_mode = True
    task.async_val = 0
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    return ActionModule(task, MagicMock(), MagicMock(), MagicMock(), templar, MagicMock())


@FUZZ
@given(
    hostvars=HOSTVARS,
    deployments=DEPLOYMENTS,
    extra=st.dictionaries(
        st.sampled_from(
            ["sovereign_deployment", "engine_purge_weight", "sovereign_allowed_variables", "unrelated"]
        ),
        JUNK,
        max_size=2,
    ),
)
def test_the_action_turns_every_bad_inventory_into_a_failed_result(
    hostvars: dict[str, Any], deployments: Any, extra: dict[str, Any]
) -> None:
    for variables in hostvars.values():
        variables.update(extra)
        variables["sovereign_deployments"] = deployments
    result = _action().run(task_vars={"hostvars": hostvars, "ansible_play_hosts_all": list(hostvars)})
    if result.get("failed"):
        assert result["msg"].startswith(("The fleet cannot be planned", "Deployments that fit nowhere")), (
            result
        )
        for problem in result.get("problems", []):
            assert problem.startswith((*PROBLEM_PREFIXES, "unknown variable")), problem
    else:
        _check_plan(result["plan"])
