# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet router's routing table of one host, computed from the plan (plan.json).

One entry per deployment of the fleet, sorted smallest first by weights (the order in which
``auto`` tries them), each with its replicas wherever the plan placed them. A replica on the host
itself is reached on its loopback port; a replica on a peer through that peer's TLS proxy, at
``<origin>/sovereign-replica/<port>`` (the path each proxy must front for the fleet client, see
docs/architecture.md "Fleet endpoint"). A peer whose origin is not known yet (not on the tailnet)
is listed with ``url: null`` so the table still shows it, and the router leaves it out.

A deployment's ``context`` is the smallest context among its replicas (the plan may have reduced one
replica's to fit), so a request that fits it fits every replica; ``weights_bytes`` the largest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.input_rules import (
    deployment_name_problem,
    tags_problem,
)

TABLE_VERSION = 1
REMOTE_REPLICA_PATH = "/sovereign-replica/{port}"
# Names and tags are held to the rules sovereign_deployments was checked with when planning
# (input_rules), so a plan.json edited by hand meets the same ones here.


class FleetRouteError(ValueError):
    """The plan or the tags are not in the shape the routing table needs; the message says where."""


def _whole_number(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FleetRouteError(f"{where} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _name(value: Any, where: str) -> str:
    problem = deployment_name_problem(value)
    if problem or not isinstance(value, str):
        raise FleetRouteError(f"{where} must be a deployment name, got {value!r}: {problem}")
    return value


def _tags(value: Any, where: str) -> list[str]:
    problem = tags_problem(value)
    if problem:
        raise FleetRouteError(f"{where} is {value!r}: {problem}")
    return sorted(set(value))


def _weights_bytes(deployment: Mapping[str, Any], where: str) -> int:
    memory = deployment.get("memory")
    value = memory.get("weights_bytes", 0) if isinstance(memory, Mapping) else 0
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        value = int(value)
    return _whole_number(value, f"{where}.memory.weights_bytes", 0, 2**62)


def _replica_url(host: str, local_host: str, port: int, bind: str, origins: Mapping[str, str]) -> str | None:
    if host == local_host:
        address = f"[{bind}]" if ":" in bind else bind
        return f"http://{address}:{port}"
    origin = origins.get(host)
    if not origin:
        return None
    return origin.rstrip("/") + REMOTE_REPLICA_PATH.format(port=port)


def _plan_hosts(plan: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``plan.hosts`` of plan.json, whether given whole or as ``sovereign_plan`` (``{"plan": ...}``)."""
    if not isinstance(plan, Mapping):
        raise FleetRouteError(f"the plan must be a mapping (plan.json), got {type(plan).__name__}")
    inner = plan.get("plan", plan)
    hosts = inner.get("hosts") if isinstance(inner, Mapping) else None
    if not isinstance(hosts, Mapping):
        raise FleetRouteError("the plan has no 'hosts' mapping (plan.json's plan.hosts)")
    return hosts


def fleet_routes(
    plan: Mapping[str, Any] | None,
    local_host: str,
    peer_origins: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The routing table of ``local_host``'s router.

    ``peer_origins`` maps peer host names to the origin of their TLS proxy
    (``https://<tailnet address>[:port]``). A deployment's capability tags are those its replicas
    carry in the plan (``sovereign_deployments``' ``tags``, one source for plan.md and the table).
    Raises FleetRouteError for a plan not in plan.json's shape or a bad name, port, context or tag.
    """
    origins = dict(peer_origins or {})
    grouped: dict[str, dict[str, Any]] = {}
    for host in sorted(_plan_hosts(plan), key=str):
        host_plan = _plan_hosts(plan)[host]
        deployments = host_plan.get("deployments", []) if isinstance(host_plan, Mapping) else None
        if not isinstance(deployments, list):
            raise FleetRouteError(f"plan.hosts[{host!r}].deployments must be a list")
        for index, deployment in enumerate(deployments):
            where = f"plan.hosts[{host!r}].deployments[{index}]"
            if not isinstance(deployment, Mapping):
                raise FleetRouteError(f"{where} must be a mapping")
            name = _name(deployment.get("name"), f"{where}.name")
            port = _whole_number(deployment.get("port"), f"{where}.port", 1, 65535)
            context = _whole_number(deployment.get("context"), f"{where}.context", 1, 2**31)
            concurrency = _whole_number(deployment.get("concurrency", 1), f"{where}.concurrency", 1, 2**20)
            engine = str(deployment.get("engine") or "unknown")
            bind = str(deployment.get("bind") or "127.0.0.1")
            entry = grouped.setdefault(
                name,
                {
                    "name": name,
                    "context": context,
                    "weights_bytes": 0,
                    "engines": set(),
                    "tags": set(),
                    "replicas": [],
                },
            )
            entry["context"] = min(entry["context"], context)
            entry["weights_bytes"] = max(entry["weights_bytes"], _weights_bytes(deployment, where))
            entry["engines"].add(engine)
            entry["tags"].update(_tags(deployment.get("tags", []), f"{where}.tags"))
            entry["replicas"].append(
                {
                    "host": str(host),
                    "replica": _whole_number(deployment.get("replica", 0), f"{where}.replica", 0, 2**20),
                    "port": port,
                    "engine": engine,
                    "context": context,
                    "concurrency": concurrency,
                    "url": _replica_url(str(host), local_host, port, bind, origins),
                }
            )
    ordered = sorted(grouped.values(), key=lambda entry: (entry["weights_bytes"], entry["name"]))
    return {
        "version": TABLE_VERSION,
        "host": local_host,
        "deployments": [
            {
                **entry,
                "engines": sorted(entry["engines"]),
                "tags": sorted(entry["tags"]),
                "replicas": sorted(
                    entry["replicas"], key=lambda replica: (replica["host"] != local_host, replica["host"])
                ),
            }
            for entry in ordered
        ],
    }
