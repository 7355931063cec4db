# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Bad inventories: every problem is reported with where it is, the value and what would be valid.

Covers plugins/plugin_utils/planner/plan_inputs.py, hosts.py, placement.check_requests and planner.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import parse_deployments
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

HOSTS: dict[str, Any] = {
    "ws-3090": {
        "sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 64}
    },
    "mac": {"sovereign_hardware_declared": {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192}},
}
CHAT = {"name": "chat", "model": "Qwen/Qwen3-8B"}


def hosts_with(host: str, **variables: Any) -> dict[str, Any]:
    changed = copy.deepcopy(HOSTS)
    changed[host].update(variables)
    return changed


BAD_INVENTORIES = [
    pytest.param(
        hosts_with(
            "ws-3090", sovereign_hardware_declared={"gpus": [{"device": "rtx-9999"}], "memory_gib": 64}
        ),
        [CHAT],
        ["hosts.ws-3090.sovereign_hardware_declared.gpus[0].device", "'rtx-9999'", "rtx-3090"],
        id="unknown-device-without-inline-spec",
    ),
    pytest.param(
        hosts_with(
            "ws-3090",
            sovereign_hardware_declared={
                "gpus": [
                    {"device": {"name": "Zero", "vendor": "nvidia", "memory_gib": 0, "bandwidth_gbs": 100}}
                ],
                "memory_gib": 64,
            },
        ),
        [CHAT],
        ["hosts.ws-3090.sovereign_hardware_declared.gpus[0].device", "memory_gib", "0"],
        id="zero-device-memory",
    ),
    pytest.param(
        hosts_with("mac", sovereign_hardware_declared={"gpus": [{"device": "m3-ultra"}], "memory_gib": -8}),
        [CHAT],
        ["hosts.mac.sovereign_hardware_declared.memory_gib", "-8", "expected a number greater than 0"],
        id="negative-system-memory",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "context": 1_000_000}],
        ["sovereign_deployments[0] (name 'chat').context", "1000000", "at most 40960"],
        id="context-above-model-maximum",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "replicas": 3}],
        [
            "sovereign_deployments (name 'chat').replicas",
            "3 replicas",
            "2 can run it (mac, ws-3090)",
            "allow_partial_placement",
        ],
        id="more-replicas-than-hosts",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "engine": "tgi"}],
        ["sovereign_deployments[0] (name 'chat').engine", "'tgi'", "llama.cpp, mlx-lm, ollama, sglang, vllm"],
        id="unknown-engine",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "quant": "Q4_K_X"}],
        ["sovereign_deployments[0] (name 'chat').quant", "'Q4_K_X'", "Q4_K_M"],
        id="unknown-quant",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "replica": 2}],
        [
            "sovereign_deployments[0] (name 'chat')",
            "unknown key 'replica'",
            "did you mean 'replicas'",
            "valid keys are name, model, replicas",
        ],
        id="unknown-key-in-deployment",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "quant": "mlx-4bit", "hosts": ["ws-3090"]}],
        [
            "sovereign_deployments (name 'chat').quant",
            "'mlx-4bit'",
            "ws-3090 (nvidia)",
            "mlx-4bit runs on apple",
        ],
        id="pinned-quant-wrong-vendor",
    ),
    pytest.param(
        HOSTS,
        [{"name": "chat"}],
        ["sovereign_deployments[0] (name 'chat').model", "missing", "catalog model id"],
        id="missing-model",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "model": "Qwen/Qwen3-8B-Typo"}],
        ["sovereign_deployments[0] (name 'chat').model", "'Qwen/Qwen3-8B-Typo'", "Qwen/Qwen3-8B"],
        id="unknown-model",
    ),
    pytest.param(
        HOSTS,
        [
            {**CHAT, "hosts": ["ws-3090"], "port": 9000},
            {"name": "rag", "model": "Qwen/Qwen3-4B", "hosts": ["ws-3090"], "port": 9000},
        ],
        ["sovereign_deployments (name 'rag').port", "9000 on host ws-3090", "already used by chat"],
        id="port-collision",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "port": 80}],
        ["sovereign_deployments[0] (name 'chat').port", "80", "at least 1024 and at most 65535"],
        id="privileged-port",
    ),
    pytest.param(
        {"ws-3090": {}},
        [CHAT],
        ["hosts.ws-3090", "sovereign_hardware", "sovereign_hardware_declared"],
        id="host-without-hardware",
    ),
    pytest.param(
        HOSTS,
        {"name": "chat"},
        ["sovereign_deployments", "expected a list of deployments"],
        id="deployments-not-a-list",
    ),
    pytest.param(
        HOSTS,
        [CHAT, {**CHAT, "model": "Qwen/Qwen3-4B"}],
        ["sovereign_deployments[1].name", "'chat' is already used by sovereign_deployments[0]", "unique"],
        id="duplicate-names",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "engine": "vllm", "kv_cache_dtype": "q4_0"}],
        ["sovereign_deployments[0] (name 'chat').kv_cache_dtype", "'q4_0'", "bf16, fp16, fp8"],
        id="kv-dtype-the-engine-lacks",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "hosts": ["ws-309"]}],
        ["sovereign_deployments[0] (name 'chat').hosts", "ws-309 not in this play", "mac, ws-3090"],
        id="unknown-pinned-host",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "concurrency": 0}],
        ["sovereign_deployments[0] (name 'chat').concurrency", "0 is not valid", "at least 1"],
        id="zero-concurrency",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "engine": "vllm", "quant": "Q4_K_M"}],
        [
            "sovereign_deployments[0] (name 'chat').quant",
            "'Q4_K_M'",
            "pinned engine 'vllm'",
            "engines for Q4_K_M: llama.cpp, ollama",
        ],
        id="quant-the-pinned-engine-cannot-load",
    ),
    pytest.param(
        hosts_with("mac", sovereign_hardware_declared={"gpus": [{"device": "m3-ultra"}], "memory_gb": 192}),
        [CHAT],
        ["hosts.mac.sovereign_hardware_declared", "unknown key(s) memory_gb", "memory_gib"],
        id="unknown-key-in-declared-hardware",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "replicas": "two"}],
        ["sovereign_deployments[0] (name 'chat').replicas", "'two' is not valid", "integer of at least 1"],
        id="replicas-not-a-number",
    ),
    pytest.param(
        hosts_with("mac", sovereign_memory_reserve_gib=500),
        [CHAT],
        ["hosts.mac.sovereign_memory_reserve_gib", "500.0 GiB", "expected a reserve below the host's memory"],
        id="reserve-above-memory",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "allow_context_reduction": "yes"}],
        ["sovereign_deployments[0] (name 'chat').allow_context_reduction", "'yes'", "true or false"],
        id="flag-not-a-boolean",
    ),
    # The fleet endpoint answers "auto" and "auto:<tag>" itself: refused when planning, not first
    # when site.yml builds the routing table after the engines are up.
    pytest.param(
        HOSTS,
        [{**CHAT, "name": "auto"}],
        [
            "sovereign_deployments[0] (name 'auto').name",
            "'auto' is not valid",
            "fleet endpoint's own model name",
        ],
        id="name-the-fleet-endpoint-keeps",
    ),
    pytest.param(
        HOSTS,
        [{**CHAT, "name": "Chat"}],
        ["sovereign_deployments[0] (name 'Chat').name", "'Chat' is not valid", "lower-case letters"],
        id="name-with-a-capital",
    ),
]


@pytest.mark.parametrize(("hostvars", "deployments", "fragments"), BAD_INVENTORIES)
def test_bad_inventory_is_explained(hostvars: dict[str, Any], deployments: Any, fragments: list[str]) -> None:
    with pytest.raises(PlanInputError) as caught:
        compute_plan(hostvars, deployments)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message


def test_all_problems_are_reported_at_once() -> None:
    deployments = [{**CHAT, "engine": "tgi"}, {"name": "x", "model": "Qwen/Qwen3-4B", "concurrency": -1}]
    with pytest.raises(PlanInputError) as caught:
        compute_plan({"ws-3090": {}}, deployments)
    assert len(caught.value.problems) == 3


def test_conflicting_catalog_extensions_across_hosts() -> None:
    device = {"name": "A", "vendor": "nvidia", "memory_gib": 10, "bandwidth_gbs": 100}
    hostvars = hosts_with("mac", sovereign_catalog_extensions={"devices": {"acc": device}})
    hostvars["ws-3090"]["sovereign_catalog_extensions"] = {"devices": {"acc": {**device, "memory_gib": 12}}}
    with pytest.raises(
        PlanInputError, match=r"hosts.ws-3090.sovereign_catalog_extensions.devices.acc: differs"
    ):
        compute_plan(hostvars, [CHAT])


def test_defaults_of_a_valid_deployment() -> None:
    catalog = load_catalog()
    (request,) = parse_deployments([CHAT], catalog, ["ws-3090"])
    assert (request.replicas, request.context, request.concurrency) == (1, 8192, 1)
    assert (request.engine, request.quant, request.hosts, request.port, request.kv_cache_dtype) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert request.allow_cpu_offload is True
    assert request.allow_context_reduction is False
    assert request.allow_partial_placement is False


def test_default_context_is_capped_at_the_model_maximum() -> None:
    model = {
        "id": "test/short", "params_total_b": 1, "layers": 8, "hidden_size": 1024, "attention_heads": 8,
        "kv_heads": 8, "head_dim": 128, "vocab_size": 32000, "max_context": 2048, "source": "test",
    }  # fmt: skip
    (request,) = parse_deployments([{"name": "s", "model": model}], load_catalog(), ["h"])
    assert request.context == 2048


def test_catalog_extensions_add_an_inline_model_and_device() -> None:
    device = {"name": "Lab accelerator", "vendor": "nvidia", "memory_gib": 48, "bandwidth_gbs": 960,
              "compute_capability": "8.9", "source": "lab"}  # fmt: skip
    extensions = {"devices": {"lab-48": device}}
    hostvars = {
        "lab": {
            "sovereign_hardware_declared": {"gpus": [{"device": "lab-48"}], "memory_gib": 64},
            "sovereign_catalog_extensions": extensions,
        },
        "other": {**HOSTS["mac"], "sovereign_catalog_extensions": extensions},
    }
    document, _unused = compute_plan(hostvars, [{**CHAT, "hosts": ["lab"]}])
    assert document["hosts"]["lab"]["hardware"]["gpus"][0]["device"] == "lab-48"
    assert document["hosts"]["lab"]["deployments"][0]["predicted_decode_tps"] is not None


def test_catalog_extensions_must_be_mappings() -> None:
    hostvars = hosts_with("mac", sovereign_catalog_extensions={"devices": ["x"]})
    with pytest.raises(
        PlanInputError, match=r"hosts\.mac\.sovereign_catalog_extensions\.devices: \['x'\] is not"
    ):
        compute_plan(hostvars, [CHAT])
