# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tailscale role's units and the `tailscale up` settings, rendered from its variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from systemd_unit import directives

ROLE = Path(__file__).resolve().parents[3] / "roles" / "tailscale"
TEMPLATES = ROLE / "templates" / "etc"
ARCHIVE = "/var/cache/sovereign/artifacts/tailscale/1.90.6/tailscale_1.90.6_amd64.tgz"


def _trusted(value: Any) -> Any:
    return trust_as_template(value) if isinstance(value, str) else value


def _templar(**overrides: Any) -> Templar:
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for path in (ROLE / "vars" / "main.yml", ROLE / "vars" / "Debian.yml"):
        variables.update({key: _trusted(value) for key, value in yaml.safe_load(path.read_text()).items()})
    variables.update(artifacts_paths={"tailscale": ARCHIVE}, ansible_managed="Managed by Ansible")
    variables.update(overrides)
    return Templar(loader=DataLoader(), variables=variables)


def render(template: str, **overrides: Any) -> str:
    return str(_templar(**overrides).template(trust_as_template((TEMPLATES / template).read_text())))


def evaluate(name: str, **overrides: Any) -> Any:
    return _templar(**overrides).template(trust_as_template("{{ " + name + " }}"))


def test_tailscaled_runs_with_upstreams_flags() -> None:
    unit = directives(render("systemd/system/tailscaled.service.j2"))
    assert unit["ExecStart"] == [
        "/usr/local/sbin/tailscaled --state=/var/lib/tailscale/tailscaled.state"
        " --socket=/run/tailscale/tailscaled.sock --port=${PORT} $FLAGS"
    ]
    assert unit["ExecStopPost"] == ["/usr/local/sbin/tailscaled --cleanup"]
    assert unit["Type"] == ["notify"]
    assert unit["EnvironmentFile"] == ["/etc/default/tailscaled"]
    assert unit["StateDirectoryMode"] == ["0700"]


def test_daemon_settings_file() -> None:
    settings = directives(
        render("default/tailscaled.j2", tailscale_port=41700, tailscale_daemon_extra_args=["--verbose=1"])
    )
    assert settings == {"PORT": ['"41700"'], "FLAGS": ['"--verbose=1"']}


def test_the_wait_unit_is_what_other_units_can_require() -> None:
    unit = directives(render("systemd/system/sovereign-tailnet-address.service.j2"))
    assert unit["Type"] == ["oneshot"] and unit["RemainAfterExit"] == ["yes"]
    assert unit["Wants"] == ["tailscaled.service"] and unit["After"] == ["tailscaled.service"]
    assert unit["PartOf"] == ["tailscaled.service"]
    assert unit["ExecStart"] == [
        "/usr/bin/python3 /usr/local/libexec/sovereign-tailnet-address-wait"
        " --interface=tailscale0 --timeout=90"
    ]
    assert unit["TimeoutStartSec"] == ["105"]
    ipv6 = directives(
        render("systemd/system/sovereign-tailnet-address.service.j2", tailscale_address_require_ipv6=True)
    )
    assert ipv6["ExecStart"][0].endswith(" --require-ipv6")


def test_up_settings_default_and_full() -> None:
    assert evaluate("__tailscale_up_settings") == ["--accept-dns=false", "--accept-routes=false"]
    full = evaluate(
        "__tailscale_up_settings",
        tailscale_hostname="gpu-1",
        tailscale_tags=["tag:a", "tag:b"],
        tailscale_login_server="https://hs.example.lan",
        tailscale_accept_dns=True,
        tailscale_up_extra_args=["--shields-up"],
    )
    assert full == [
        "--hostname=gpu-1",
        "--advertise-tags=tag:a,tag:b",
        "--login-server=https://hs.example.lan",
        "--accept-dns=true",
        "--accept-routes=false",
        "--shields-up",
    ]


def test_the_release_directory_is_named_by_the_artifact_version() -> None:
    assert evaluate("__tailscale_release_dir") == "/opt/sovereign-tailscale/1.90.6"


def test_the_auth_key_never_reaches_the_settings() -> None:
    settings = evaluate("__tailscale_up_settings", tailscale_auth_key="tskey-auth-secret")
    assert not any("tskey" in item for item in settings)
