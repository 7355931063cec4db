# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The opa role's systemd unit, OPA configuration and logrotate file, rendered from its variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from systemd_unit import directives

ROLE = Path(__file__).resolve().parents[3] / "roles" / "opa"
TEMPLATES = ROLE / "templates" / "etc"
BINARY = "/var/cache/sovereign/artifacts/opa/1.4.2/opa_linux_amd64_static"


def _trusted(value: Any) -> Any:
    return trust_as_template(value) if isinstance(value, str) else value


def render(template: str, **overrides: Any) -> str:
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for path in (ROLE / "vars" / "main.yml", ROLE / "vars" / "Debian.yml"):
        variables.update({key: _trusted(value) for key, value in yaml.safe_load(path.read_text()).items()})
    variables.update(
        artifacts_paths={"opa": BINARY}, inventory_hostname="gpu-1", ansible_managed="Managed by Ansible"
    )
    variables.update(overrides)
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template((TEMPLATES / template).read_text())))


def test_default_unit_serves_the_active_policies_on_loopback_only() -> None:
    unit = directives(render("systemd/system/sovereign-opa.service.j2"))
    argv = unit["ExecStart"][0].split()
    assert argv[:3] == [BINARY, "run", "--server"]
    assert "--addr=127.0.0.1:8181" in argv
    assert "--authorization=basic" in argv
    assert "--disable-telemetry" in argv
    assert "--config-file=/etc/sovereign-opa/config.yaml" in argv
    assert argv[-1] == "/etc/sovereign-opa/active/policy"
    assert unit["User"] == ["sovereign-opa"]
    assert unit["StandardError"] == ["append:/var/log/sovereign-opa/decisions.log"]
    assert "--log-level=error" in argv
    assert unit["IPAddressAllow"] == ["localhost"] and unit["IPAddressDeny"] == ["any"]
    for hardening in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "MemoryDenyWriteExecute",
    ):
        assert unit[hardening] == ["yes"], hardening
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert unit["CapabilityBoundingSet"] == [""]


def test_ipv6_address_is_bracketed() -> None:
    unit = directives(
        render("systemd/system/sovereign-opa.service.j2", opa_listen_address="::1", opa_port=9181)
    )
    assert "--addr=[::1]:9181" in unit["ExecStart"][0].split()
    assert unit["IPAddressDeny"] == ["any"]


def test_remote_services_or_another_address_lift_the_address_filter() -> None:
    services = {"bundles": {"url": "https://bundles.lan"}}
    for overrides in ({"opa_services": services}, {"opa_listen_address": "100.64.0.7"}):
        unit = directives(render("systemd/system/sovereign-opa.service.j2", **overrides))
        assert "IPAddressDeny" not in unit, overrides


def test_api_authorization_can_be_turned_off() -> None:
    unit = directives(render("systemd/system/sovereign-opa.service.j2", opa_api_authorization=False))
    assert "--authorization=basic" not in unit["ExecStart"][0].split()


def test_default_config_logs_decisions_and_fetches_nothing() -> None:
    config = yaml.safe_load(render("sovereign-opa/config.yaml.j2"))
    assert config == {"labels": {"host": "gpu-1"}, "decision_logs": {"console": True}}


def test_config_with_bundles() -> None:
    services = {"bundles": {"url": "https://bundles.lan"}}
    bundles = {"mcp": {"service": "bundles", "resource": "mcp.tar.gz"}}
    config = yaml.safe_load(
        render("sovereign-opa/config.yaml.j2", opa_services=services, opa_bundles=bundles)
    )
    assert config["services"] == services
    assert config["bundles"] == bundles


def test_logrotate_rotates_the_decision_log_in_place() -> None:
    text = render("logrotate.d/sovereign-opa.j2", opa_log_rotate_days=14)
    assert "/var/log/sovereign-opa/decisions.log {" in text
    options = {line.strip().split()[0]: line.strip() for line in text.splitlines() if line.startswith("    ")}
    assert options["rotate"] == "rotate 14"
    assert options["maxsize"] == "maxsize 100M"
    assert "copytruncate" in options
    assert options["su"] == "su sovereign-opa adm"
