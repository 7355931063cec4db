# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The firewall role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "firewall"


def load(relative: str) -> Any:
    """One YAML file of the role."""
    return yaml.safe_load((ROLE / relative).read_text())


DEFAULTS: dict[str, Any] = load("defaults/main.yml")
OPTIONS: dict[str, Any] = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def test_mirror_entries_are_specified() -> None:
    entry = OPTIONS["firewall_mirror_addresses"]["options"]
    assert entry["address"]["required"] is True
    assert entry["ports"] == {**entry["ports"], "type": "list", "elements": "int", "required": True}
    assert entry["protocol"]["default"] in entry["protocol"]["choices"]


def test_tailnet_ranges_are_tailscales_own_and_only_the_proxy_port_is_open() -> None:
    assert DEFAULTS["firewall_tailnet_ranges"] == ["100.64.0.0/10", "fd7a:115c:a1e0::/48"]
    assert DEFAULTS["firewall_tailnet_tcp_ports"] == [443]
    assert DEFAULTS["firewall_admin_networks"] == []


def test_the_rollback_outlasts_the_confirmation() -> None:
    assert DEFAULTS["firewall_rollback_timeout"] > DEFAULTS["firewall_confirm_timeout"] + 10


def test_templates_mirror_destinations_and_start_with_ansible_managed() -> None:
    templates = sorted((ROLE / "templates").rglob("*.j2"))
    assert [t.relative_to(ROLE / "templates").as_posix() for t in templates] == [
        "etc/sovereign/firewall/sovereign.nft.j2",
        "etc/systemd/system/sovereign-firewall.service.j2",
    ]
    for template in templates:
        assert template.read_text().startswith("{{ ansible_managed | comment"), template
