# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/catalog/catalog.py: the shipped catalogs, validation, extensions,
matching."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    DEFAULT_CATALOG_DIR,
    Catalog,
    CatalogError,
    load_catalog,
)

GIB = 2**30
DECLARED = "hosts.ws-3090.sovereign_hardware_declared.gpus[0].device"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --------------------------------------------------------------------------- a small catalog on disk

ENGINES: dict[str, Any] = {
    "llama.cpp": {
        "version": "b1",
        "formats": ["gguf"],
        "vendors": ["nvidia", "cpu"],
        "default_port": 8080,
        "source": "test",
    },
    "vllm": {
        "version": "0.11.0",
        "formats": ["safetensors"],
        "vendors": ["nvidia"],
        "default_port": 8000,
        "source": "test",
        "tuning": {"memory_utilization": 0.9},
    },
}
DEVICE: dict[str, Any] = {
    "name": "Test GPU",
    "vendor": "nvidia",
    "memory_gib": 24,
    "bandwidth_gbs": 1000,
    "compute_capability": "8.6",
    "pci_device_ids": ["0x1234"],
    "match": ["Test GPU"],
    "source": "test",
}
MODEL: dict[str, Any] = {
    "params_total_b": 8.0,
    "layers": 32,
    "hidden_size": 4096,
    "attention_heads": 32,
    "kv_heads": 8,
    "head_dim": 128,
    "vocab_size": 128256,
    "max_context": 131072,
    "source": "test",
}
QUANT: dict[str, Any] = {
    "format": "gguf",
    "engines": ["llama.cpp"],
    "bits_per_weight": 4.89,
    "quality": 0.96,
    "vendors": ["nvidia", "cpu"],
    "source": "test",
}


def write_catalog(directory: Path, **sections: Mapping[str, Any]) -> Path:
    """Write the four catalog files (a small valid default for each section unless given)."""
    defaults: dict[str, Mapping[str, Any]] = {
        "devices": {"test-gpu": DEVICE},
        "models": {"org/test-model": MODEL},
        "quantizations": {"Q4_K_M": QUANT},
        "engines": ENGINES,
    }
    defaults.update(sections)
    directory.mkdir(parents=True, exist_ok=True)
    for section, entries in defaults.items():
        (directory / f"{section}.yml").write_text(yaml.safe_dump({section: dict(entries)}), encoding="utf-8")
    return directory


def load_with(tmp_path: Path, **sections: Mapping[str, Any]) -> Catalog:
    return load_catalog(catalog_dir=write_catalog(tmp_path / "catalogs", **sections))


def with_(entry: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of an entry with fields changed; a value of ... removes the field."""
    result = dict(entry)
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


# --------------------------------------------------------------------------- the shipped catalogs


def test_shipped_catalog_loads_with_enough_entries(catalog: Catalog) -> None:
    assert len(catalog.devices) >= 30
    assert len(catalog.models) >= 25
    assert {"Q4_K_M", "Q8_0", "F16", "FP8", "AWQ", "GPTQ", "NVFP4", "MXFP4", "mlx-4bit"} <= set(
        catalog.quantizations
    )
    assert {"vllm", "sglang", "llama.cpp", "ollama", "mlx-lm"} <= set(catalog.engines)
    assert Path(__file__).resolve().parents[4] / "catalogs" == DEFAULT_CATALOG_DIR


def test_every_shipped_entry_cites_a_source(catalog: Catalog) -> None:
    sections: list[Mapping[str, Any]] = [
        catalog.devices,
        catalog.models,
        catalog.quantizations,
        catalog.engines,
    ]
    missing = [
        entry_id
        for section in sections
        for entry_id, spec in section.items()
        if not spec.source.startswith("https://")
    ]
    assert missing == []


def test_shipped_yaml_uses_only_contract_keys() -> None:
    """The contract's example keys (docs/dev/contracts.md section 3), nothing more."""
    devices = yaml.safe_load((DEFAULT_CATALOG_DIR / "devices.yml").read_text())["devices"]
    models = yaml.safe_load((DEFAULT_CATALOG_DIR / "models.yml").read_text())["models"]
    device_keys = {key for entry in devices.values() for key in entry}
    model_keys = {key for entry in models.values() for key in entry}
    assert device_keys <= {
        "name",
        "vendor",
        "memory_gib",
        "bandwidth_gbs",
        "unified_memory",
        "compute_capability",
        "arch",
        "fp16_tflops",
        "pci_device_ids",
        "match",
        "decode_class",
        "source",
    }
    assert model_keys == {
        "params_total_b",
        "params_active_b",
        "layers",
        "hidden_size",
        "attention_heads",
        "kv_heads",
        "head_dim",
        "vocab_size",
        "max_context",
        "tie_embeddings",
        "attention",
        "moe",
        "source",
        "quantizations",
        "model_type",
        "intermediate_size",
    }


# Values hand-copied from each model's config.json (or a verbatim copy of it), not from models.yml.
CONFIG_JSON: dict[str, dict[str, Any]] = {
    # huggingface.co/meta-llama/Llama-3.1-8B-Instruct config.json (also Ollama's GGUF metadata:
    # block_count 32, head_count 32, head_count_kv 8, context_length 131072, vocab_size 128256)
    "meta-llama/Llama-3.1-8B-Instruct": {
        "layers": 32,
        "hidden_size": 4096,
        "attention_heads": 32,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 128256,
        "max_context": 131072,
        "tie_embeddings": False,
    },
    "meta-llama/Llama-3.1-70B-Instruct": {
        "layers": 80,
        "hidden_size": 8192,
        "attention_heads": 64,
        "kv_heads": 8,
        "vocab_size": 128256,
        "max_context": 131072,
        "tie_embeddings": False,
    },
    "meta-llama/Llama-3.2-3B-Instruct": {"layers": 28, "hidden_size": 3072, "vocab_size": 128256},
    # "Copy config.json from Qwen/Qwen3-8B" commits on huggingface.co
    "Qwen/Qwen3-8B": {
        "layers": 36,
        "hidden_size": 4096,
        "attention_heads": 32,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_context": 40960,
        "tie_embeddings": False,
    },
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": {
        "layers": 48,
        "hidden_size": 2048,
        "attention_heads": 32,
        "kv_heads": 4,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_context": 262144,
        "moe": (128, 8, 0),
    },
    # vLLM's Qwen3NextConfig defaults mirror Qwen/Qwen3-Next-80B-A3B-Instruct; full_attention_interval 4
    "Qwen/Qwen3-Next-80B-A3B-Instruct": {
        "layers": 48,
        "hidden_size": 2048,
        "attention_heads": 16,
        "kv_heads": 2,
        "head_dim": 256,
        "vocab_size": 151936,
        "linear_layers": 36,
    },
    "openai/gpt-oss-20b": {
        "layers": 24,
        "hidden_size": 2880,
        "attention_heads": 64,
        "kv_heads": 8,
        "head_dim": 64,
        "max_context": 131072,
        "sliding_window": 128,
        "sliding_layers": 12,
        "moe": (32, 4, 0),
    },
    "openai/gpt-oss-120b": {"layers": 36, "sliding_layers": 18, "moe": (128, 4, 0)},
    # GLM-4.5-Air (Glm4MoeForCausalLM): 46 layers, 96 heads, 8 KV heads, 128 routed + 1 shared expert
    "zai-org/GLM-4.5-Air": {
        "layers": 46,
        "hidden_size": 4096,
        "attention_heads": 96,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 151552,
        "max_context": 131072,
        "moe": (128, 8, 1),
    },
    "deepseek-ai/DeepSeek-V3": {"layers": 61, "kv_lora_rank": 512, "qk_rope_head_dim": 64},
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": {"sliding_window": 8192, "moe": (16, 1, 1)},
    # Issue 27: config.json files vendored by ai-dynamo/aiconfigurator (model_configs/, commit
    # 095f58a5 unless noted) and akougkas/warpio-cli (Qwen3-4B 2507). Qwen3.5/3.6: text_config;
    # linear_layers = layer_types entries "linear_attention".
    "Qwen/Qwen3.5-27B": {
        "layers": 64,
        "hidden_size": 5120,
        "attention_heads": 24,
        "kv_heads": 4,
        "head_dim": 256,
        "vocab_size": 248320,
        "max_context": 262144,
        "tie_embeddings": False,
        "linear_layers": 48,
        "intermediate_size": 17408,
    },
    "Qwen/Qwen3.5-35B-A3B": {
        "layers": 40,
        "hidden_size": 2048,
        "attention_heads": 16,
        "kv_heads": 2,
        "head_dim": 256,
        "vocab_size": 248320,
        "max_context": 262144,
        "linear_layers": 30,
        "moe": (256, 8, 1),
        "expert_intermediate_size": 512,
    },
    "Qwen/Qwen3.5-122B-A10B": {
        "layers": 48,
        "hidden_size": 3072,
        "attention_heads": 32,
        "kv_heads": 2,
        "head_dim": 256,
        "linear_layers": 36,
        "moe": (256, 8, 1),
        "expert_intermediate_size": 1024,
    },
    "Qwen/Qwen3.5-397B-A17B": {
        "layers": 60,
        "hidden_size": 4096,
        "attention_heads": 32,
        "kv_heads": 2,
        "head_dim": 256,
        "linear_layers": 45,
        "moe": (512, 10, 1),
        "expert_intermediate_size": 1024,
    },
    # nvidia/Qwen3.6-*-NVFP4 config.json (text_config as the base repos'; only quantization_config added)
    "Qwen/Qwen3.6-27B": {
        "layers": 64,
        "hidden_size": 5120,
        "kv_heads": 4,
        "head_dim": 256,
        "linear_layers": 48,
    },
    "Qwen/Qwen3.6-35B-A3B": {
        "layers": 40,
        "hidden_size": 2048,
        "kv_heads": 2,
        "linear_layers": 30,
        "moe": (256, 8, 1),
    },
    "Qwen/Qwen3-1.7B": {
        "layers": 28,
        "hidden_size": 2048,
        "attention_heads": 16,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_context": 40960,
        "tie_embeddings": True,
        "intermediate_size": 6144,
    },
    "Qwen/Qwen3-4B-Instruct-2507": {
        "layers": 36,
        "hidden_size": 2560,
        "attention_heads": 32,
        "kv_heads": 8,
        "head_dim": 128,
        "max_context": 262144,
        "tie_embeddings": True,
        "intermediate_size": 9728,
    },
    "Qwen/Qwen3-Coder-480B-A35B-Instruct": {
        "layers": 62,
        "hidden_size": 6144,
        "attention_heads": 96,
        "kv_heads": 8,
        "head_dim": 128,
        "max_context": 262144,
        "moe": (160, 8, 0),
        "intermediate_size": 8192,
        "expert_intermediate_size": 2560,
    },
    # src/aiconfigurator/model_configs at 1b7cfb10
    "Qwen/Qwen3-Next-80B-A3B-Thinking": {
        "layers": 48,
        "hidden_size": 2048,
        "kv_heads": 2,
        "head_dim": 256,
        "linear_layers": 36,
        "moe": (512, 10, 1),
    },
    "moonshotai/Kimi-K2-Instruct": {
        "layers": 61,
        "hidden_size": 7168,
        "attention_heads": 64,
        "vocab_size": 163840,
        "max_context": 131072,
        "kv_lora_rank": 512,
        "qk_rope_head_dim": 64,
        "moe": (384, 8, 1),
    },
    # src/aiconfigurator/model_configs at d9219759
    "moonshotai/Kimi-K2-Thinking": {
        "layers": 61,
        "max_context": 262144,
        "kv_lora_rank": 512,
        "moe": (384, 8, 1),
    },
    # zai-org/GLM-4.7-FP8 config.json, src/aiconfigurator/model_configs at 19d098ad
    "zai-org/GLM-4.7": {
        "layers": 92,
        "hidden_size": 5120,
        "attention_heads": 96,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 151552,
        "max_context": 202752,
        "moe": (160, 8, 1),
    },
    "MiniMaxAI/MiniMax-M2.5": {
        "layers": 62,
        "hidden_size": 3072,
        "attention_heads": 48,
        "kv_heads": 8,
        "head_dim": 128,
        "vocab_size": 200064,
        "max_context": 196608,
        "moe": (256, 8, 0),
        "expert_intermediate_size": 1536,
    },
    "MiniMaxAI/MiniMax-M2.7": {"layers": 62, "kv_heads": 8, "max_context": 204800, "moe": (256, 8, 0)},
}

# The models issue 27 added (every one must be in CONFIG_JSON above and in test_memory's KV table).
ISSUE_27_MODELS = (
    "Qwen/Qwen3.5-27B",
    "Qwen/Qwen3.5-35B-A3B",
    "Qwen/Qwen3.5-122B-A10B",
    "Qwen/Qwen3.5-397B-A17B",
    "Qwen/Qwen3.6-27B",
    "Qwen/Qwen3.6-35B-A3B",
    "Qwen/Qwen3-1.7B",
    "Qwen/Qwen3-4B-Instruct-2507",
    "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "Qwen/Qwen3-Next-80B-A3B-Thinking",
    "moonshotai/Kimi-K2-Instruct",
    "moonshotai/Kimi-K2-Thinking",
    "zai-org/GLM-4.7",
    "MiniMaxAI/MiniMax-M2.5",
    "MiniMaxAI/MiniMax-M2.7",
)


def test_issue_27_models_are_shipped_with_pinned_sources(catalog: Catalog) -> None:
    """At least 15 new models, three MoE, two hybrid or sliding, each checked against its config.json."""
    models = [catalog.models[model_id] for model_id in ISSUE_27_MODELS]
    assert len(models) >= 15
    assert sum(model.moe is not None for model in models) >= 3
    assert sum(model.attention.kind in ("hybrid", "sliding") for model in models) >= 2
    assert set(ISSUE_27_MODELS) <= set(CONFIG_JSON)
    for model in models:
        # A vendored copy at a commit, not a moving Hugging Face page that could not be read.
        assert re.match(r"^https://github\.com/[^/]+/[^/]+/blob/[0-9a-f]{40}/", model.source), model.id


@pytest.mark.parametrize("model_id", sorted(CONFIG_JSON))
def test_model_numbers_match_config_json(catalog: Catalog, model_id: str) -> None:
    model = catalog.models[model_id]
    attention_fields = {
        "sliding_window",
        "sliding_layers",
        "linear_layers",
        "kv_lora_rank",
        "qk_rope_head_dim",
    }
    for field, expected in CONFIG_JSON[model_id].items():
        if field == "moe":
            assert model.moe is not None
            assert (model.moe.experts, model.moe.experts_active, model.moe.shared_experts) == expected
        elif field in attention_fields:
            assert getattr(model.attention, field) == expected, field
        elif field == "expert_intermediate_size":
            assert model.moe is not None and model.moe.expert_intermediate_size == expected
        else:
            assert getattr(model, field) == expected, field


def test_every_model_is_internally_consistent(catalog: Catalog) -> None:
    for model in catalog.models.values():
        attention = model.attention
        assert model.attention_heads % model.kv_heads == 0, model.id
        assert attention.sliding_layers + attention.linear_layers <= model.layers, model.id
        assert 0 < model.params_active <= model.params_total, model.id
        assert model.max_context >= 32768, model.id
        assert model.vocab_size > 30000, model.id
        if attention.kind != "mla":
            # Query width stays within a factor of 3 of the residual width (GLM-4.5: 96 x 128 on 4096).
            assert model.hidden_size / 2 <= model.attention_heads * model.head_dim <= 3 * model.hidden_size
        if attention.kind == "mla":
            assert attention.kv_lora_rank and attention.qk_rope_head_dim, model.id
        if attention.kind in ("sliding", "hybrid") and attention.sliding_layers:
            assert attention.sliding_window, model.id
        if model.moe is None:
            assert model.params_active == model.params_total, model.id
        else:
            assert model.moe.experts_active < model.moe.experts, model.id
            assert model.params_active < model.params_total, model.id


def test_gemma3_counts_five_local_layers_per_global(catalog: Catalog) -> None:
    for model_id in ("google/gemma-3-4b-it", "google/gemma-3-12b-it", "google/gemma-3-27b-it"):
        model = catalog.models[model_id]
        globals_ = sum(1 for i in range(model.layers) if (i + 1) % 6 == 0)
        assert model.attention.sliding_layers == model.layers - globals_
        assert model.attention.sliding_window == 1024


def test_units_are_converted_once(catalog: Catalog) -> None:
    rtx_3090 = catalog.devices["rtx-3090"]
    assert rtx_3090.memory_bytes == 24 * GIB
    assert rtx_3090.bandwidth_bytes_s == pytest.approx(936.2e9)
    assert catalog.devices["b200"].memory_bytes == round(179.06 * GIB)
    llama = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    assert llama.params_total == 8_030_000_000
    scout = catalog.models["meta-llama/Llama-4-Scout-17B-16E-Instruct"]
    assert (scout.params_total, scout.params_active) == (109_000_000_000, 17_000_000_000)


@pytest.mark.parametrize(
    ("device_id", "pci_id", "compute_capability", "arch"),
    [
        ("rtx-3090", "0x2204", "8.6", "ampere"),
        ("rtx-4090", "0x2684", "8.9", "ada"),
        ("rtx-5090", "0x2b85", "12.0", "blackwell"),
        ("gb10", "0x2e12", "12.1", "blackwell"),
        ("b200", "0x2901", "10.0", "blackwell"),
        ("h100-sxm", "0x2330", "9.0", "hopper"),
        ("a100-80gb-sxm", "0x20b2", "8.0", "ampere"),
        ("t4", "0x1eb8", "7.5", "turing"),
        ("v100-32gb", "0x1db5", "7.0", "volta"),
        ("tesla-p40", "0x1b38", "6.1", "pascal"),
        ("mi300x", "0x74a1", None, "gfx942"),
        ("strix-halo", "0x1586", None, "gfx1151"),
    ],
)
def test_device_ids_and_architectures(
    catalog: Catalog, device_id: str, pci_id: str, compute_capability: str | None, arch: str
) -> None:
    device = catalog.devices[device_id]
    assert pci_id in device.pci_device_ids
    assert device.compute_capability == compute_capability
    assert device.arch == arch


def test_unified_memory_devices(catalog: Catalog) -> None:
    unified = {d.id for d in catalog.devices.values() if d.unified_memory and d.vendor != "cpu"}
    assert {"gb10", "strix-halo", "m3-ultra", "m4-max"} <= unified
    assert catalog.devices["gb10"].memory_bytes == 128 * GIB
    assert catalog.devices["strix-halo"].bandwidth_bytes_s == pytest.approx(256e9)
    assert not catalog.devices["rtx-4090"].unified_memory


def test_quantizations(catalog: Catalog) -> None:
    q = catalog.quantizations
    assert q["Q4_K_M"].bits_per_weight == pytest.approx(4.8944)
    assert q["mlx-4bit"].bits_per_weight == pytest.approx(4.5)
    assert q["AWQ"].bits_per_weight == pytest.approx(4 + 16 / 128 + 4 / 128, abs=0.005)
    assert q["FP8"].min_compute_capability == "8.9"
    assert q["NVFP4"].min_compute_capability == "10.0"
    assert q["mlx-8bit"].engines == ("mlx-lm",)
    assert q["mlx-8bit"].vendors == ("apple",)
    assert q["Q4_K_M"].engines == ("llama.cpp", "ollama")
    for quant in q.values():
        for engine_id in quant.engines:
            assert quant.format in catalog.engines[engine_id].formats


def test_gguf_quality_follows_bits(catalog: Catalog) -> None:
    """Within a family more bits never rank lower; i-quants and legacy types are separate families
    (an i-quant beats the k-quant of its size, a legacy type loses to it)."""
    gguf = [q for q in catalog.quantizations.values() if q.format == "gguf" and q.id != "MXFP4_MOE"]
    families = {
        "k-quant": [q for q in gguf if "_K" in q.id or q.id in ("Q8_0", "F16")],
        "i-quant": [q for q in gguf if q.id.startswith("IQ")],
    }
    for members in families.values():
        ordered = sorted(members, key=lambda q: q.bits_per_weight)
        qualities = [q.quality for q in ordered]
        assert qualities == sorted(qualities)
    assert [q.id for q in sorted(families["k-quant"], key=lambda q: q.bits_per_weight)][:3] == [
        "Q2_K_S",
        "Q2_K",
        "Q3_K_S",
    ]


# --------------------------------------------------------------------------- match_device


@pytest.mark.parametrize(
    ("detected", "expected"),
    [
        ({"vendor": "nvidia", "name": "NVIDIA GeForce RTX 4090", "pci_device_id": "0x2684"}, "rtx-4090"),
        ({"vendor": "nvidia", "name": "", "pci_device_id": "0x2B85"}, "rtx-5090"),
        ({"vendor": "nvidia", "name": "NVIDIA H100 80GB HBM3", "pci_device_id": None}, "h100-sxm"),
        ({"vendor": "nvidia", "name": "NVIDIA H100 PCIe"}, "h100-pcie"),
        ({"vendor": "nvidia", "name": "NVIDIA GeForce RTX 5080 Laptop GPU"}, "rtx-5080-laptop"),
        ({"vendor": "nvidia", "name": "NVIDIA GeForce RTX 5080"}, "rtx-5080"),
        ({"vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090 Ti"}, "rtx-3090-ti"),
        ({"vendor": "nvidia", "name": "NVIDIA L4"}, "l4"),
        ({"vendor": "nvidia", "name": "NVIDIA L40S"}, "l40s"),
        ({"vendor": "nvidia", "name": "NVIDIA GB10", "pci_device_id": "0x2e12"}, "gb10"),
        # PCI id wins over a misleading name; an id shared by two entries is settled by the name.
        ({"vendor": "nvidia", "name": "Some OEM board", "pci_device_id": "0x2204"}, "rtx-3090"),
        ({"vendor": "amd", "name": "AMD Instinct MI300X", "pci_device_id": "0x74a1"}, "mi300x"),
        ({"vendor": "amd", "name": "AMD Radeon RX 7900 XTX"}, "rx-7900-xtx"),
        ({"vendor": "apple", "name": "Apple M4 Pro", "pci_device_id": None}, "m4-pro"),
        ({"vendor": "apple", "name": "Apple M4"}, "m4"),
        ({"vendor": "apple", "name": "Apple M3 Ultra"}, "m3-ultra"),
        # Unknown PCI id: fall back to the name.
        ({"vendor": "nvidia", "name": "Tesla T4", "pci_device_id": "0xffff"}, "t4"),
    ],
)
def test_match_device(catalog: Catalog, detected: dict[str, Any], expected: str) -> None:
    device = catalog.match_device(detected)
    assert device is not None
    assert device.id == expected


def test_match_device_unknown_or_wrong_vendor(catalog: Catalog) -> None:
    assert catalog.match_device({"vendor": "nvidia", "name": "NVIDIA GeForce GT 710"}) is None
    assert catalog.match_device({"vendor": "amd", "name": "NVIDIA GeForce RTX 4090"}) is None
    assert catalog.match_device({"vendor": "nvidia", "name": None, "pci_device_id": None}) is None


# --------------------------------------------------------------------------- references by id


def test_unknown_ids_name_the_closest(catalog: Catalog) -> None:
    with pytest.raises(CatalogError) as error:
        catalog.device("rtx-309", DECLARED)
    assert str(error.value).startswith(f"{DECLARED}: unknown device 'rtx-309'; closest: rtx-3090")
    with pytest.raises(CatalogError, match=r"unknown model 'Qwen/Qwen3-8b'; closest: Qwen/Qwen3-8B"):
        catalog.model("Qwen/Qwen3-8b", "sovereign_deployments[0].model")
    with pytest.raises(
        CatalogError, match=r"^sovereign_deployments\[1\].quant: unknown quantization 'Q4_KM'"
    ):
        catalog.quantization("Q4_KM", "sovereign_deployments[1].quant")
    with pytest.raises(CatalogError, match=r"unknown engine 'vlm'; closest: vllm"):
        catalog.engine("vlm", "sovereign_deployments[2].engine")
    with pytest.raises(CatalogError, match=r"expected a device id \(string\) or spec, got 3090 \(integer\)"):
        catalog.device(3090, DECLARED)


# --------------------------------------------------------------------------- inline specs


def test_inline_device_is_validated_and_converted(catalog: Catalog) -> None:
    spec = {
        "name": "My accelerator",
        "vendor": "nvidia",
        "memory_gib": 48,
        "bandwidth_gbs": 960,
        "compute_capability": "8.9",
    }
    device = catalog.device(spec, DECLARED)
    assert device.memory_bytes == 48 * GIB
    assert device.bandwidth_bytes_s == 960e9
    assert device.id == DECLARED
    assert device.source == f"inline spec at {DECLARED}"
    assert (device.unified_memory, device.pci_device_ids, device.match) == (False, (), ())
    assert catalog.device({**spec, "id": "my-acc"}, DECLARED).id == "my-acc"


def test_inline_device_errors_name_the_inventory_path(catalog: Catalog) -> None:
    spec = {"name": "X", "vendor": "nvidia", "memory_gb": 48, "bandwidth_gbs": 960}
    with pytest.raises(CatalogError) as error:
        catalog.device(spec, DECLARED)
    message = str(error.value)
    assert message.startswith(
        f"{DECLARED}: unknown key 'memory_gb' (did you mean 'memory_gib'?); valid keys: "
    )
    assert "bandwidth_gbs, compute_capability" in message
    with pytest.raises(
        CatalogError, match=rf"^{re.escape(DECLARED)}\.memory_gib: expected a number, got '48' \(string\)$"
    ):
        catalog.device({"name": "X", "vendor": "nvidia", "memory_gib": "48", "bandwidth_gbs": 960}, DECLARED)


def test_inline_model(catalog: Catalog) -> None:
    where = "sovereign_deployments[0].model"
    model = catalog.model({**with_(MODEL, source=...), "id": "acme/llm-8b"}, where)
    assert (model.id, model.params_total, model.params_active) == ("acme/llm-8b", 8 * 10**9, 8 * 10**9)
    assert model.attention.kind == "full"
    assert model.moe is None
    with pytest.raises(
        CatalogError, match=rf"^{re.escape(where)}\.kv_heads: 6 KV heads do not divide the 32"
    ):
        catalog.model({**with_(MODEL, kv_heads=6), "id": "acme/llm-8b"}, where)
    with pytest.raises(CatalogError, match=rf"^{re.escape(where)}\.id: missing; an inline model needs an id"):
        catalog.model(MODEL, where)
    with pytest.raises(CatalogError, match=rf"^{re.escape(where)}\.id: model id '\.\./etc' is not valid"):
        catalog.model({**MODEL, "id": "../etc"}, where)


# --------------------------------------------------------------------------- extensions


def test_extensions_add_and_replace_whole_entries(catalog: Catalog) -> None:
    extended = load_catalog(
        {
            "devices": {
                "rtx-3090": {
                    "name": "RTX 3090 (limited)",
                    "vendor": "nvidia",
                    "memory_gib": 22,
                    "bandwidth_gbs": 900,
                },
                "my-gpu": with_(DEVICE, source=...),
            },
            "models": {"acme/llm-8b": MODEL},
            "quantizations": {"Q4_K_XL": with_(QUANT, engines=["llama.cpp", "ollama"])},
            "engines": None,
        }
    )
    replaced = extended.devices["rtx-3090"]
    assert replaced.memory_bytes == 22 * GIB
    # Whole-entry replacement: fields the extension does not give fall back to defaults.
    assert (replaced.pci_device_ids, replaced.compute_capability) == ((), None)
    assert replaced.source == "inventory: sovereign_catalog_extensions.devices.rtx-3090"
    assert extended.devices["my-gpu"].source == "inventory: sovereign_catalog_extensions.devices.my-gpu"
    assert extended.models["acme/llm-8b"].source == "test"
    assert extended.quantizations["Q4_K_XL"].bits_per_weight == pytest.approx(4.89)
    # The shipped catalog (and its cache) is untouched.
    assert load_catalog().devices["rtx-3090"].memory_bytes == 24 * GIB
    assert catalog.devices["rtx-3090"].pci_device_ids == ("0x2204",)


def test_extension_errors_name_their_path() -> None:
    where = "sovereign_catalog_extensions"
    with pytest.raises(CatalogError, match=rf"^{where}: unknown section 'device'; valid sections: devices, "):
        load_catalog({"device": {}})
    with pytest.raises(CatalogError, match=rf"^{where}\.models: expected a mapping of id to entry, got \[\]"):
        load_catalog({"models": []})
    with pytest.raises(CatalogError, match=rf"^{where}: expected a mapping with keys devices, models"):
        load_catalog(["devices"])
    with pytest.raises(CatalogError) as error:
        load_catalog({"quantizations": {"Q9": with_(QUANT, engines=["llamacpp"])}})
    assert str(error.value).startswith(
        f"{where}.quantizations.Q9.engines[0]: unknown engine 'llamacpp'; closest: llama.cpp"
    )
    with pytest.raises(CatalogError) as error:
        load_catalog({"quantizations": {"Q9": with_(QUANT, engines=["vllm"])}})
    assert str(error.value) == (
        f"{where}.quantizations.Q9.engines[0]: engine 'vllm' does not load format 'gguf' "
        "(its formats: safetensors)"
    )


# --------------------------------------------------------------------------- validation of entries


@pytest.mark.parametrize(
    ("section", "entry", "message"),
    [
        (
            "devices",
            with_(DEVICE, bandwith_gbs=1000, bandwidth_gbs=...),
            r"^EXT\.devices\.x: unknown key 'bandwith_gbs' \(did you mean 'bandwidth_gbs'\?\); "
            r"valid keys: arch, ",
        ),
        (
            "devices",
            with_(DEVICE, memory_gib=0),
            r"^EXT\.devices\.x\.memory_gib: expected a number greater than 0 and at most 16384, got 0 ",
        ),
        (
            "devices",
            with_(DEVICE, memory_gib=-8.0),
            r"\.memory_gib: expected a number greater than 0 and at most 16384, got -8\.0 \(number\)",
        ),
        (
            "devices",
            with_(DEVICE, bandwidth_gbs=-1),
            r"\.bandwidth_gbs: expected a number greater than 0 and at most 100000, got -1",
        ),
        ("devices", with_(DEVICE, memory_gib=True), r"\.memory_gib: expected a number, got True \(boolean\)"),
        ("devices", with_(DEVICE, name=...), r"^EXT\.devices\.x\.name: required field is missing$"),
        (
            "devices",
            with_(DEVICE, vendor="nvida"),
            r"\.vendor: unknown value 'nvida'; valid: nvidia, amd, apple, intel, cpu$",
        ),
        (
            "devices",
            with_(DEVICE, compute_capability=8.6),
            r'\.compute_capability: expected a quoted "major\.minor" string such as "8\.6", '
            r"got 8\.6 \(number\)",
        ),
        (
            "devices",
            with_(DEVICE, vendor="amd"),
            r"\.compute_capability: only NVIDIA devices have a CUDA compute capability",
        ),
        (
            "devices",
            with_(DEVICE, pci_device_ids=["2204"]),
            r'\.pci_device_ids\[0\]: expected a PCI device id such as "0x2204", got \'2204\'',
        ),
        ("devices", with_(DEVICE, match="RTX"), r"\.match: expected a list of strings, got 'RTX' \(string\)"),
        ("devices", "rtx-3090", r"^EXT\.devices\.x: expected a mapping of fields, got 'rtx-3090' \(string\)"),
        (
            "models",
            with_(MODEL, params_total_b=0),
            r"\.params_total_b: expected a number greater than 0 and at most 100000, got 0",
        ),
        (
            "models",
            with_(MODEL, layers=0),
            r"\.layers: expected an integer of at least 1 and at most 4096, got 0",
        ),
        ("models", with_(MODEL, head_dim=128.0), r"\.head_dim: expected an integer, got 128\.0 \(number\)"),
        (
            "models",
            with_(MODEL, kv_heads=5),
            r"^EXT\.models\.x\.kv_heads: 5 KV heads do not divide the 32 attention heads; "
            r"valid: a divisor of 32$",
        ),
        (
            "models",
            with_(MODEL, params_active_b=9),
            r"\.params_active_b: 9 billion active parameters exceed params_total_b \(8\)",
        ),
        (
            "models",
            with_(MODEL, attention={"kind": "window"}),
            r"^EXT\.models\.x\.attention\.kind: unknown value 'window'; valid: full, sliding, mla, hybrid$",
        ),
        (
            "models",
            with_(
                MODEL,
                attention={
                    "kind": "sliding",
                    "sliding_window": 4096,
                    "sliding_layers": 20,
                    "linear_layers": 20,
                },
            ),
            r"\.attention: sliding_layers \(20\) \+ linear_layers \(20\) exceed the model's layers \(32\)",
        ),
        (
            "models",
            with_(MODEL, attention={"kind": "full", "sliding_window": 4096, "sliding_layers": 8}),
            r"\.attention: kind 'full' has no sliding or linear layers",
        ),
        (
            "models",
            with_(MODEL, attention={"kind": "sliding", "sliding_layers": 8}),
            r"\.attention: sliding_window and sliding_layers go together",
        ),
        ("models", with_(MODEL, attention={"kind": "mla"}), r"\.attention: kind 'mla' needs kv_lora_rank"),
        (
            "models",
            with_(MODEL, attention={"kind": "full", "kv_lora_rank": 512, "qk_rope_head_dim": 64}),
            r"\.attention: kv_lora_rank and qk_rope_head_dim apply to kind 'mla' only",
        ),
        (
            "models",
            with_(MODEL, attention={"kind": "hybrid"}),
            r"\.attention: kind 'hybrid' needs linear_layers >= 1",
        ),
        (
            "models",
            with_(MODEL, moe={"experts": 8, "experts_active": 16}),
            r"\.moe\.experts_active: 16 routed experts per token exceed the 8 experts of the layer",
        ),
        ("models", with_(MODEL, moe={"experts": 8, "top_k": 2}), r"\.moe: unknown key 'top_k'"),
        (
            "models",
            with_(MODEL, moe={"experts": 8, "experts_active": 2, "dense_layers": 32}),
            r"\.moe\.dense_layers: 32 leading dense layers leave no MoE layer of the model's 32; "
            r"valid: 0 to 31",
        ),
        (
            "models",
            with_(MODEL, attention={"kind": "full", "q_lora_rank": 1536}),
            r"\.attention: q_lora_rank, qk_nope_head_dim and v_head_dim apply to kind 'mla' only",
        ),
        (
            "models",
            with_(MODEL, intermediate_size=0),
            r"\.intermediate_size: expected an integer of at least 1",
        ),
        (
            "quantizations",
            with_(QUANT, llama_ftype="Q4_K_XL"),
            r"\.llama_ftype: unknown llama\.cpp file type 'Q4_K_XL'; valid: F32, F16, ",
        ),
        (
            "quantizations",
            with_(QUANT, format="safetensors", engines=["vllm"], llama_ftype="Q4_K_M"),
            r"\.llama_ftype: only format 'gguf' has a llama\.cpp file type, this format is 'safetensors'",
        ),
        (
            "quantizations",
            with_(QUANT, format="ggml"),
            r"^EXT\.quantizations\.x\.format: unknown value 'ggml'; valid: gguf, safetensors, mlx$",
        ),
        ("quantizations", with_(QUANT, quality=1.2), r"\.quality: expected a number from 0 to 1, got 1\.2"),
        (
            "quantizations",
            with_(QUANT, bits_per_weight=0),
            r"\.bits_per_weight: expected a number greater than 0",
        ),
        (
            "quantizations",
            with_(QUANT, vendors=["nvidia", "tpu"]),
            r"\.vendors\[1\]: unknown value 'tpu'; valid: ",
        ),
        (
            "engines",
            with_(ENGINES["vllm"], default_port=70000),
            r"\.default_port: expected an integer of at least 1 and at most 65535, got 70000",
        ),
        (
            "engines",
            with_(ENGINES["vllm"], version=0.11),
            r"\.version: expected a non-empty string, got 0\.11",
        ),
        (
            "engines",
            with_(ENGINES["vllm"], formats=["onnx"]),
            r"\.formats\[0\]: unknown value 'onnx'; valid: gguf, ",
        ),
    ],
)
def test_invalid_entries(section: str, entry: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog({section: {"x": entry}}, where="EXT")


def test_invalid_shipped_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as error:
        load_with(tmp_path, devices={"bad": with_(DEVICE, memory_gib=0)})
    assert "catalogs/devices.yml: devices.bad.memory_gib: expected a number greater than 0" in str(
        error.value
    )
    # Shipped entries must cite a source; inventory entries may omit it.
    with pytest.raises(CatalogError, match=r"models\.yml: models\.org/m\.source: required field is missing"):
        load_with(tmp_path / "b", models={"org/m": with_(MODEL, source=...)})


def test_catalog_file_structure_errors(tmp_path: Path) -> None:
    directory = write_catalog(tmp_path / "c")
    (directory / "engines.yml").unlink()
    with pytest.raises(CatalogError, match=r"engines\.yml: catalog file is missing"):
        load_catalog(catalog_dir=directory)
    write_catalog(directory)
    (directory / "models.yml").write_text("model:\n  a: {}\n")
    with pytest.raises(
        CatalogError, match=r"models\.yml: expected exactly one top-level key 'models', got \['model'\]"
    ):
        load_catalog(catalog_dir=directory)
    (directory / "models.yml").write_text("models: [a, b]\n")
    with pytest.raises(CatalogError, match=r"models\.yml: models: expected a mapping of id to entry"):
        load_catalog(catalog_dir=directory)
    (directory / "models.yml").write_text("models:\n  a: {\n")
    with pytest.raises(CatalogError, match=r"models\.yml: not valid YAML"):
        load_catalog(catalog_dir=directory)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    directory = write_catalog(tmp_path / "c")
    entry = yaml.safe_dump(DEVICE, default_flow_style=True, width=1000).strip()
    (directory / "devices.yml").write_text(f"devices:\n  gpu: {entry}\n  gpu: {entry}\n")
    with pytest.raises(CatalogError, match=r"devices\.yml:3: duplicate key 'gpu'; each id may appear once"):
        load_catalog(catalog_dir=directory)


def test_parsed_files_are_cached_until_they_change(tmp_path: Path) -> None:
    directory = write_catalog(tmp_path / "c")
    first = load_catalog(catalog_dir=directory)
    assert load_catalog(catalog_dir=directory).devices["test-gpu"] is first.devices["test-gpu"]
    write_catalog(directory, devices={"test-gpu": with_(DEVICE, memory_gib=48.5)})
    assert load_catalog(catalog_dir=directory).devices["test-gpu"].memory_bytes == round(48.5 * GIB)


def test_catalog_is_read_only(catalog: Catalog) -> None:
    with pytest.raises(TypeError):
        catalog.devices["new"] = catalog.devices["rtx-3090"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.devices["rtx-3090"].memory_bytes = 1
    with pytest.raises(TypeError):
        catalog.engines["vllm"].tuning["memory_utilization"] = 1.0
