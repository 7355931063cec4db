# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Validation of ``sovereign_deployments``: every problem found, each naming where, what and what is valid."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    Catalog,
    CatalogError,
    ModelSpec,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.input_rules import (
    MAX_PORT,
    deployment_name_problem,
    tags_problem,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_names import ENGINES_WITH_ARGV
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.memory import KV_ELEMENT_BYTES
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.objective import PREFER_CHOICES
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

DEFAULT_CONTEXT = 8192
# Deployments listen on unprivileged ports only.
MIN_PORT = 1024
# Plausible upper bounds (docs/planner.md, "Input rules"): more replicas than any fleet has hosts,
# more parallel sequences than any engine batches.
MAX_REPLICAS = 1024
MAX_CONCURRENCY = 4096
# A deployment's weight in "as many replicas placed as possible" (docs/planner.md, "Objective").
MAX_PRIORITY = 1000
# Tokens in the context at which the plan states a deployment's decode speed, unless it says.
DEFAULT_DEPTH = 4096
MAX_GPUS = 64
DEPLOYMENT_KEYS = (
    "name",
    "model",
    "replicas",
    "context",
    "concurrency",
    "engine",
    "quant",
    "hosts",
    "allow_context_reduction",
    "allow_cpu_offload",
    "allow_partial_placement",
    "kv_cache_dtype",
    "port",
    "priority",
    "prefer",
    "depth",
    "gpus",
    "tags",
)
VARIABLE = "sovereign_deployments"


@dataclass(frozen=True)
class DeploymentRequest:
    """One validated entry of ``sovereign_deployments``."""

    name: str
    model: ModelSpec
    replicas: int
    context: int
    concurrency: int
    engine: str | None
    quant: str | None
    hosts: tuple[str, ...] | None
    allow_context_reduction: bool
    allow_cpu_offload: bool
    allow_partial_placement: bool
    kv_cache_dtype: str | None
    port: int | None
    priority: int = 1
    prefer: str = "balanced"
    # Tokens typically in the context while decoding: the depth the speed is predicted at.
    depth: int = DEFAULT_DEPTH
    # GPUs one replica must use (None: the planner chooses).
    gpus: int | None = None
    # Capability tags (the fleet router's ``auto:<tag>``), sorted, each once.
    tags: tuple[str, ...] = ()


class _Checker:
    """Collects problems for one deployment so that all of them are reported together."""

    def __init__(self, index: int, entry: Mapping[str, Any], problems: list[str]) -> None:
        name = entry.get("name")
        label = f" (name {name!r})" if isinstance(name, str) else ""
        self.where = f"{VARIABLE}[{index}]{label}"
        self.entry = entry
        self.problems = problems

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}.{key}: {message}")

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.entry.get(key, default)
        too_big = maximum is not None and isinstance(value, int) and value > maximum
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or too_big:
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.problem(key, f"{value!r} is not valid; expected an integer of at least {minimum}{upper}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.entry.get(key, default)
        if not isinstance(value, bool):
            self.problem(key, f"{value!r} is not valid; expected true or false")
            return default
        return value


def _unknown_keys(check: _Checker) -> None:
    for key in sorted(set(check.entry) - set(DEPLOYMENT_KEYS), key=str):
        close = difflib.get_close_matches(str(key), DEPLOYMENT_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        check.problems.append(
            f"{check.where}: unknown key {key!r}{hint}; valid keys are {', '.join(DEPLOYMENT_KEYS)}"
        )


def _model(check: _Checker, catalog: Catalog) -> ModelSpec | None:
    if "model" not in check.entry:
        check.problem("model", "missing; expected a catalog model id (catalogs/models.yml) or an inline spec")
        return None
    try:
        return catalog.model(check.entry["model"], f"{check.where}.model")
    except CatalogError as error:
        check.problems.append(str(error))
        return None


def _choice(check: _Checker, key: str, valid: Sequence[str]) -> str | None:
    value = check.entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in valid:
        check.problem(key, f"{value!r} is not valid; expected one of {', '.join(valid)}")
        return None
    return value


def _tags(check: _Checker) -> tuple[str, ...]:
    value = check.entry.get("tags", [])
    problem = tags_problem(value)
    if problem:
        check.problem("tags", f"{value!r} is not valid; {problem}")
        return ()
    return tuple(sorted(set(value)))


def _hosts(check: _Checker, inventory_hosts: Sequence[str]) -> tuple[str, ...] | None:
    value = check.entry.get("hosts")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(h, str) for h in value):
        check.problem("hosts", f"{value!r} is not valid; expected a non-empty list of inventory host names")
        return None
    unknown = [h for h in value if h not in inventory_hosts]
    if unknown:
        check.problem(
            "hosts",
            f"{', '.join(unknown)} not in this play; "
            f"expected hosts among {', '.join(sorted(inventory_hosts))}",
        )
        return None
    return tuple(dict.fromkeys(value))


def _request(
    index: int, entry: Any, catalog: Catalog, inventory_hosts: Sequence[str], problems: list[str]
) -> DeploymentRequest | None:
    if not isinstance(entry, Mapping):
        problems.append(
            f"{VARIABLE}[{index}]: {entry!r} is not valid; expected a mapping with name and model"
        )
        return None
    check = _Checker(index, entry, problems)
    before = len(problems)
    _unknown_keys(check)
    name = entry.get("name")
    name_problem = deployment_name_problem(name)
    if name_problem:
        check.problem("name", f"{name!r} is not valid; {name_problem}")
    model = _model(check, catalog)
    replicas = check.integer("replicas", 1, 1, MAX_REPLICAS)
    max_context = model.max_context if model else None
    context = check.integer("context", min(DEFAULT_CONTEXT, max_context or DEFAULT_CONTEXT), 1, max_context)
    concurrency = check.integer("concurrency", 1, 1, MAX_CONCURRENCY)
    engine = _choice(check, "engine", sorted(set(catalog.engines) & set(ENGINES_WITH_ARGV)))
    quant = _choice(check, "quant", sorted(catalog.quantizations))
    if engine and quant and engine not in catalog.quantizations[quant].engines:
        check.problem(
            "quant",
            f"{quant!r} cannot be loaded by the pinned engine {engine!r}; "
            f"engines for {quant}: {', '.join(catalog.quantizations[quant].engines)}",
        )
    kv_valid = (
        sorted(catalog.engines[engine].tuning.get("kv_cache_dtypes", {}))
        if engine
        else sorted(KV_ELEMENT_BYTES)
    )
    kv_cache_dtype = _choice(check, "kv_cache_dtype", kv_valid)
    port = check.integer("port", 0, MIN_PORT, MAX_PORT) if "port" in entry else None
    hosts = _hosts(check, inventory_hosts)
    allow_context_reduction = check.boolean("allow_context_reduction", False)
    allow_cpu_offload = check.boolean("allow_cpu_offload", True)
    allow_partial_placement = check.boolean("allow_partial_placement", False)
    priority = check.integer("priority", 1, 1, MAX_PRIORITY)
    prefer = _choice(check, "prefer", PREFER_CHOICES) or "balanced"
    depth = check.integer("depth", min(context, DEFAULT_DEPTH), 0, context)
    gpus = check.integer("gpus", 0, 1, MAX_GPUS) if "gpus" in entry else None
    tags = _tags(check)
    if model is None or len(problems) != before:
        return None
    return DeploymentRequest(
        name=str(name),
        model=model,
        replicas=replicas,
        context=context,
        concurrency=concurrency,
        engine=engine,
        quant=quant,
        hosts=hosts,
        allow_context_reduction=allow_context_reduction,
        allow_cpu_offload=allow_cpu_offload,
        allow_partial_placement=allow_partial_placement,
        kv_cache_dtype=kv_cache_dtype,
        port=port or None,
        priority=priority,
        prefer=prefer,
        depth=depth,
        gpus=gpus or None,
        tags=tags,
    )


def parse_deployments(raw: Any, catalog: Catalog, inventory_hosts: Sequence[str]) -> list[DeploymentRequest]:
    """Validated deployments, or PlanInputError listing every problem in ``raw``."""
    if not isinstance(raw, list):
        raise PlanInputError(
            [f"{VARIABLE}: {raw!r} is not valid; expected a list of deployments ({{name, model, ...}})"]
        )
    problems: list[str] = []
    requests: list[DeploymentRequest] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        request = _request(index, entry, catalog, inventory_hosts, problems)
        if request is None:
            continue
        if request.name in seen:
            problems.append(
                f"{VARIABLE}[{index}].name: {request.name!r} is already used by "
                f"{VARIABLE}[{seen[request.name]}]; expected unique names"
            )
            continue
        seen[request.name] = index
        requests.append(request)
    if problems:
        raise PlanInputError(problems)
    return requests
