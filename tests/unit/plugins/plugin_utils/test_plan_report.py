# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/plan_report.py: plan.json's contract, plan.md, plan-memory.svg."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import (
    BAR_WIDTH,
    MIN_LABEL_WIDTH,
    plan_markdown,
    plan_svg,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

SVG = "{http://www.w3.org/2000/svg}"
HOSTVARS = {
    "ws": {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 64}},
    "spark": {"sovereign_hardware_declared": {"gpus": [{"device": "gb10"}]}},
}
DEPLOYMENTS = [
    {"name": "chat", "model": "Qwen/Qwen3-14B", "concurrency": 4, "context": 16384, "hosts": ["ws"]},
    {"name": "oss", "model": "openai/gpt-oss-20b", "hosts": ["spark"]},
    {"name": "huge", "model": "deepseek-ai/DeepSeek-V3", "allow_partial_placement": True, "hosts": ["ws"]},
]


@pytest.fixture(name="document")
def fixture_document() -> dict[str, Any]:
    document, _unused = compute_plan(HOSTVARS, DEPLOYMENTS)
    return document


def test_plan_json_contract(document: dict[str, Any]) -> None:
    assert set(document) == {
        "schema_version", "catalog", "placement", "calibration", "hosts", "unplaced", "warnings",
    }  # fmt: skip
    assert set(document["catalog"]["engines"]) == {"vllm", "sglang", "llama.cpp", "ollama", "mlx-lm"}
    assert len(document["catalog"]["sha256"]) == 64
    for entry in document["hosts"].values():
        for item in entry["deployments"]:
            for key in ("model", "engine", "quant", "context", "tensor_parallel", "gpus", "port", "argv",
                        "predicted_decode_tps"):  # fmt: skip
                assert key in item
            assert all(isinstance(arg, str) for arg in item["argv"])
            memory = item["memory"]
            assert (
                memory["total_bytes"]
                == memory["weights_bytes"] + memory["kv_cache_bytes"] + memory["overhead_bytes"]
            )
            assert memory["total_bytes"] <= memory["budget_bytes"]
    assert [(u["name"], u["model"]) for u in document["unplaced"]] == [("huge", "deepseek-ai/DeepSeek-V3")]
    assert document["unplaced"][0]["reason"]
    json.dumps(document)


def test_vllm_tensor_parallel_entry(document: dict[str, Any]) -> None:
    (chat,) = document["hosts"]["ws"]["deployments"]
    assert (chat["engine"], chat["tensor_parallel"], chat["gpus"], chat["port"]) == ("vllm", 2, [0, 1], 8000)
    assert chat["argv"][:3] == ["vllm", "serve", chat["model_path"]]
    assert chat["env"] == {"CUDA_VISIBLE_DEVICES": "0,1"}
    devices = document["hosts"]["ws"]["devices"]
    assert [d["id"] for d in devices] == ["gpu0", "gpu1"]
    assert devices[0]["used_bytes"] == chat["memory"]["total_bytes"] // 2


def test_markdown_has_every_deployment_and_the_unplaced(document: dict[str, Any]) -> None:
    text = plan_markdown(document)
    assert text.startswith("# Fleet plan\n")
    assert "| ws | chat | Qwen/Qwen3-14B | vllm 0.34.0 |" in text
    assert "| spark | oss | openai/gpt-oss-20b |" in text
    assert "## Unplaced" in text
    assert "| huge | 0 | deepseek-ai/DeepSeek-V3 | needs " in text
    assert "![memory per device](plan-memory.svg)" in text


def test_svg_bars_fill_exactly_the_bar_width(document: dict[str, Any]) -> None:
    root = ElementTree.fromstring(plan_svg(document))
    assert root.tag == f"{SVG}svg"
    rows: dict[str, float] = {}
    for rect in root.iter(f"{SVG}rect"):
        y = rect.get("y")
        if y == "10":
            continue
        rows[str(y)] = rows.get(str(y), 0.0) + float(str(rect.get("width")))
        assert float(str(rect.get("x"))) >= MIN_LABEL_WIDTH
    assert len(rows) == 3  # two GPUs on ws, one pool on spark
    for total in rows.values():
        assert total == pytest.approx(BAR_WIDTH, abs=0.3)
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any(title.startswith("chat weights:") for title in titles)


def test_svg_escapes_names() -> None:
    device = {"id": "pool", "name": "R&D", "capacity_bytes": 1, "free_bytes": 1, "allocations": []}
    document = {"hosts": {"a<b": {"devices": [device]}}}
    ElementTree.fromstring(plan_svg(document))


def test_svg_label_column_grows_with_the_longest_label() -> None:
    long_name = "NVIDIA GeForce RTX 5080 Laptop GPU with a very long marketing name"
    device = {"id": "gpu0", "name": long_name, "capacity_bytes": 10, "free_bytes": 10, "allocations": []}
    root = ElementTree.fromstring(plan_svg({"hosts": {"laptop-5080": {"devices": [device]}}}))
    label = f"laptop-5080 gpu0 ({long_name})"
    first_bar = next(r for r in root.iter(f"{SVG}rect") if r.get("y") != "10")
    assert float(str(first_bar.get("x"))) >= len(label) * 7 + 20 > MIN_LABEL_WIDTH
