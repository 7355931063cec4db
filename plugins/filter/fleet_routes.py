# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Filter fleet_routes: the fleet router's routing table of one host (docs: fleet_routes.yml)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import fleet_routes as routes


def fleet_routes(
    plan: Mapping[str, Any] | None,
    host: str,
    peer_origins: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``host``'s routing table: see plugins/plugin_utils/planner/fleet_routes.py."""
    try:
        return routes.fleet_routes(plan, host, peer_origins)
    except routes.FleetRouteError as error:
        raise AnsibleFilterError(f"fleet_routes: {error}") from error


class FilterModule:
    """sovereign.stack fleet endpoint filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """Filter names to functions."""
        return {"fleet_routes": fleet_routes}
