# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Filter proxy_locations: a host's tls_proxy_locations from the plan (docs: proxy_locations.yml)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import proxy_locations as locations


def proxy_locations(
    plan: Mapping[str, Any] | None,
    host: str,
    peers: Mapping[str, Any],
    *,
    services: Sequence[str] = (),
    qdrant_port: int | None = None,
    gateway_port: int | None = None,
) -> list[dict[str, Any]]:
    """What ``host``'s TLS proxy fronts: see plugins/plugin_utils/planner/proxy_locations.py."""
    try:
        found = locations.proxy_locations(
            plan, host, peers, services=services, qdrant_port=qdrant_port, gateway_port=gateway_port
        )
        given = {"qdrant": qdrant_port, "mcp_gateway": gateway_port}
        for service in locations.unrecorded_services(peers, host, services):
            if given[service] is None:
                record = locations.SERVICE_RECORDS[service]
                Display().warning(
                    f"proxy_locations: {host} runs {service} (sovereign_services), but role {service} has "
                    f"not recorded its port there yet (ansible_local.{record}): the TLS proxy leaves its "
                    "paths out until the services layer has run on the host"
                )
        return found
    except (AttributeError, KeyError, TypeError) as error:
        raise AnsibleFilterError(
            f"proxy_locations: the plan of {host!r} is not in plan.json's shape: {error}"
        ) from error


class FilterModule:
    """sovereign.stack wiring filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """Filter names to functions."""
        return {"proxy_locations": proxy_locations}
