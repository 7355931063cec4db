# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The catalog's entry types and the one place where catalog units become SI units.

GiB become bytes, GB/s become bytes/s and billions of parameters become integers here and nowhere
else; every other module reads the dataclasses below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_schema import (
    ATTENTION_KINDS,
    FORMATS,
    VENDORS,
    CatalogError,
    EntryReader,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_types import LLAMA_FTYPES

GIB = 2**30
GB = 10**9
BILLION = 10**9

DEVICE_REQUIRED = ("name", "vendor", "memory_gib", "bandwidth_gbs", "source")
DEVICE_OPTIONAL = (
    "unified_memory",
    "compute_capability",
    "arch",
    "fp16_tflops",
    "pci_device_ids",
    "match",
    "decode_class",
)
MODEL_REQUIRED = (
    "params_total_b",
    "layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "vocab_size",
    "max_context",
    "source",
)
# model_type and the widths below are optional: with them the GGUF weights are summed tensor by
# tensor (gguf_tensors.py); without them the memory model uses parameters x bits per weight.
MODEL_OPTIONAL = (
    "params_active_b",
    "tie_embeddings",
    "attention",
    "moe",
    "quantizations",
    "model_type",
    "intermediate_size",
)
ATTENTION_REQUIRED = ("kind",)
ATTENTION_OPTIONAL = (
    "sliding_window",
    "sliding_layers",
    "linear_layers",
    "kv_lora_rank",
    "qk_rope_head_dim",
    "q_lora_rank",
    "qk_nope_head_dim",
    "v_head_dim",
)
MLA_ONLY = ("kv_lora_rank", "qk_rope_head_dim", "q_lora_rank", "qk_nope_head_dim", "v_head_dim")
MOE_REQUIRED = ("experts", "experts_active")
MOE_OPTIONAL = (
    "shared_experts",
    "expert_intermediate_size",
    "shared_expert_intermediate_size",
    "dense_layers",
)
QUANT_REQUIRED = ("format", "engines", "bits_per_weight", "quality", "vendors", "source")
QUANT_OPTIONAL = ("min_compute_capability", "models", "llama_ftype")
ENGINE_REQUIRED = ("version", "formats", "vendors", "default_port", "source")
ENGINE_OPTIONAL = ("tuning", "package")

# Inline specs in an inventory may carry their own id; catalog entries take it from their key.
INLINE_ONLY = ("id",)
MAX_BITS_PER_WEIGHT = 32.0
# Plausible model sizes (docs/planner.md, "Input rules"): the largest published models are near 2T
# parameters, 128 layers, a 256k vocabulary and a 10M-token context.
MAX_PARAMS_B = 100_000.0
MAX_LAYERS = 4096
MAX_WIDTH = 1 << 20
MAX_HEADS = 1 << 16
MAX_VOCAB = 1 << 24
MAX_CONTEXT = 1 << 27
MAX_EXPERTS = 1 << 16


def checked_id(entry_id: object, where: str, kind: str) -> str:
    """A catalog id that is safe in paths, unit lines and argv; CatalogError naming the rule otherwise."""
    problem = (
        input_rules.model_id_problem(entry_id) if kind == "model" else input_rules.token_problem(entry_id)
    )
    if problem is not None:
        raise CatalogError(f"{where}: {kind} id {entry_id!r} is not valid; {problem}")
    return str(entry_id)


@dataclass(frozen=True)
class DeviceSpec:
    """One accelerator (or a CPU host's memory system), in bytes and bytes/s."""

    id: str
    name: str
    vendor: str
    memory_bytes: int
    bandwidth_bytes_s: float
    unified_memory: bool
    compute_capability: str | None
    arch: str | None
    fp16_tflops: float | None
    pci_device_ids: tuple[str, ...]
    match: tuple[str, ...]
    source: str
    # Which of an engine's decode tables (engines.yml tuning, throughput.py) the device reads.
    decode_class: str = ""


def default_decode_class(vendor: str, unified_memory: bool) -> str:
    """The decode class of a device that names none: its vendor's, ``<vendor>-unified`` for a GPU
    that shares the host's memory (an AMD APU, NVIDIA GB10); Apple chips are all unified."""
    if unified_memory and vendor not in ("apple", "cpu"):
        return f"{vendor}-unified"
    return vendor


@dataclass(frozen=True)
class AttentionSpec:
    """How a model's layers attend; decides the size of its KV cache."""

    kind: str
    sliding_window: int | None
    sliding_layers: int
    linear_layers: int
    kv_lora_rank: int | None
    qk_rope_head_dim: int | None
    # MLA projection widths (config.json q_lora_rank, qk_nope_head_dim, v_head_dim): tensor shapes only.
    q_lora_rank: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None


@dataclass(frozen=True)
class MoeSpec:
    """Mixture-of-experts routing: experts per MoE layer, routed experts per token, shared experts."""

    experts: int
    experts_active: int
    shared_experts: int
    # FFN width of one routed expert (config.json moe_intermediate_size; gpt-oss: intermediate_size),
    # of all shared experts together, and how many leading layers are dense (first_k_dense_replace).
    expert_intermediate_size: int | None = None
    shared_expert_intermediate_size: int | None = None
    dense_layers: int = 0


@dataclass(frozen=True)
class ModelSpec:
    """A model's architecture numbers, parameters as integer counts."""

    id: str
    params_total: int
    params_active: int
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    max_context: int
    tie_embeddings: bool
    attention: AttentionSpec
    moe: MoeSpec | None
    source: str
    # Quantization ids this model is published in; empty means any (it can be converted locally).
    quantizations: tuple[str, ...] = ()
    # config.json model_type of the text model and its dense FFN width (intermediate_size): with the
    # MoE and MLA widths they give the model's tensor shapes (plugin_utils/gguf_tensors.py).
    model_type: str | None = None
    intermediate_size: int | None = None


@dataclass(frozen=True)
class QuantSpec:
    """A weight format: how many bits a weight takes as stored, where it runs, how good it is."""

    id: str
    format: str
    engines: tuple[str, ...]
    bits_per_weight: float
    quality: float
    min_compute_capability: str | None
    vendors: tuple[str, ...]
    source: str
    # Models with published checkpoints in this format; empty means any model can be converted.
    models: tuple[str, ...] = ()
    # GGUF only: the llama.cpp file type (llama-quantize's name) these files are, for per-tensor sizes.
    llama_ftype: str | None = None


@dataclass(frozen=True)
class EngineSpec:
    """An inference engine at its pinned version."""

    id: str
    version: str
    formats: tuple[str, ...]
    vendors: tuple[str, ...]
    default_port: int
    source: str
    tuning: Mapping[str, Any]
    # The package index that serves it ("pypi:vllm"), for `make catalog-age`; None: release files.
    package: str | None = None


def _required(fields: tuple[str, ...], source_default: str | None) -> tuple[str, ...]:
    """Entries from inventories may omit ``source``; shipped entries may not."""
    return fields if source_default is None else tuple(f for f in fields if f != "source")


def _optional(fields: tuple[str, ...], source_default: str | None, inline: bool) -> tuple[str, ...]:
    extra = ("source",) if source_default is not None else ()
    return fields + extra + (INLINE_ONLY if inline else ())


def parse_device(
    entry_id: str, entry: object, where: str, source_default: str | None = None, inline: bool = False
) -> DeviceSpec:
    """Validate one device entry and convert it to bytes and bytes/s."""
    reader = EntryReader(
        entry,
        where,
        _required(DEVICE_REQUIRED, source_default),
        _optional(DEVICE_OPTIONAL, source_default, inline),
    )
    vendor = reader.choice("vendor", VENDORS)
    # An inline device without an id is named by where it was declared; its id reaches no path.
    device_id = checked_id(reader.text("id"), reader.path("id"), "device") if reader.has("id") else entry_id
    compute_capability = reader.compute_capability("compute_capability")
    if compute_capability is not None and vendor != "nvidia":
        raise CatalogError(
            f"{reader.path('compute_capability')}: only NVIDIA devices have a CUDA compute capability, "
            f"this device's vendor is {vendor!r}; remove the field or set vendor: nvidia"
        )
    unified_memory = reader.boolean("unified_memory", False)
    decode_class = (
        checked_id(reader.text("decode_class"), reader.path("decode_class"), "device")
        if reader.has("decode_class")
        else default_decode_class(vendor, unified_memory)
    )
    return DeviceSpec(
        id=device_id,
        name=reader.text("name"),
        vendor=vendor,
        memory_bytes=round(reader.number("memory_gib", maximum=input_rules.DEVICE_MEMORY_GIB.maximum) * GIB),
        bandwidth_bytes_s=reader.number("bandwidth_gbs", maximum=input_rules.BANDWIDTH_GBS.maximum) * GB,
        unified_memory=unified_memory,
        compute_capability=compute_capability,
        arch=reader.optional_text("arch"),
        fp16_tflops=reader.optional_number("fp16_tflops", maximum=input_rules.TFLOPS.maximum),
        pci_device_ids=reader.pci_device_ids("pci_device_ids"),
        match=reader.text_list("match"),
        source=reader.text("source", source_default),
        decode_class=decode_class,
    )


def _parse_attention(raw: Mapping[str, Any] | None, where: str, layers: int) -> AttentionSpec:
    """Check that the attention fields fit the kind and the layer count."""
    if raw is None:
        return AttentionSpec("full", None, 0, 0, None, None)
    reader = EntryReader(raw, where, ATTENTION_REQUIRED, ATTENTION_OPTIONAL)
    kind = reader.choice("kind", ATTENTION_KINDS)
    window = reader.optional_integer("sliding_window", maximum=MAX_CONTEXT)
    sliding_layers = reader.integer("sliding_layers", minimum=0, maximum=MAX_LAYERS, default=0)
    linear_layers = reader.integer("linear_layers", minimum=0, maximum=MAX_LAYERS, default=0)
    kv_lora_rank = reader.optional_integer("kv_lora_rank", maximum=MAX_WIDTH)
    qk_rope_head_dim = reader.optional_integer("qk_rope_head_dim", maximum=MAX_HEADS)
    q_lora_rank = reader.optional_integer("q_lora_rank", maximum=MAX_WIDTH)
    qk_nope_head_dim = reader.optional_integer("qk_nope_head_dim", maximum=MAX_HEADS)
    v_head_dim = reader.optional_integer("v_head_dim", maximum=MAX_HEADS)

    if sliding_layers + linear_layers > layers:
        raise CatalogError(
            f"{where}: sliding_layers ({sliding_layers}) + linear_layers ({linear_layers}) "
            f"exceed the model's layers ({layers})"
        )
    if (sliding_layers > 0) != (window is not None):
        raise CatalogError(
            f"{where}: sliding_window and sliding_layers go together "
            f"(got sliding_window={window}, sliding_layers={sliding_layers})"
        )
    if kind == "mla":
        if kv_lora_rank is None or qk_rope_head_dim is None:
            raise CatalogError(f"{where}: kind 'mla' needs kv_lora_rank and qk_rope_head_dim")
    elif kv_lora_rank is not None or qk_rope_head_dim is not None:
        raise CatalogError(
            f"{where}: kv_lora_rank and qk_rope_head_dim apply to kind 'mla' only, this kind is {kind!r}"
        )
    elif any(reader.has(key) for key in MLA_ONLY):
        raise CatalogError(
            f"{where}: q_lora_rank, qk_nope_head_dim and v_head_dim apply to kind 'mla' only, "
            f"this kind is {kind!r}"
        )
    if kind == "full" and (sliding_layers or linear_layers):
        raise CatalogError(
            f"{where}: kind 'full' has no sliding or linear layers; use kind 'sliding' or 'hybrid'"
        )
    if kind == "sliding" and (sliding_layers == 0 or linear_layers):
        raise CatalogError(
            f"{where}: kind 'sliding' needs sliding_window and sliding_layers >= 1 and no linear_layers"
        )
    if kind == "hybrid" and linear_layers == 0:
        raise CatalogError(f"{where}: kind 'hybrid' needs linear_layers >= 1 (layers with constant state)")
    return AttentionSpec(
        kind,
        window,
        sliding_layers,
        linear_layers,
        kv_lora_rank,
        qk_rope_head_dim,
        q_lora_rank=q_lora_rank,
        qk_nope_head_dim=qk_nope_head_dim,
        v_head_dim=v_head_dim,
    )


def _parse_moe(raw: Mapping[str, Any] | None, where: str) -> MoeSpec | None:
    if raw is None:
        return None
    reader = EntryReader(raw, where, MOE_REQUIRED, MOE_OPTIONAL)
    experts = reader.integer("experts", maximum=MAX_EXPERTS)
    experts_active = reader.integer("experts_active", maximum=MAX_EXPERTS)
    if experts_active > experts:
        raise CatalogError(
            f"{reader.path('experts_active')}: {experts_active} routed experts per token "
            f"exceed the {experts} experts of the layer"
        )
    shared = reader.integer("shared_experts", minimum=0, maximum=MAX_EXPERTS, default=0)
    return MoeSpec(
        experts,
        experts_active,
        shared,
        expert_intermediate_size=reader.optional_integer("expert_intermediate_size", maximum=MAX_WIDTH),
        shared_expert_intermediate_size=reader.optional_integer(
            "shared_expert_intermediate_size", maximum=MAX_WIDTH
        ),
        dense_layers=reader.integer("dense_layers", minimum=0, maximum=MAX_LAYERS, default=0),
    )


def parse_model(
    entry_id: str, entry: object, where: str, source_default: str | None = None, inline: bool = False
) -> ModelSpec:
    """Validate one model entry and convert billions of parameters to counts."""
    reader = EntryReader(
        entry,
        where,
        _required(MODEL_REQUIRED, source_default),
        _optional(MODEL_OPTIONAL, source_default, inline),
    )
    if inline and not reader.has("id"):
        raise CatalogError(
            f"{reader.path('id')}: missing; an inline model needs an id such as 'owner/name' "
            "(it names the model's folder on the hosts and its weights)"
        )
    model_id = checked_id(reader.text("id"), reader.path("id"), "model") if inline else entry_id
    total_b = reader.number("params_total_b", maximum=MAX_PARAMS_B)
    active_b = (
        reader.number("params_active_b", maximum=MAX_PARAMS_B) if reader.has("params_active_b") else total_b
    )
    if active_b > total_b:
        raise CatalogError(
            f"{reader.path('params_active_b')}: {active_b:g} billion active parameters exceed "
            f"params_total_b ({total_b:g})"
        )
    layers = reader.integer("layers", maximum=MAX_LAYERS)
    attention_heads = reader.integer("attention_heads", maximum=MAX_HEADS)
    kv_heads = reader.integer("kv_heads", maximum=MAX_HEADS)
    if attention_heads % kv_heads:
        raise CatalogError(
            f"{reader.path('kv_heads')}: {kv_heads} KV heads do not divide the {attention_heads} "
            f"attention heads; valid: a divisor of {attention_heads}"
        )
    moe = _parse_moe(reader.mapping("moe"), reader.path("moe"))
    if moe is not None and moe.dense_layers >= layers:
        raise CatalogError(
            f"{reader.path('moe')}.dense_layers: {moe.dense_layers} leading dense layers leave no MoE layer "
            f"of the model's {layers}; valid: 0 to {layers - 1}"
        )
    return ModelSpec(
        id=model_id,
        params_total=round(total_b * BILLION),
        params_active=round(active_b * BILLION),
        layers=layers,
        hidden_size=reader.integer("hidden_size", maximum=MAX_WIDTH),
        attention_heads=attention_heads,
        kv_heads=kv_heads,
        head_dim=reader.integer("head_dim", maximum=MAX_HEADS),
        vocab_size=reader.integer("vocab_size", maximum=MAX_VOCAB),
        max_context=reader.integer("max_context", maximum=MAX_CONTEXT),
        tie_embeddings=reader.boolean("tie_embeddings", False),
        attention=_parse_attention(reader.mapping("attention"), reader.path("attention"), layers),
        moe=moe,
        source=reader.text("source", source_default),
        quantizations=reader.text_list("quantizations"),
        model_type=reader.optional_text("model_type"),
        intermediate_size=reader.optional_integer("intermediate_size", maximum=MAX_WIDTH),
    )


def parse_quantization(
    entry_id: str, entry: object, where: str, source_default: str | None = None
) -> QuantSpec:
    """Validate one quantization entry (engine names are checked against the engines later)."""
    reader = EntryReader(
        entry,
        where,
        _required(QUANT_REQUIRED, source_default),
        _optional(QUANT_OPTIONAL, source_default, False),
    )
    quant_format = reader.choice("format", FORMATS)
    llama_ftype = reader.optional_text("llama_ftype")
    if llama_ftype is not None and llama_ftype not in LLAMA_FTYPES:
        raise CatalogError(
            f"{reader.path('llama_ftype')}: unknown llama.cpp file type {llama_ftype!r}; "
            f"valid: {', '.join(LLAMA_FTYPES)}"
        )
    if llama_ftype is not None and quant_format != "gguf":
        raise CatalogError(
            f"{reader.path('llama_ftype')}: only format 'gguf' has a llama.cpp file type, this format is "
            f"{quant_format!r}; remove the field"
        )
    return QuantSpec(
        id=checked_id(entry_id, where, "quantization"),
        format=quant_format,
        engines=reader.text_list("engines"),
        bits_per_weight=reader.number("bits_per_weight", maximum=MAX_BITS_PER_WEIGHT),
        quality=reader.fraction("quality"),
        min_compute_capability=reader.compute_capability("min_compute_capability"),
        vendors=reader.text_list("vendors", VENDORS),
        source=reader.text("source", source_default),
        models=reader.text_list("models"),
        llama_ftype=llama_ftype,
    )


def parse_engine(entry_id: str, entry: object, where: str, source_default: str | None = None) -> EngineSpec:
    """Validate one engine entry; ``tuning`` is engine-specific and kept as given (read-only)."""
    reader = EntryReader(
        entry,
        where,
        _required(ENGINE_REQUIRED, source_default),
        _optional(ENGINE_OPTIONAL, source_default, False),
    )
    tuning = reader.mapping("tuning") or {}
    port = reader.integer("default_port", maximum=input_rules.MAX_PORT)
    version = reader.text("version")
    problem = input_rules.token_problem(version)
    if problem is not None:
        raise CatalogError(f"{reader.path('version')}: {version!r} is not valid; {problem}")
    return EngineSpec(
        id=checked_id(entry_id, where, "engine"),
        version=version,
        formats=reader.text_list("formats", FORMATS),
        vendors=reader.text_list("vendors", VENDORS),
        default_port=port,
        source=reader.text("source", source_default),
        tuning=MappingProxyType(dict(tuning)),
        package=reader.optional_text("package"),
    )
