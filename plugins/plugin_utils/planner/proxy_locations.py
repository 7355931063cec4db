# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What the TLS proxy of one host fronts, computed from the plan and the peers' proxy settings.

site.yml's default for ``tls_proxy_locations`` (playbooks/vars/site_layers.yml). ``/v1/`` goes to
the host's first planned deployment: one location per path, so a second deployment on the same
host is reached on its loopback port only. Its fallbacks are the other hosts whose ``/v1/`` serves
a replica of that deployment (their first one too), in host name order, each at its proxy's first
listen address, so that while this host's engine restarts a peer answers (docs/roles/tls_proxy.md).
A peer without an address (no ``tls_proxy_listen_addresses`` and not on the tailnet yet) is left
out rather than named by an address it does not listen on.

Qdrant's and the MCP gateway's paths go to the port the service's role recorded on the host (its
local fact, docs/architecture.md "Wiring"), never a copy of the role's default. site.yml runs those
roles before the TLS proxy, so a whole run has the records; where a role has not run on the host yet
(check mode on a new host, a run limited to ``--tags tls_proxy``), its paths are left out until it
has, rather than sent to a port the service may not use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

LOOPBACK = "http://127.0.0.1"
# The agent-layer services the proxy fronts, by the local fact their role keeps on the host.
SERVICE_RECORDS = {"qdrant": "sovereign_qdrant", "mcp_gateway": "sovereign_mcp_gateway"}


def _first_deployment(plan_hosts: Mapping[str, Any], host: str) -> Mapping[str, Any]:
    deployments = (plan_hosts.get(host) or {}).get("deployments") or []
    first = deployments[0] if deployments else {}
    return first if isinstance(first, Mapping) else {}


def _listen_address(peer: Mapping[str, Any]) -> str:
    """The peer proxy's first listen address: the inventory's list, else its tailnet IPv4."""
    if "tls_proxy_listen_addresses" in peer:
        addresses = peer["tls_proxy_listen_addresses"] or []
    else:
        addresses = [peer.get("tailscale_ipv4") or ""]
    return next((str(address) for address in addresses if address), "")


def _certificate_name(peer: Mapping[str, Any], address: str) -> str:
    """The common name the peer's certificate is checked for: its first server name, else its
    tailnet DNS name (without the root dot), else the address."""
    if "tls_proxy_server_names" in peer:
        names = [str(name) for name in peer["tls_proxy_server_names"] or [] if name]
    else:
        dns_name = str(peer.get("tailscale_dns_name") or "").removesuffix(".")
        names = [dns_name] if dns_name else []
    return names[0] if names else address


def _peer_url(peer: Mapping[str, Any], address: str) -> str:
    host_part = f"[{address}]" if ":" in address else address
    port = f":{peer['tls_proxy_port']}" if peer.get("tls_proxy_port") is not None else ""
    return f"https://{host_part}{port}"


def recorded_port(peers: Mapping[str, Any], host: str, service: str) -> int | None:
    """The HTTP port ``service``'s role recorded on ``host`` (``ansible_local.<record>.ports.http`` in
    its facts, through ``hostvars``), or None where the role has not run there."""
    # Not peers.get(): hostvars answers a missing host with an undefined marker, not KeyError.
    peer = peers[host] if host in peers else {}  # noqa: SIM401
    local = (peer.get("ansible_facts") or {}).get("ansible_local") or {}
    record = local.get(SERVICE_RECORDS[service])
    ports = record.get("ports") if isinstance(record, Mapping) else None
    port = ports.get("http") if isinstance(ports, Mapping) else None
    return port if isinstance(port, int) and not isinstance(port, bool) else None


def unrecorded_services(peers: Mapping[str, Any], host: str, services: Sequence[str]) -> list[str]:
    """The services of ``services`` the proxy fronts whose role has not recorded a port on ``host``."""
    return [name for name in SERVICE_RECORDS if name in services and recorded_port(peers, host, name) is None]


def fallbacks(plan_hosts: Mapping[str, Any], host: str, peers: Mapping[str, Any]) -> list[dict[str, str]]:
    """Peers serving a replica of ``host``'s first deployment on their own ``/v1/``, in name order.

    ``peers`` maps host names to their variables (``hostvars``); a planned host missing from it
    has no settings and so no address, and is left out.
    """
    first = _first_deployment(plan_hosts, host)
    if not first:
        return []
    found: list[dict[str, str]] = []
    for name in sorted(plan_hosts):
        if name == host or _first_deployment(plan_hosts, name).get("name") != first.get("name"):
            continue
        # Not peers.get(): hostvars answers a missing host with an undefined marker, not KeyError.
        peer = peers[name] if name in peers else {}  # noqa: SIM401
        address = _listen_address(peer)
        if address:
            found.append({"url": _peer_url(peer, address), "name": _certificate_name(peer, address)})
    return found


def proxy_locations(
    plan: Mapping[str, Any] | None,
    host: str,
    peers: Mapping[str, Any],
    *,
    services: Sequence[str] = (),
    qdrant_port: int | None = None,
    gateway_port: int | None = None,
) -> list[dict[str, Any]]:
    """``tls_proxy_locations`` for ``host``: its first deployment on ``/v1/`` (with the peers that
    serve it as fallbacks), then Qdrant and the MCP gateway where ``services`` names them, at the
    port given, else the one their role recorded on the host; left out where there is neither."""
    plan_hosts: Mapping[str, Any] = ((plan or {}).get("plan") or {}).get("hosts") or {}
    first = _first_deployment(plan_hosts, host)
    locations: list[dict[str, Any]] = []
    if first:
        engine: dict[str, Any] = {
            "path": "/v1/",
            "upstream": f"{LOOPBACK}:{first['port']}",
            "streaming": True,
        }
        peers_serving = fallbacks(plan_hosts, host, peers)
        if peers_serving:
            engine["fallbacks"] = peers_serving
        locations.append(engine)
    if qdrant_port is None:
        qdrant_port = recorded_port(peers, host, "qdrant")
    if gateway_port is None:
        gateway_port = recorded_port(peers, host, "mcp_gateway")
    if "qdrant" in services and qdrant_port is not None:
        locations.append({"path": "/qdrant/", "upstream": f"{LOOPBACK}:{qdrant_port}/"})
    if "mcp_gateway" in services and gateway_port is not None:
        gateway = f"{LOOPBACK}:{gateway_port}"
        locations.append({"path": "/mcp", "upstream": gateway, "auth": "upstream", "streaming": True})
        locations.append(
            {"path": "/.well-known/oauth-protected-resource", "upstream": gateway, "auth": "upstream"}
        )
    return locations
