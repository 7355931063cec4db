# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The proxy_locations filter: what each host's TLS proxy fronts, its replicas' hosts as fallbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.sovereign.stack.plugins.filter.proxy_locations import FilterModule
from hypothesis import given, settings
from hypothesis import strategies as st

proxy_locations = FilterModule().filters()["proxy_locations"]
REPO = Path(__file__).resolve().parents[4]


def plan(**hosts: list[tuple[str, int]]) -> dict[str, Any]:
    """plan.json's shape: host -> deployments (name, port) in the planner's order."""
    return {
        "plan": {
            "hosts": {
                host: {"deployments": [{"name": name, "port": port} for name, port in deployments]}
                for host, deployments in hosts.items()
            }
        }
    }


REPLICAS = plan(a=[("chat", 8080)], b=[("chat", 8080)], c=[("chat", 8080)], d=[("code", 8081)])


def engine_location(locations: list[dict[str, Any]]) -> dict[str, Any]:
    assert locations[0]["path"] == "/v1/"
    return locations[0]


def test_a_replica_has_every_other_replica_host_as_fallback_in_name_order() -> None:
    peers = {name: {"tailscale_ipv4": f"100.64.0.{i}"} for i, name in enumerate("abcd", start=1)}
    location = engine_location(proxy_locations(REPLICAS, "b", peers))
    assert location["upstream"] == "http://127.0.0.1:8080"
    assert location["streaming"] is True
    assert location["fallbacks"] == [
        {"url": "https://100.64.0.1", "name": "100.64.0.1"},
        {"url": "https://100.64.0.3", "name": "100.64.0.3"},
    ]


def test_a_deployment_with_one_replica_has_no_fallbacks_key() -> None:
    peers = {name: {"tailscale_ipv4": "100.64.0.9"} for name in "abcd"}
    assert proxy_locations(REPLICAS, "d", peers) == [
        {"path": "/v1/", "upstream": "http://127.0.0.1:8081", "streaming": True}
    ]


def test_only_the_first_deployment_of_a_peer_counts() -> None:
    # b runs chat second: its /v1/ serves code, so it cannot stand in for a's chat.
    fleet = plan(a=[("chat", 8080)], b=[("code", 8081), ("chat", 8080)])
    peers = {"a": {"tailscale_ipv4": "100.64.0.1"}, "b": {"tailscale_ipv4": "100.64.0.2"}}
    assert "fallbacks" not in engine_location(proxy_locations(fleet, "a", peers))


def recorded(qdrant: int | None = None, gateway: int | None = None) -> dict[str, Any]:
    """A host's variables holding the records roles qdrant and mcp_gateway keep (tasks/output.yml)."""
    local: dict[str, Any] = {}
    if qdrant is not None:
        local["sovereign_qdrant"] = {
            "service_user": "sovereign-qdrant",
            "ports": {"http": qdrant, "grpc": 6334},
        }
    if gateway is not None:
        local["sovereign_mcp_gateway"] = {"service_user": "sovereign-mcp-gateway", "ports": {"http": gateway}}
    return {"ansible_facts": {"ansible_local": local}}


def test_a_host_without_deployments_fronts_only_its_services() -> None:
    fleet = plan(a=[("chat", 8080)], data=[])
    peers: dict[str, Any] = {"a": {"tailscale_ipv4": "100.64.0.1"}, "data": recorded(7333, 8800)}
    assert proxy_locations(fleet, "data", peers) == []
    assert proxy_locations(fleet, "data", peers, services=["qdrant", "opa", "mcp_gateway"]) == [
        {"path": "/qdrant/", "upstream": "http://127.0.0.1:7333/"},
        {"path": "/mcp", "upstream": "http://127.0.0.1:8800", "auth": "upstream", "streaming": True},
        {
            "path": "/.well-known/oauth-protected-resource",
            "upstream": "http://127.0.0.1:8800",
            "auth": "upstream",
        },
    ]


def test_the_services_ports_are_the_ones_their_roles_recorded_on_the_host() -> None:
    """Issue 23: an inventory's qdrant_http_port or mcp_gateway_port reaches the proxy via the record."""
    fleet = plan(data=[])
    peers = {"data": recorded(qdrant=7400, gateway=9900), "other": recorded(qdrant=1111, gateway=2222)}
    upstreams = [
        location["upstream"]
        for location in proxy_locations(fleet, "data", peers, services=["qdrant", "mcp_gateway"])
    ]
    assert upstreams == ["http://127.0.0.1:7400/", "http://127.0.0.1:9900", "http://127.0.0.1:9900"]


def test_a_port_given_wins_over_the_record() -> None:
    peers = {"data": recorded(qdrant=7400, gateway=9900)}
    found = proxy_locations(
        plan(data=[]), "data", peers, services=["qdrant", "mcp_gateway"], qdrant_port=7333
    )
    assert [location["upstream"] for location in found][:2] == [
        "http://127.0.0.1:7333/",
        "http://127.0.0.1:9900",
    ]


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({}, id="no facts"),
        pytest.param({"ansible_facts": {}}, id="no local facts"),
        pytest.param(recorded(gateway=8800), id="only the gateway's record"),
        pytest.param(
            {"ansible_facts": {"ansible_local": {"sovereign_qdrant": "error loading facts"}}}, id="unreadable"
        ),
    ],
)
def test_a_service_whose_role_has_not_recorded_its_port_is_left_out_with_a_warning(
    variables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """First run ordering: the services play writes the records before the TLS play reads them; a run
    that has not (check mode on a new host, --tags tls_proxy alone) leaves the path out, never guesses."""
    warnings: list[str] = []
    monkeypatch.setattr(Display, "warning", lambda _self, message, *args, **kwargs: warnings.append(message))
    found = proxy_locations(plan(data=[]), "data", {"data": variables}, services=["qdrant"])
    assert found == []
    assert len(warnings) == 1
    assert "data runs qdrant (sovereign_services), but role qdrant has not recorded its port" in warnings[0]


def test_site_yml_takes_the_services_ports_from_the_records_only() -> None:
    """playbooks/vars/site_layers.yml once passed qdrant_http_port | default(6333) and
    mcp_gateway_port | default(8800): copies of the roles' defaults."""
    site_layers = yaml.safe_load((REPO / "playbooks" / "vars" / "site_layers.yml").read_text())
    expression = site_layers["__site_tls_locations"]
    assert "sovereign.stack.proxy_locations(" in expression
    for copied in ("qdrant_http_port", "mcp_gateway_port", "6333", "8800", "qdrant_port", "gateway_port"):
        assert copied not in expression


def test_a_host_outside_the_plan_or_with_no_plan_fronts_nothing() -> None:
    assert proxy_locations(REPLICAS, "new-host", {}) == []
    assert proxy_locations(None, "a", {}) == []
    assert proxy_locations({}, "a", {}, services=["opa"]) == []


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="not on the tailnet and no listen address"),
        pytest.param({"tailscale_ipv4": ""}, id="empty tailnet address"),
        pytest.param(
            {"tailscale_ipv4": "100.64.0.3", "tls_proxy_listen_addresses": []}, id="listens nowhere"
        ),
        pytest.param({"tls_proxy_listen_addresses": ["", None]}, id="only empty listen addresses"),
    ],
)
def test_a_replica_host_without_an_address_is_left_out(settings: dict[str, Any]) -> None:
    peers = {"a": {"tailscale_ipv4": "100.64.0.1"}, "b": settings, "c": {"tailscale_ipv4": "100.64.0.3"}}
    fallbacks = engine_location(proxy_locations(REPLICAS, "a", peers))["fallbacks"]
    assert [fallback["url"] for fallback in fallbacks] == ["https://100.64.0.3"]


def test_a_planned_host_missing_from_hostvars_is_left_out() -> None:
    assert "fallbacks" not in engine_location(
        proxy_locations(plan(a=[("chat", 1)], z=[("chat", 1)]), "a", {})
    )


def test_listen_addresses_win_over_the_tailnet_address_and_ipv6_is_bracketed_with_the_port() -> None:
    peers = {
        "a": {},
        "b": {
            "tailscale_ipv4": "100.64.0.2",
            "tls_proxy_listen_addresses": ["fd7a:115c:a1e0::2", "100.64.0.2"],
            "tls_proxy_port": 8443,
        },
    }
    fallbacks = engine_location(proxy_locations(plan(a=[("chat", 1)], b=[("chat", 1)]), "a", peers))[
        "fallbacks"
    ]
    assert fallbacks == [{"url": "https://[fd7a:115c:a1e0::2]:8443", "name": "fd7a:115c:a1e0::2"}]


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"tls_proxy_server_names": ["b.example.test", "b2.example.test"], "tailscale_dns_name": "b.ts.net."},
         "b.example.test"),
        ({"tailscale_dns_name": "b.tail1234.ts.net."}, "b.tail1234.ts.net"),
        ({"tls_proxy_server_names": []}, "100.64.0.2"),
        ({}, "100.64.0.2"),
    ],
)  # fmt: skip
def test_the_certificate_name_checked_is_the_server_name_then_the_tailnet_name_then_the_address(
    settings: dict[str, Any], name: str
) -> None:
    peers = {"a": {}, "b": {"tailscale_ipv4": "100.64.0.2"} | settings}
    fallbacks = engine_location(proxy_locations(plan(a=[("chat", 1)], b=[("chat", 1)]), "a", peers))[
        "fallbacks"
    ]
    assert fallbacks == [{"url": "https://100.64.0.2", "name": name}]


def test_a_plan_of_the_wrong_shape_is_an_error_naming_the_host() -> None:
    with pytest.raises(AnsibleFilterError, match="'a'"):
        proxy_locations({"plan": {"hosts": {"a": {"deployments": [{"name": "chat"}]}}}}, "a", {})


# Fleets as plan.json and hostvars give them: up to 6 hosts, each with 0-3 deployments of 3 names,
# an address or none, IPv4 or IPv6, a port or none.
HOST_NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f"])
DEPLOYMENTS = st.lists(
    st.tuples(st.sampled_from(["chat", "code", "embed"]), st.integers(1024, 65535)), max_size=3
)
ADDRESSES = st.one_of(st.none(), st.sampled_from(["100.64.0.7", "fd7a:115c:a1e0::7", ""]))
PEER = st.fixed_dictionaries(
    {},
    optional={
        "tailscale_ipv4": ADDRESSES,
        "tls_proxy_listen_addresses": st.lists(ADDRESSES, max_size=2),
        "tls_proxy_port": st.integers(1, 65535),
        "tls_proxy_server_names": st.lists(st.sampled_from(["x.example.test", ""]), max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    fleet=st.dictionaries(HOST_NAMES, DEPLOYMENTS, min_size=1),
    peers=st.dictionaries(HOST_NAMES, PEER),
    host=HOST_NAMES,
)
def test_fallbacks_are_exactly_the_other_hosts_serving_the_same_first_deployment(
    fleet: dict[str, list[tuple[str, int]]], peers: dict[str, dict[str, Any]], host: str
) -> None:
    locations = proxy_locations(plan(**fleet), host, peers)
    first = fleet.get(host, [])[:1]
    if not first:
        assert locations == []
        return
    fallbacks = engine_location(locations).get("fallbacks", [])
    expected_hosts = [
        name
        for name in sorted(fleet)
        if name != host and fleet[name][:1] and fleet[name][0][0] == first[0][0]
    ]

    # A host is left out only when it has no address: its listen addresses when it sets them, else
    # its tailnet address.
    def has_address(name: str) -> bool:
        peer = peers.get(name, {})
        if "tls_proxy_listen_addresses" in peer:
            return any(peer["tls_proxy_listen_addresses"])
        return bool(peer.get("tailscale_ipv4"))

    assert len(fallbacks) == len([name for name in expected_hosts if has_address(name)])
    for fallback in fallbacks:
        authority = fallback["url"].removeprefix("https://")
        if authority.startswith("["):  # an IPv6 address, bracketed, then perhaps a port
            address, _bracket, port = authority[1:].partition("]")
            assert ":" in address and (port == "" or port.startswith(":"))
        else:
            address = authority.split(":", 1)[0]
        assert address in ("100.64.0.7", "fd7a:115c:a1e0::7")
        assert fallback["name"] in ("x.example.test", address)
