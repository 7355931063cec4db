# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The planner defects issue 21 lists, and the calibration a benchmark feeds back into the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.action.fleet_plan import calibration_from_file
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

INLINE_UNIFIED = {
    "name": "Lab APU",
    "vendor": "amd",
    "memory_gib": 96,
    "bandwidth_gbs": 256,
    "unified_memory": True,
}
RIG2 = {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 128}}


def only(document: dict[str, Any], host: str) -> dict[str, Any]:
    (item,) = document["hosts"][host]["deployments"]
    return item


def test_an_inline_unified_device_is_planned_as_one_pool() -> None:
    hosts = {"apu": {"sovereign_hardware_declared": {"gpus": [{"device": INLINE_UNIFIED}], "memory_gib": 96}}}
    document, _fleet = compute_plan(hosts, [{"name": "chat", "model": "Qwen/Qwen3-8B"}])
    assert document["hosts"]["apu"]["hardware"]["platform"] == "amd_apu"
    assert [device["id"] for device in document["hosts"]["apu"]["devices"]] == ["pool"]


def test_depth_is_an_input_and_the_plan_predicts_over_depths() -> None:
    wanted = {"name": "chat", "model": "Qwen/Qwen3-8B", "context": 40960, "engine": "llama.cpp"}
    shallow, _fleet = compute_plan({"rig": RIG2}, [wanted])
    deep, _fleet = compute_plan({"rig": RIG2}, [{**wanted, "depth": 40000}])
    assert only(deep, "rig")["predicted_decode_tps"] < only(shallow, "rig")["predicted_decode_tps"]
    table = only(shallow, "rig")["predicted_decode_tps_by_depth"]
    assert list(table) == ["0", "4096", "16384", "32768"]
    assert table["0"] > table["32768"] > 0


def test_a_depth_beyond_the_context_is_refused() -> None:
    with pytest.raises(PlanInputError, match=r"\(name 'chat'\)\.depth: 9000 is not valid"):
        compute_plan(
            {"rig": RIG2}, [{"name": "chat", "model": "Qwen/Qwen3-8B", "context": 8192, "depth": 9000}]
        )


@pytest.mark.parametrize(("engine", "gpus"), [("llama.cpp", 2), ("vllm", 2), ("llama.cpp", 1)])
def test_the_gpu_count_can_be_pinned(engine: str, gpus: int) -> None:
    wanted = {"name": "chat", "model": "Qwen/Qwen3-8B", "engine": engine, "gpus": gpus}
    document, _fleet = compute_plan({"rig": RIG2}, [wanted])
    item = only(document, "rig")
    assert len(item["gpus"]) == gpus
    assert item["tensor_parallel"] == (gpus if engine == "vllm" else 1)


def test_a_gpu_count_no_host_has_leaves_the_deployment_unplaced() -> None:
    wanted = {"name": "chat", "model": "Qwen/Qwen3-8B", "gpus": 4, "allow_partial_placement": True}
    document, _fleet = compute_plan({"rig": RIG2}, [wanted])
    assert [item["name"] for item in document["unplaced"]] == ["chat"]


CARD_16_GB = {
    "name": "RTX 4080",
    "vendor": "nvidia",
    "memory_gib": 16,
    "bandwidth_gbs": 716.8,
    "compute_capability": "8.9",
}


@pytest.mark.parametrize(("context", "offloaded"), [(512, False), (8192, True)])
def test_a_model_that_fills_a_16_gb_gpu_is_not_offloaded_while_it_fits(context: int, offloaded: bool) -> None:
    """The RTX 4080 case: 8B at F16 (14.96 GiB) with a short context runs wholly on the card.

    Weights 14.96 GiB, KV 0.06, compute buffer 0.26 and the CUDA context ~0.3 make 15.6 GiB of 16; the
    GPU's runtime context was counted twice (in the engine's overhead and in its utilisation margin),
    so the plan put 0.9 GiB in system RAM. At 8k context the KV cache (1 GiB) no longer fits.
    """
    hosts = {"pc": {"sovereign_hardware_declared": {"gpus": [{"device": CARD_16_GB}], "memory_gib": 64}}}
    wanted = {"name": "m", "model": "meta-llama/Llama-3.1-8B-Instruct", "quant": "F16", "engine": "llama.cpp"}
    document, _fleet = compute_plan(hosts, [{**wanted, "context": context}])
    item = only(document, "pc")
    assert (item["memory"]["offloaded_bytes"] > 0) is offloaded, item["memory"]


def test_gpt_oss_20b_runs_wholly_on_a_16_gb_gpu() -> None:
    """gpt-oss-20b (MXFP4, 12.1 GiB) on the RTX 4080 SUPER: measured without offload, planned so."""
    card = {**CARD_16_GB, "name": "RTX 4080 SUPER", "bandwidth_gbs": 736}
    hosts = {"pc": {"sovereign_hardware_declared": {"gpus": [{"device": card}], "memory_gib": 32}}}
    document, _fleet = compute_plan(hosts, [{"name": "oss", "model": "openai/gpt-oss-20b"}])
    item = only(document, "pc")
    assert item["memory"]["offloaded_bytes"] == 0 and item["gpus"] == [0]


def test_the_default_reserve_keeps_an_8_gb_mac_out_of_the_plan_not_the_whole_plan() -> None:
    hosts = {
        "mac8": {"sovereign_hardware_declared": {"gpus": [{"device": "m4"}], "memory_gib": 8}},
        "rig": RIG2,
    }
    document, _fleet = compute_plan(hosts, [{"name": "chat", "model": "Qwen/Qwen3-8B"}])
    assert document["hosts"]["mac8"]["deployments"] == []
    assert any("hosts.mac8: the default reserve of 8.0 GiB" in warning for warning in document["warnings"])
    explicit = {**hosts, "mac8": {**hosts["mac8"], "sovereign_memory_reserve_gib": 8}}
    with pytest.raises(PlanInputError, match=r"hosts\.mac8\.sovereign_memory_reserve_gib: reserve 8\.0 GiB"):
        compute_plan(explicit, [{"name": "chat", "model": "Qwen/Qwen3-8B"}])


# ------------------------------------------------------------------ calibration


def calibration(factor: float) -> dict[str, Any]:
    return {
        "benchmark": "/srv/plan-output/benchmark.json",
        "measured_at": "2026-12-06T21:50:00Z",
        "decode": [{"device": "rtx-3090", "engine": "llama.cpp", "factor": factor, "samples": 3}],
    }


def test_a_calibration_scales_the_predictions_of_its_device_and_engine() -> None:
    wanted = [{"name": "chat", "model": "Qwen/Qwen3-8B", "engine": "llama.cpp"}]
    plain, _fleet = compute_plan({"rig": RIG2}, wanted)
    hosts = {"rig": {**RIG2, "sovereign_calibration": calibration(0.5)}}
    calibrated, _fleet = compute_plan(hosts, wanted)
    before, after = only(plain, "rig"), only(calibrated, "rig")
    assert after["predicted_decode_tps"] == pytest.approx(before["predicted_decode_tps"] * 0.5, abs=0.11)
    assert after["predicted_decode_tps_by_depth"]["0"] == pytest.approx(
        before["predicted_decode_tps_by_depth"]["0"] * 0.5, abs=0.11
    )
    assert calibrated["calibration"]["benchmark"] == "/srv/plan-output/benchmark.json"
    assert calibrated["calibration"]["applied"] == [
        {"host": "rig", "deployment": "chat", "replica": 0, "factor": 0.5}
    ]
    assert plain["calibration"] == {}


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"device": "rtx-3090", "engine": "llama.cpp", "factor": float("nan")}, "factor: nan"),
        ({"device": "rtx-3090", "engine": "llama.cpp", "factor": 1000}, "factor: 1000"),
        ({"device": "../x", "engine": "llama.cpp", "factor": 1}, "device: '../x'"),
        ({"device": "rtx-3090", "engine": "llama.cpp", "factor": 1, "speed": 2}, "expected a mapping with"),
    ],
)
def test_a_broken_calibration_is_refused(entry: dict[str, Any], fragment: str) -> None:
    hosts = {"rig": {**RIG2, "sovereign_calibration": {"decode": [entry]}}}
    with pytest.raises(PlanInputError) as caught:
        compute_plan(hosts, [{"name": "chat", "model": "Qwen/Qwen3-8B"}])
    assert "sovereign_calibration.decode[0]" in str(caught.value) and fragment in str(caught.value)


def test_the_calibration_file_a_benchmark_wrote_is_read(tmp_path: Path) -> None:
    path = tmp_path / "calibration.yml"
    assert calibration_from_file(path) is None
    path.write_text(yaml.safe_dump({"sovereign_calibration": calibration(1.25)}), encoding="utf-8")
    read = calibration_from_file(path)
    assert read is not None and read.factors == {("rtx-3090", "llama.cpp"): 1.25}
    path.write_text("sovereign_calibration: [1, 2]\n", encoding="utf-8")
    with pytest.raises(PlanInputError, match=r"calibration\.yml: sovereign_calibration"):
        calibration_from_file(path)
