# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet_router role's unit and configuration, rendered from its variables (the configuration is
checked by the router's own parser), and its wheels against the router's imports and the gateway's pins."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from systemd_unit import directives
from test_mcp_gateway_role import _trusted

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "fleet_router"
PACKAGE = ROLE / "files" / "sovereign_fleet_router"
UNIT = ROLE / "templates" / "etc" / "systemd" / "system" / "sovereign-fleet-router.service.j2"

sys.path.insert(0, str(ROLE / "files"))
from sovereign_fleet_router.config import ConfigError, parse_config  # noqa: E402


def _templar(**overrides: Any) -> Templar:
    variables: dict[str, Any] = {}
    for path in (ROLE / "defaults" / "main.yml", ROLE / "vars" / "main.yml", ROLE / "vars" / "Debian.yml"):
        variables.update(_trusted(yaml.safe_load(path.read_text())))
    variables.update(inventory_hostname="gpu-1", ansible_managed="Managed by Ansible", **overrides)
    return Templar(loader=DataLoader(), variables=variables)


def unit(**overrides: Any) -> dict[str, list[str]]:
    return directives(str(_templar(**overrides).template(trust_as_template(UNIT.read_text()))))


def config(**overrides: Any) -> dict[str, Any]:
    rendered: dict[str, Any] = _templar(**overrides).template(
        trust_as_template("{{ __fleet_router_config }}")
    )
    return rendered


def test_unit_runs_the_package_as_its_account_on_loopback_only() -> None:
    rendered = unit()
    assert rendered["ExecStart"][0].split() == [
        "/opt/sovereign-fleet-router/venv/bin/python",
        "-m",
        "sovereign_fleet_router",
        "--config",
        "/etc/sovereign/fleet-router/router.json",
        "--log-level",
        "info",
    ]
    assert rendered["User"] == ["sovereign-fleet-router"]
    assert "PYTHONPATH=/opt/sovereign-fleet-router/app" in rendered["Environment"]
    assert rendered["ReadWritePaths"] == ["/var/log/sovereign-fleet-router"]
    # The rest of the sandbox is rated by systemd-analyze (test_unit_sandboxes.py).
    assert rendered["ProtectSystem"] == ["strict"]
    assert rendered["IPAddressAllow"] == ["localhost"] and rendered["IPAddressDeny"] == ["any"]


def test_peers_named_by_address_join_the_address_filter_and_a_dns_name_lifts_it() -> None:
    by_address = unit(fleet_router_peer_origins={"b": "https://100.64.0.2", "c": "https://[fd7a::3]:8443"})
    assert by_address["IPAddressAllow"] == ["localhost 100.64.0.2 fd7a::3"]
    assert by_address["IPAddressDeny"] == ["any"]
    by_name = unit(fleet_router_peer_origins={"b": "https://100.64.0.2", "c": "https://c.tailnet.ts.net"})
    assert "IPAddressDeny" not in by_name and "IPAddressAllow" not in by_name


def test_configuration_is_what_the_router_accepts_with_numbers_as_numbers(tmp_path: Path) -> None:
    rendered = config(fleet_router_port="9090", fleet_router_connect_timeout_s="0.25")
    assert rendered["listen_port"] == 9090
    assert rendered["connect_timeout_s"] == 0.25
    assert rendered["table"] == "/etc/sovereign/fleet-router/table.json"
    assert rendered["accounting_log"] == "/var/log/sovereign-fleet-router/accounting.jsonl"
    assert (rendered["peer_ca_file"], rendered["peer_token_file"]) == ("", "")
    parsed = parse_config(rendered)
    assert (parsed.listen_address, parsed.listen_port) == ("127.0.0.1", 9090)
    assert parsed.client_header == "x-sovereign-client"
    assert parsed.health.path == "/v1/models"
    assert parsed.peer_ca_file is None and parsed.peer_token_file is None


def test_peer_files_are_named_only_when_given() -> None:
    rendered = config(fleet_router_peer_ca_cert="/ctl/ca.pem", fleet_router_peer_token="secret")
    parsed = parse_config(rendered)
    assert str(parsed.peer_ca_file) == "/etc/sovereign/fleet-router/peer-ca.pem"
    assert str(parsed.peer_token_file) == "/etc/sovereign/fleet-router/peer.token"


def test_limits_reach_the_router_and_its_parser_refuses_a_wildcard() -> None:
    limits = {"default": {"requests_per_minute": 60}, "clients": {"ci": {"tokens_per_day": 1000}}}
    parsed = parse_config(config(fleet_router_limits=limits))
    assert parsed.default_limit.requests_per_minute == 60
    assert parsed.client_limits["ci"].tokens_per_day == 1000
    with pytest.raises(ConfigError, match="wildcard"):
        parse_config(config(fleet_router_listen_address="0.0.0.0"))


def test_the_record_names_the_url_the_unit_listens_on() -> None:
    url = _templar(fleet_router_listen_address="::1", fleet_router_port=8091).template(
        trust_as_template("{{ __fleet_router_url }}")
    )
    assert url == "http://[::1]:8091"


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_router_installs_nothing_the_gateway_does_not_pin() -> None:
    router = _pins(ROLE / "files" / "requirements.txt")
    gateway = _pins(REPO / "roles" / "mcp_gateway" / "files" / "requirements.txt")
    assert {name: gateway.get(name) for name in router} == router


def test_wheel_artifacts_name_one_pure_python_wheel_per_pinned_requirement() -> None:
    names = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["fleet_router_wheel_artifacts"]
    assert sorted(name.removeprefix("pywheel-") for name in names) == sorted(
        _pins(ROLE / "files" / "requirements.txt")
    )
    artifacts = yaml.safe_load((REPO / "catalogs" / "artifacts.yml").read_text())["artifacts"]
    for name in names:
        for variant in artifacts[name]["variants"].values():
            assert variant["filename"].endswith("-py3-none-any.whl"), name


def test_every_module_the_router_imports_is_in_its_requirements_or_the_standard_library() -> None:
    imported = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"uvicorn", "starlette"}
    assert third_party <= set(_pins(ROLE / "files" / "requirements.txt"))
