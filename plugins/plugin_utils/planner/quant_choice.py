# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which quantizations an engine can load on a device, best first.

The planner walks this list and keeps the first one that fits (highest ``quality`` wins; equal
quality prefers more bits). A quantization qualifies when its format is one the engine loads, the
engine is listed in its ``engines``, the device vendor in its ``vendors``, and the GPU meets its
``min_compute_capability``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    Catalog,
    EngineSpec,
    ModelSpec,
    QuantSpec,
)


def capability_tuple(capability: str | None) -> tuple[int, ...]:
    """``"8.9"`` -> ``(8, 9)``; None (not NVIDIA) -> ``()``."""
    if not capability:
        return ()
    return tuple(int(part) for part in str(capability).split("."))


# Below Q2_K's quality (the 1-2.9 bit i-quants, Q2_K_S) a quantization is used only when pinned:
# it is the last resort for a model far larger than the memory, a choice for the user to make, and
# each type offered multiplies the planner's ways (tests/benchmarks/bench_plan.py).
MIN_UNPINNED_QUALITY = 0.80

# llama.cpp's MXFP4_MOE file type stores only the expert tensors in MXFP4 and the rest in Q8_0
# (src/llama-quant.cpp), so its bits per weight describe MoE models only.
MOE_ONLY_SUFFIX = "_MOE"


def unsupported_reason(
    quant: QuantSpec,
    engine: EngineSpec,
    vendor: str,
    capability: str | None,
    *,
    model: ModelSpec | None = None,
) -> str | None:
    """Why ``quant`` cannot run with ``engine`` on a ``vendor`` device (for ``model``); None when it can."""
    if model is not None:
        reason = model_reason(quant, model)
        if reason:
            return reason
    if quant.format not in engine.formats or engine.id not in quant.engines:
        return f"{engine.id} does not load {quant.id} (engines for {quant.id}: {', '.join(quant.engines)})"
    if vendor not in quant.vendors:
        return f"{quant.id} does not run on {vendor} devices ({quant.id} runs on {', '.join(quant.vendors)})"
    minimum = quant.min_compute_capability
    if minimum and vendor == "nvidia" and capability_tuple(capability) < capability_tuple(minimum):
        return f"{quant.id} needs compute capability {minimum}, the GPU has {capability}"
    return None


def model_reason(quant: QuantSpec, model: ModelSpec) -> str | None:
    """Why ``model`` has no ``quant`` checkpoint; None when it may have one."""
    if quant.id.upper().endswith(MOE_ONLY_SUFFIX) and model.moe is None:
        return f"{quant.id} applies to mixture-of-experts models only"
    if model.quantizations and quant.id not in model.quantizations:
        return (
            f"{model.id} is published as {', '.join(model.quantizations)} only "
            f"(models.{model.id}.quantizations)"
        )
    if quant.models and model.id not in quant.models:
        return (
            f"{quant.id} checkpoints are published for {', '.join(quant.models)} only; add {model.id} to "
            f"quantizations.{quant.id}.models in sovereign_catalog_extensions if you have one"
        )
    return None


def ranked(quantizations: Iterable[QuantSpec]) -> list[QuantSpec]:
    """Best first: quality, then bits per weight, then id so that the order is total."""
    return sorted(quantizations, key=lambda q: (-q.quality, -q.bits_per_weight, q.id))


def candidates(
    catalog: Catalog,
    engine: EngineSpec,
    vendor: str,
    capability: str | None,
    *,
    pinned: str | None = None,
    model: ModelSpec | None = None,
) -> list[QuantSpec]:
    """Quantizations ``engine`` can use on this device, best first; only ``pinned`` when given.

    Unpinned, quantizations below MIN_UNPINNED_QUALITY are left out, and so is one that another
    usable one matches in quality at no more bits:
    it needs more memory and reads more bytes per token for nothing (the legacy Q4_0 ... Q5_1 and
    IQ4_NL against the k-quants and IQ4_XS), so no plan can prefer it, and the planner need not size it.
    """
    pool = [catalog.quantizations[pinned]] if pinned else list(catalog.quantizations.values())
    usable = [q for q in pool if unsupported_reason(q, engine, vendor, capability, model=model) is None]
    if pinned:
        return ranked(usable)
    return ranked(_undominated([q for q in usable if q.quality >= MIN_UNPINNED_QUALITY]))


def _undominated(quants: list[QuantSpec]) -> list[QuantSpec]:
    """``quants`` less those another of the same format beats in quality at no more bits, or
    matches in quality at fewer bits (one sweep from the fewest bits up)."""
    kept = []
    best: dict[str, tuple[float, float]] = {}  # format -> (best quality so far, fewest bits reaching it)
    for quant in sorted(quants, key=lambda q: (q.bits_per_weight, -q.quality, q.id)):
        quality, bits = best.get(quant.format, (-1.0, 0.0))
        if quality > quant.quality or (quality == quant.quality and bits < quant.bits_per_weight):
            continue
        kept.append(quant)
        if quant.quality > quality:
            best[quant.format] = (quant.quality, quant.bits_per_weight)
    return kept
