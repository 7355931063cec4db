# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Unsafe, absurd and mistyped inventories: refused before planning, with host, variable, value and rule.

One test per case of issue 18 ("The plan refuses every unsafe or mistyped input before anything
changes"): identifiers and paths, numbers and facts, intent the plan cannot honour, mixed-vendor
hosts and the plan's own outputs. Unknown variables and per-host deployments are checked through
the action, which sees every host's variables: tests/unit/plugins/action/test_fleet_plan.py.
"""

from __future__ import annotations

import copy
import json
import posixpath
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import plan_markdown
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

GIB = 1024**3
RIG: dict[str, Any] = {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-4090"}], "memory_gib": 64}}
MAC: dict[str, Any] = {"sovereign_hardware_declared": {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192}}
AMD: dict[str, Any] = {"sovereign_hardware_declared": {"gpus": [{"device": "mi300x"}], "memory_gib": 256}}
CHAT = {"name": "chat", "model": "Qwen/Qwen3-8B"}
TINY_MODEL: dict[str, Any] = {
    "params_total_b": 1,
    "layers": 8,
    "hidden_size": 1024,
    "attention_heads": 8,
    "kv_heads": 8,
    "head_dim": 128,
    "vocab_size": 32000,
    "max_context": 4096,
}
GGUF_QUANT: dict[str, Any] = {
    "format": "gguf",
    "engines": ["llama.cpp"],
    "bits_per_weight": 8.5,
    "quality": 0.99,
    "vendors": ["nvidia", "amd", "apple", "cpu"],
}


def rig(**variables: Any) -> dict[str, Any]:
    return {"rig": {**copy.deepcopy(RIG), **variables}}


def declared(**hardware: Any) -> dict[str, Any]:
    return {
        "rig": {
            "sovereign_hardware_declared": {**copy.deepcopy(RIG["sovereign_hardware_declared"]), **hardware}
        }
    }


def fact(**changes: Any) -> dict[str, Any]:
    """A detected RTX 4090 host, as module hardware_facts reports it, with ``changes`` applied."""
    gpu = {
        "index": 0,
        "name": "NVIDIA GeForce RTX 4090",
        "vendor": "nvidia",
        "pci_device_id": "0x2684",
        "memory_total_bytes": 24 * GIB,
        "compute_capability": "8.9",
    }
    gpu.update(changes.pop("gpu", {}))
    hardware = {"memory": {"total_bytes": 64 * GIB}, "gpus": [gpu], **changes}
    return {"rig": {"sovereign_hardware": hardware}}


def problems_of(hostvars: dict[str, Any], deployments: Any) -> str:
    with pytest.raises(PlanInputError) as caught:
        compute_plan(hostvars, deployments)
    return "\n".join(caught.value.problems)


def plan_of(hostvars: dict[str, Any], deployments: Any) -> dict[str, Any]:
    document, _fleet = compute_plan(hostvars, deployments)
    return document


# Identifiers and paths: every value that becomes a path, a unit line or an argv word.
IDENTIFIERS = [
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "quantizations": {
                    "../../../../../etc": {
                        "format": "safetensors",
                        "engines": ["vllm"],
                        "bits_per_weight": 16,
                        "quality": 1,
                        "vendors": ["nvidia"],
                    }
                }
            }
        ),
        [{**CHAT, "engine": "vllm", "quant": "../../../../../etc"}],
        ["sovereign_catalog_extensions.quantizations", "'../../../../../etc'", "letters, digits"],
        id="quant-id-traversal",
    ),
    pytest.param(
        rig(),
        [{"name": "up", "model": {**TINY_MODEL, "id": ".."}}],
        ["sovereign_deployments[0] (name 'up').model", "'..'", "owner/name"],
        id="model-id-dot-dot",
    ),
    pytest.param(
        rig(),
        [{"name": "up", "model": {**TINY_MODEL, "id": "../../etc"}}],
        ["sovereign_deployments[0] (name 'up').model", "'../../etc'", "owner/name"],
        id="model-id-traversal",
    ),
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "models": {"evil/x\n[Service]\nExecStartPre=/bin/sh -c id": TINY_MODEL}
            }
        ),
        [CHAT],
        ["sovereign_catalog_extensions.models", "ExecStartPre", "owner/name"],
        id="model-id-newline-unit-injection",
    ),
    pytest.param(
        rig(),
        [{"name": "up", "model": {**TINY_MODEL, "id": "owner/$(reboot)"}}],
        ["sovereign_deployments[0] (name 'up').model", "'owner/$(reboot)'", "owner/name"],
        id="model-id-shell-substitution",
    ),
    pytest.param(
        rig(),
        [{"name": "up", "model": {**TINY_MODEL, "id": "owner/name;rm -rf ~"}}],
        ["sovereign_deployments[0] (name 'up').model", "owner/name"],
        id="model-id-shell-metacharacters",
    ),
    pytest.param(
        rig(sovereign_models_dir="models"),
        [CHAT],
        ["hosts.rig.sovereign_models_dir", "'models'", "absolute"],
        id="models-dir-relative",
    ),
    pytest.param(
        rig(sovereign_models_dir="/"),
        [CHAT],
        ["hosts.rig.sovereign_models_dir", "'/'", "system"],
        id="models-dir-root",
    ),
    pytest.param(
        rig(sovereign_models_dir="/etc"),
        [CHAT],
        ["hosts.rig.sovereign_models_dir", "'/etc'", "system"],
        id="models-dir-etc",
    ),
    pytest.param(
        rig(sovereign_models_dir="/var/lib/sovereign/../../../etc"),
        [CHAT],
        ["hosts.rig.sovereign_models_dir", "'/var/lib/sovereign/../../../etc'", "normalised"],
        id="models-dir-dot-dot",
    ),
    pytest.param(
        rig(sovereign_models_dir="/srv/models\nExecStartPre=/bin/sh"),
        [CHAT],
        ["hosts.rig.sovereign_models_dir", "ExecStartPre", "letters, digits"],
        id="models-dir-newline",
    ),
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "engines": {
                    "llama.cpp": {
                        "version": "b1\nExecStartPre=/bin/sh",
                        "formats": ["gguf"],
                        "vendors": ["nvidia"],
                        "default_port": 8080,
                    }
                }
            }
        ),
        [CHAT],
        ["sovereign_catalog_extensions.engines.llama.cpp.version", "ExecStartPre"],
        id="engine-version-newline",
    ),
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "engines": {
                    "vllm": {
                        "version": "../../../../etc",
                        "formats": ["safetensors"],
                        "vendors": ["nvidia"],
                        "default_port": 8000,
                    }
                }
            }
        ),
        [CHAT],
        ["sovereign_catalog_extensions.engines.vllm.version", "'../../../../etc'"],
        id="engine-version-traversal",
    ),
]


@pytest.mark.parametrize(("hostvars", "deployments", "fragments"), IDENTIFIERS)
def test_unsafe_identifiers_and_paths_are_refused(
    hostvars: dict[str, Any], deployments: Any, fragments: list[str]
) -> None:
    message = problems_of(hostvars, deployments)
    for fragment in fragments:
        assert fragment in message, message


def test_every_model_path_lies_inside_the_models_folder() -> None:
    hostvars = {**rig(sovereign_models_dir="/srv/models/"), "mac": copy.deepcopy(MAC)}
    deployments = [
        CHAT,
        {"name": "big", "model": "Qwen/Qwen3-32B"},
        {"name": "m", "model": "Qwen/Qwen3-4B", "hosts": ["mac"]},
    ]
    document = plan_of(hostvars, deployments)
    for host, entry in document["hosts"].items():
        root = entry["models_dir"]
        assert posixpath.isabs(root) and posixpath.normpath(root) == root, root
        for item in entry["deployments"]:
            path = item["model_path"]
            assert posixpath.normpath(path) == path and path.startswith(root + "/"), (host, path)


# Numbers and facts: type, NaN, infinity, plausible range.
NUMBERS = [
    pytest.param(
        declared(memory_gib=float("nan")),
        ["hosts.rig.sovereign_hardware_declared.memory_gib", "nan"],
        id="memory-nan",
    ),
    pytest.param(
        declared(memory_gib=float("inf")),
        ["hosts.rig.sovereign_hardware_declared.memory_gib", "inf"],
        id="memory-infinity",
    ),
    pytest.param(
        declared(memory_gib="48GB"),
        ["hosts.rig.sovereign_hardware_declared.memory_gib", "'48GB'"],
        id="memory-string-with-unit",
    ),
    pytest.param(
        declared(memory_gib=1e30),
        ["hosts.rig.sovereign_hardware_declared.memory_gib", "at most"],
        id="memory-absurd",
    ),
    pytest.param(
        declared(gpus=[{"device": "rtx-4090", "count": 100000}]),
        ["hosts.rig.sovereign_hardware_declared.gpus[0].count", "100000", "at most"],
        id="gpu-count-absurd",
    ),
    pytest.param(
        declared(gpus=[{"device": "rtx-4090", "count": 2.5}]),
        ["hosts.rig.sovereign_hardware_declared.gpus[0].count", "2.5"],
        id="gpu-count-fraction",
    ),
    pytest.param(
        rig(sovereign_memory_reserve_gib=float("nan")),
        ["hosts.rig.sovereign_memory_reserve_gib", "nan"],
        id="reserve-nan",
    ),
    pytest.param(
        rig(sovereign_memory_bandwidth_gbs=float("inf")),
        ["hosts.rig.sovereign_memory_bandwidth_gbs", "inf"],
        id="bandwidth-infinity",
    ),
    pytest.param(
        rig(sovereign_memory_bandwidth_gbs="fast"),
        ["hosts.rig.sovereign_memory_bandwidth_gbs", "'fast'"],
        id="bandwidth-string",
    ),
    pytest.param(
        declared(unified_memory_gpu_limit_gib=float("nan")),
        ["hosts.rig.sovereign_hardware_declared.unified_memory_gpu_limit_gib", "nan"],
        id="gpu-limit-nan",
    ),
    pytest.param(
        fact(memory={"total_bytes": "48GB"}),
        ["hosts.rig.sovereign_hardware.memory.total_bytes", "'48GB'"],
        id="fact-memory-string",
    ),
    pytest.param(
        fact(memory={"total_bytes": float("nan")}),
        ["hosts.rig.sovereign_hardware.memory.total_bytes"],
        id="fact-memory-nan",
    ),
    pytest.param(
        fact(gpu={"memory_total_bytes": float("nan")}),
        ["hosts.rig.sovereign_hardware.gpus[0].memory_total_bytes", "nan"],
        id="fact-gpu-memory-nan",
    ),
    pytest.param(
        fact(gpu={"memory_total_bytes": "24GB"}),
        ["hosts.rig.sovereign_hardware.gpus[0].memory_total_bytes", "'24GB'"],
        id="fact-gpu-memory-string",
    ),
    pytest.param(
        fact(gpu={"index": "first"}),
        ["hosts.rig.sovereign_hardware.gpus[0].index", "'first'"],
        id="fact-gpu-index-string",
    ),
    pytest.param(
        fact(gpu={"compute_capability": "eight"}),
        ["hosts.rig.sovereign_hardware.gpus[0].compute_capability", "'eight'"],
        id="fact-capability-text",
    ),
    pytest.param(
        fact(gpus="none"), ["hosts.rig.sovereign_hardware.gpus", "'none'"], id="fact-gpus-not-a-list"
    ),
    pytest.param(
        fact(gpu={"nvlink_peers": ["x"]}),
        ["hosts.rig.sovereign_hardware.gpus[0].nvlink_peers"],
        id="fact-nvlink-peers-text",
    ),
    pytest.param(
        fact(unified_memory={"total_bytes": float("inf"), "kind": "apple"}),
        ["hosts.rig.sovereign_hardware.unified_memory.total_bytes"],
        id="fact-unified-infinity",
    ),
    pytest.param(
        fact(unified_memory={"total_bytes": 64 * GIB, "kind": "quantum"}),
        ["hosts.rig.sovereign_hardware.unified_memory.kind", "'quantum'"],
        id="fact-unified-kind",
    ),
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "devices": {
                    "lab": {
                        "name": "Lab",
                        "vendor": "nvidia",
                        "memory_gib": float("nan"),
                        "bandwidth_gbs": 100,
                    }
                }
            }
        ),
        ["sovereign_catalog_extensions.devices.lab.memory_gib", "nan"],
        id="extension-device-memory-nan",
    ),
    pytest.param(
        rig(
            sovereign_catalog_extensions={
                "devices": {
                    "lab": {
                        "name": "Lab",
                        "vendor": "nvidia",
                        "memory_gib": 24,
                        "bandwidth_gbs": float("inf"),
                    }
                }
            }
        ),
        ["sovereign_catalog_extensions.devices.lab.bandwidth_gbs", "inf"],
        id="extension-bandwidth-infinity",
    ),
    pytest.param(
        rig(sovereign_catalog_extensions={"models": {"lab/huge": {**TINY_MODEL, "layers": 10**9}}}),
        ["sovereign_catalog_extensions.models.lab/huge.layers", "at most"],
        id="extension-layers-absurd",
    ),
]


@pytest.mark.parametrize(("hostvars", "fragments"), NUMBERS)
def test_numbers_are_checked_for_type_nan_and_range(hostvars: dict[str, Any], fragments: list[str]) -> None:
    message = problems_of(hostvars, [CHAT])
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("deployment", "fragments"),
    [
        pytest.param(
            {**CHAT, "concurrency": 10**9}, ["(name 'chat').concurrency", "at most"], id="concurrency"
        ),
        pytest.param({**CHAT, "replicas": 10**9}, ["(name 'chat').replicas", "at most"], id="replicas"),
        pytest.param({**CHAT, "context": float("nan")}, ["(name 'chat').context", "nan"], id="context-nan"),
        pytest.param({**CHAT, "port": float("inf")}, ["(name 'chat').port", "inf"], id="port-infinity"),
        pytest.param(
            {"name": "x", "model": {**TINY_MODEL, "id": "lab/x", "params_total_b": float("inf")}},
            ["(name 'x').model", "params_total_b", "inf"],
            id="inline-model-infinity",
        ),
    ],
)
def test_deployment_numbers_are_checked(deployment: dict[str, Any], fragments: list[str]) -> None:
    message = problems_of(rig(), [deployment])
    for fragment in fragments:
        assert fragment in message, message


# Intent that the plan cannot honour, said in terms of the input.
def test_vllm_on_a_mac_names_the_platform_and_the_engines_that_run_there() -> None:
    message = problems_of({"mac-1": copy.deepcopy(MAC)}, [{**CHAT, "engine": "vllm"}])
    for fragment in ("(name 'chat').engine", "vllm does not run on", "mac-1", "apple", "mlx-lm", "llama.cpp"):
        assert fragment in message, message


def test_nvidia_only_quantization_on_an_amd_fleet_names_quant_and_vendor() -> None:
    message = problems_of(
        {"mi-1": copy.deepcopy(AMD), "mi-2": copy.deepcopy(AMD)}, [{**CHAT, "quant": "NVFP4"}]
    )
    for fragment in ("(name 'chat').quant", "NVFP4", "nvidia", "mi-1 (amd)", "mi-2 (amd)"):
        assert fragment in message, message


def test_a_quantization_the_model_is_not_published_in_is_named() -> None:
    message = problems_of(rig(), [{"name": "oss", "model": "openai/gpt-oss-20b", "quant": "Q4_K_M"}])
    for fragment in ("(name 'oss').quant", "Q4_K_M", "openai/gpt-oss-20b is published as MXFP4"):
        assert fragment in message, message


@pytest.mark.parametrize(
    ("port", "owner"),
    [(8181, "opa_port"), (6333, "qdrant_http_port"), (6334, "qdrant_grpc_port"), (8800, "mcp_gateway_port")],
)
def test_a_port_of_the_stack_itself_is_refused(port: int, owner: str) -> None:
    message = problems_of(rig(), [{**CHAT, "port": port}])
    for fragment in ("(name 'chat').port", str(port), owner, "rig"):
        assert fragment in message, message


def test_a_port_the_host_moved_a_stack_service_to_is_refused() -> None:
    message = problems_of(rig(opa_port=9000), [{**CHAT, "port": 9000}])
    assert "opa_port" in message and "9000" in message, message


def test_automatic_ports_step_over_the_stack_services() -> None:
    document = plan_of(rig(qdrant_http_port=8080), [{**CHAT, "engine": "llama.cpp"}])
    assert document["hosts"]["rig"]["deployments"][0]["port"] == 8081


def test_a_host_without_the_engine_layer_gets_no_deployment() -> None:
    hostvars = {**rig(sovereign_layers=["baseline", "firewall"]), "mac": copy.deepcopy(MAC)}
    document = plan_of(hostvars, [CHAT])
    assert document["hosts"]["rig"]["deployments"] == []
    assert [item["name"] for item in document["hosts"]["mac"]["deployments"]] == ["chat"]


def test_pinning_to_a_host_without_the_engine_layer_is_refused() -> None:
    message = problems_of(rig(sovereign_layers=["baseline"]), [{**CHAT, "hosts": ["rig"]}])
    for fragment in ("(name 'chat').hosts", "rig", "sovereign_layers", "engine"):
        assert fragment in message, message


def test_unknown_layers_and_services_are_refused() -> None:
    message = problems_of(rig(sovereign_layers=["engines"], sovereign_services=["qdrnt"]), [CHAT])
    assert "hosts.rig.sovereign_layers" in message and "'engines'" in message and "'engine'" in message, (
        message
    )
    assert "hosts.rig.sovereign_services" in message and "'qdrnt'" in message and "qdrant" in message, message


def test_declared_hardware_without_gpus_is_refused_not_read_as_cpu_only() -> None:
    message = problems_of({"rig": {"sovereign_hardware_declared": {"memory_gib": 64}}}, [CHAT])
    for fragment in ("hosts.rig.sovereign_hardware_declared.gpus", "missing", "gpus: []", "replaces"):
        assert fragment in message, message


def test_declared_cpu_only_host_with_an_empty_gpu_list_plans() -> None:
    document = plan_of({"box": {"sovereign_hardware_declared": {"gpus": [], "memory_gib": 64}}}, [CHAT])
    assert document["hosts"]["box"]["hardware"]["platform"] == "cpu"


# Mixed-vendor hosts: each deployment is pinned with its own vendor's variable.
MIXED: dict[str, Any] = {
    "mixed": {
        "sovereign_hardware": {
            "memory": {"total_bytes": 128 * GIB},
            "gpus": [
                {
                    "index": 0,
                    "name": "NVIDIA GeForce RTX 3060",
                    "vendor": "nvidia",
                    "pci_device_id": "0x2504",
                    "memory_total_bytes": 12 * GIB,
                    "compute_capability": "8.6",
                },
                {
                    "index": 0,
                    "name": "AMD Radeon RX 7900 XTX",
                    "vendor": "amd",
                    "pci_device_id": "0x744c",
                    "memory_total_bytes": 24 * GIB,
                },
            ],
        }
    }
}


def test_mixed_vendor_host_pins_each_deployment_with_its_vendors_variable() -> None:
    deployments = [
        {
            "name": "big",
            "model": "Qwen/Qwen3-14B",
            "quant": "Q8_0",
            "context": 32768,
            "allow_cpu_offload": False,
        },
        {"name": "small", "model": "Qwen/Qwen3-4B", "quant": "Q8_0"},
    ]
    document = plan_of(copy.deepcopy(MIXED), deployments)
    placed = {item["name"]: item for item in document["hosts"]["mixed"]["deployments"]}
    assert placed["big"]["env"] == {"HIP_VISIBLE_DEVICES": "0"}, placed["big"]
    assert placed["big"]["gpu_vendor"] == "amd"
    assert placed["small"]["env"] == {"CUDA_VISIBLE_DEVICES": "0"}, placed["small"]
    assert placed["small"]["gpu_vendor"] == "nvidia"


def test_declared_mixed_host_numbers_each_vendors_gpus_from_zero() -> None:
    hostvars = {
        "mixed": {
            "sovereign_hardware_declared": {
                "gpus": [{"device": "rtx-3060", "count": 2}, {"device": "rx-7900-xtx"}],
                "memory_gib": 128,
            }
        }
    }
    document = plan_of(hostvars, [])
    gpus = document["hosts"]["mixed"]["hardware"]["gpus"]
    assert [(gpu["vendor"], gpu["index"]) for gpu in gpus] == [("nvidia", 0), ("nvidia", 1), ("amd", 0)]


# The plan's own outputs.
def test_plan_md_escapes_what_it_prints() -> None:
    document = plan_of({"lab|gpu": copy.deepcopy(RIG)}, [CHAT])
    text = plan_markdown(document)
    rows = [line for line in text.splitlines() if "lab" in line and line.startswith("|")]
    assert rows and all("lab\\|gpu" in row for row in rows), rows
    deployment_rows = [row for row in rows if row.startswith("| lab\\|gpu | chat |")]
    assert deployment_rows and all(row.count("|") - row.count("\\|") == 12 for row in deployment_rows), rows


def test_plan_json_is_the_same_whatever_the_host_order() -> None:
    hosts = {"b-rig": copy.deepcopy(RIG), "a-mac": copy.deepcopy(MAC), "c-amd": copy.deepcopy(AMD)}
    deployments = [{**CHAT, "replicas": 2}, {"name": "m", "model": "Qwen/Qwen3-4B"}]
    first = json.dumps(plan_of(hosts, deployments), indent=2)
    reordered = dict(reversed(list(hosts.items())))
    assert json.dumps(plan_of(reordered, deployments), indent=2) == first


def test_a_cpu_memory_device_before_a_gpu_keeps_the_gpu_usable() -> None:
    """Found by the fuzz test: the CPU entry shifted the GPU's slot past the end of the GPU list."""
    hostvars = {
        "rig": {
            "sovereign_hardware_declared": {
                "gpus": [{"device": "cpu-ddr4-dual-channel"}, {"device": "a100-40gb"}],
                "memory_gib": 64,
            }
        }
    }
    document = plan_of(hostvars, [CHAT])
    assert document["hosts"]["rig"]["deployments"][0]["gpus"] == [0]
