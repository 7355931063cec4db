# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Planner filters: model_memory, best_quant, engine_argv, decode_tps (docs: the .yml files beside this).

They run the same code as the fleet_plan action (plugins/plugin_utils), on one model and one device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import CatalogError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.memory import memory_need
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.single_host import (
    NoFitError,
    catalog_with,
    plan_one,
)

DEFAULT_CONTEXT = 8192


def _guard(name: str, call: Callable[[], Any]) -> Any:
    """Turn the planner's input errors into AnsibleFilterError naming the filter."""
    try:
        return call()
    except (CatalogError, PlanInputError, ValueError, KeyError) as error:
        raise AnsibleFilterError(f"{name}: {error}") from error


def model_memory(
    model: str | Mapping[str, Any],
    quant: str,
    *,
    context: int = DEFAULT_CONTEXT,
    concurrency: int = 1,
    engine: str | None = None,
    kv_cache_dtype: str | None = None,
    tensor_parallel: int = 1,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Weights, KV cache and overhead bytes of ``model`` at ``quant``, summed over the GPUs."""

    def compute() -> dict[str, int]:
        catalog = catalog_with(extensions)
        spec = catalog.model(model, "model")
        quantization = catalog.quantization(quant, "quant")
        engine_spec = catalog.engine(engine or quantization.engines[0], "engine")
        if engine_spec.id not in quantization.engines:
            raise ValueError(
                f"engine {engine_spec.id!r} does not load {quant}; engines: {', '.join(quantization.engines)}"
            )
        if context < 1 or concurrency < 1 or tensor_parallel < 1:
            raise ValueError("context, concurrency and tensor_parallel must be at least 1")
        kv = kv_cache_dtype or str(engine_spec.tuning.get("default_kv_cache_dtype", "fp16"))
        need = memory_need(
            spec,
            quantization,
            engine_spec,
            context=context,
            concurrency=concurrency,
            kv_dtype=kv,
            devices=tensor_parallel,
        )
        return {
            "weights_bytes": need.weights_bytes * tensor_parallel,
            "kv_cache_bytes": need.kv_cache_bytes * tensor_parallel,
            "overhead_bytes": need.overhead_bytes * tensor_parallel,
            "total_bytes": need.total_bytes * tensor_parallel,
        }

    result: dict[str, int] = _guard("model_memory", compute)
    return result


def _deployment(
    model: Any, context: int, concurrency: int, engine: str | None, quant: str | None
) -> dict[str, Any]:
    wanted: dict[str, Any] = {"model": model, "context": context, "concurrency": concurrency}
    if engine:
        wanted["engine"] = engine
    if quant:
        wanted["quant"] = quant
    return wanted


def best_quant(
    model: str | Mapping[str, Any],
    device: str | Mapping[str, Any],
    *,
    context: int = DEFAULT_CONTEXT,
    concurrency: int = 1,
    engine: str | None = None,
    count: int = 1,
    extensions: Mapping[str, Any] | None = None,
) -> str | None:
    """The highest-quality quantization of ``model`` that fits ``count`` x ``device``; None when none fits."""

    def compute() -> str | None:
        catalog = catalog_with(extensions)
        try:
            entry = plan_one(catalog, device, count, _deployment(model, context, concurrency, engine, None))
        except NoFitError:
            return None
        return str(entry["quant"])

    result: str | None = _guard("best_quant", compute)
    return result


def engine_argv(
    model: str | Mapping[str, Any],
    device: str | Mapping[str, Any],
    *,
    context: int = DEFAULT_CONTEXT,
    concurrency: int = 1,
    engine: str | None = None,
    quant: str | None = None,
    count: int = 1,
    name: str = "model",
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{argv, env, engine, quant, port}`` that would start ``model`` on ``count`` x ``device``."""

    def compute() -> dict[str, Any]:
        catalog = catalog_with(extensions)
        wanted = _deployment(model, context, concurrency, engine, quant)
        entry = plan_one(catalog, device, count, {**wanted, "name": name})
        return {key: entry[key] for key in ("argv", "env", "engine", "quant", "port", "tensor_parallel")}

    result: dict[str, Any] = _guard("engine_argv", compute)
    return result


def decode_tps(
    model: str | Mapping[str, Any],
    device: str | Mapping[str, Any],
    *,
    quant: str | None = None,
    context: int = DEFAULT_CONTEXT,
    engine: str | None = None,
    count: int = 1,
    extensions: Mapping[str, Any] | None = None,
) -> float | None:
    """Predicted single-stream decode tokens/s (roofline, docs/planner.md); None when bandwidth is unknown."""

    def compute() -> float | None:
        catalog = catalog_with(extensions)
        entry = plan_one(catalog, device, count, _deployment(model, context, 1, engine, quant))
        value = entry["predicted_decode_tps"]
        return None if value is None else float(value)

    result: float | None = _guard("decode_tps", compute)
    return result


class FilterModule:
    """sovereign.stack planner filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """Filter names to functions."""
        return {
            "model_memory": model_memory,
            "best_quant": best_quant,
            "engine_argv": engine_argv,
            "decode_tps": decode_tps,
        }
