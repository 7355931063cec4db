# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A host's settings that bear on the plan besides its hardware: where its weights live, whether it
runs the engine layer, and which ports the stack's own services hold there.

Each value comes from the one place that owns it: the layers and services from
playbooks/vars/site_layers.yml (what site.yml reads), a service's port from the host's inventory or
else from its own role's defaults/main.yml. Nothing here is a copy of another file's value.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

COLLECTION_ROOT = Path(__file__).resolve().parents[3]
SITE_LAYERS_FILE = COLLECTION_ROOT / "playbooks" / "vars" / "site_layers.yml"
DEFAULT_MODELS_DIR = "/var/lib/sovereign/models"
ENGINE_LAYER = "engine"
# TCP ports the stack's services listen on, by the variable that sets each, with what listens there.
# A deployment may not take one of them on any host: the service may be added to the host later.
STACK_PORTS = (
    ("baseline_ssh_port", "sshd's port"),
    ("firewall_ssh_port", "the SSH port the firewall opens"),
    ("tls_proxy_port", "the TLS proxy's port"),
    ("opa_port", "OPA's port"),
    ("qdrant_http_port", "Qdrant's HTTP port"),
    ("qdrant_grpc_port", "Qdrant's gRPC port"),
    ("mcp_gateway_port", "the MCP gateway's port"),
)
STACK_PORT_VARIABLES = tuple(variable for variable, _owner in STACK_PORTS)
HOST_SETTING_VARIABLES = (
    "sovereign_models_dir",
    "sovereign_layers",
    "sovereign_services",
    *STACK_PORT_VARIABLES,
)


@dataclass(frozen=True)
class HostSettings:
    """What the planner needs to know of a host beyond its hardware."""

    models_dir: str
    serves_models: bool
    # port -> "<whose port> (<variable>)"
    stack_ports: Mapping[int, str]


def _role_of(variable: str) -> str:
    """The role a prefixed variable belongs to: the longest role folder name it starts with."""
    roles = sorted(
        (p.name for p in (COLLECTION_ROOT / "roles").iterdir() if p.is_dir()), key=len, reverse=True
    )
    return next(role for role in roles if variable.startswith(role + "_"))


@lru_cache(maxsize=None)
def role_default(variable: str) -> Any:
    """The default of ``variable`` in its own role's defaults/main.yml (read once)."""
    path = COLLECTION_ROOT / "roles" / _role_of(variable) / "defaults" / "main.yml"
    with path.open(encoding="utf-8") as stream:
        return (yaml.safe_load(stream) or {})[variable]


@lru_cache(maxsize=None)
def site_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """All layers and all agent-layer services of site.yml (playbooks/vars/site_layers.yml)."""
    with SITE_LAYERS_FILE.open(encoding="utf-8") as stream:
        variables = yaml.safe_load(stream)
    return tuple(variables["__site_all_layers"]), tuple(variables["__site_all_services"])


def _names(
    host: str, hostvars: Mapping[str, Any], variable: str, valid: tuple[str, ...], problems: list[str]
) -> tuple[str, ...] | None:
    value = hostvars.get(variable)
    if value is None:
        return None
    where = f"hosts.{host}.{variable}"
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{where}: {value!r} is not valid; expected a list of names among {', '.join(valid)}")
        return None
    for item in value:
        if item not in valid:
            close = difflib.get_close_matches(item, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where}: {item!r} is not valid{hint}; expected names among {', '.join(valid)}")
    return tuple(value)


def _stack_ports(host: str, hostvars: Mapping[str, Any], problems: list[str]) -> dict[int, str]:
    ports: dict[int, str] = {}
    for variable, owner in STACK_PORTS:
        value = hostvars.get(variable, role_default(variable))
        if not input_rules.PORT.accepts(value):
            problems.append(
                f"hosts.{host}.{variable}: {value!r} is not valid; expected a TCP port "
                f"({input_rules.PORT.expected()})"
            )
            continue
        ports.setdefault(int(value), f"{owner} ({variable})")
    return ports


def read_settings(host: str, hostvars: Mapping[str, Any]) -> HostSettings:
    """The settings of ``host``; PlanInputError listing every value that cannot be used."""
    problems: list[str] = []
    models_dir = hostvars.get("sovereign_models_dir", DEFAULT_MODELS_DIR)
    if isinstance(models_dir, str) and models_dir.endswith("/") and len(models_dir) > 1:
        # A trailing slash is the one spelling of a good folder worth accepting as it is.
        models_dir = models_dir.rstrip("/")
    problem = input_rules.models_dir_problem(models_dir)
    if problem is not None:
        problems.append(f"hosts.{host}.sovereign_models_dir: {models_dir!r} is not valid; {problem}")
    layers, services = site_choices()
    chosen_layers = _names(host, hostvars, "sovereign_layers", layers, problems)
    _names(host, hostvars, "sovereign_services", services, problems)
    ports = _stack_ports(host, hostvars, problems)
    if problems:
        raise PlanInputError(problems)
    return HostSettings(
        models_dir=str(models_dir),
        serves_models=chosen_layers is None or ENGINE_LAYER in chosen_layers,
        stack_ports=ports,
    )
