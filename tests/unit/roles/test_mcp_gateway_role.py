# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The mcp_gateway role's configuration, unit and logrotate file, rendered from its variables; the
rendered configuration is checked by the gateway's own parser, and the wheel lists against the pins."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "mcp_gateway"
TEMPLATES = ROLE / "templates" / "etc"
FS_DIR = "/opt/sovereign-mcp-gateway/servers/filesystem/2026.8.31"
FS_ENTRY = f"{FS_DIR}/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
CLIENTS = {
    "alice": {"servers": {"filesystem": ["read_text_file", "list_directory"]}},
    "bob": {"servers": {"filesystem": ["read_text_file"]}},
}

sys.path.insert(0, str(ROLE / "files"))
from sovereign_mcp_gateway.config import ConfigError, parse_config  # noqa: E402
from systemd_unit import directives  # noqa: E402


def _trusted(value: Any) -> Any:
    """Variables from the role's own files are trusted templates, at every depth (as Ansible loads them)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def _variables(**overrides: Any) -> dict[str, Any]:
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables = {key: _trusted(value) for key, value in variables.items()}
    for path in (ROLE / "vars" / "main.yml", ROLE / "vars" / "Debian.yml"):
        variables.update({key: _trusted(value) for key, value in yaml.safe_load(path.read_text()).items()})
    variables.update(
        inventory_hostname="agent-1",
        ansible_managed="Managed by Ansible",
        mcp_gateway_workspace_roots=["/srv/workspace"],
        mcp_gateway_clients=CLIENTS,
        __mcp_gateway_filesystem_entry=FS_ENTRY,
        # The record role opa keeps on the host (roles/opa/tasks/output.yml); site.yml runs OPA first.
        ansible_facts={"ansible_local": {"sovereign_opa": {"url": "http://127.0.0.1:8181"}}},
    )
    variables.update(overrides)
    return variables


def render(template: str, **overrides: Any) -> str:
    templar = Templar(loader=DataLoader(), variables=_variables(**overrides))
    return str(templar.template(trust_as_template((TEMPLATES / template).read_text())))


def value_of(expression: str, **overrides: Any) -> Any:
    templar = Templar(loader=DataLoader(), variables=_variables(**overrides))
    return templar.template(trust_as_template(expression))


def config(**overrides: Any) -> dict[str, Any]:
    text = render("sovereign-mcp-gateway/gateway.yml.j2", **overrides)
    assert text.startswith("#")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_default_configuration_serves_the_filesystem_server_on_loopback(tmp_path: Path) -> None:
    rendered = config()
    assert rendered["listen_address"] == "127.0.0.1"
    assert rendered["listen_port"] == 8800
    assert rendered["opa_url"] == "http://127.0.0.1:8181/v1/data/sovereign/mcp/decision"
    assert rendered["workspace_roots"] == ["/srv/workspace"]
    assert rendered["tokens_file"] == "/etc/sovereign-mcp-gateway/tokens.json"
    assert rendered["audit_log"] == "/var/log/sovereign-mcp-gateway/audit.jsonl"
    assert rendered["servers"] == {
        "filesystem": {
            "transport": "stdio",
            "command": "/usr/bin/node",
            "args": [FS_ENTRY, "/srv/workspace"],
            "path_arguments": ["path", "paths", "source", "destination"],
        }
    }
    # The gateway's own parser accepts it (with a tokens file of the shape the role writes).
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"alice": "' + "a" * 64 + '"}')
    tokens.chmod(0o600)
    parsed = parse_config(
        {**rendered, "tokens_file": str(tokens), "audit_log": str(tmp_path / "a.jsonl")}, tmp_path
    )
    assert list(parsed.servers) == ["filesystem"]
    assert parsed.rate_limit_per_second == 20.0


def test_numbers_are_numbers_and_the_parser_refuses_a_wildcard(tmp_path: Path) -> None:
    rendered = config(
        mcp_gateway_port="9900", mcp_gateway_rate_limit_burst="7", mcp_gateway_listen_address="0.0.0.0"
    )
    assert rendered["listen_port"] == 9900
    assert rendered["rate_limit_burst"] == 7
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"alice": "' + "a" * 64 + '"}')
    tokens.chmod(0o600)
    with pytest.raises(ConfigError, match="listen_address"):
        parse_config({**rendered, "tokens_file": str(tokens)}, tmp_path)


def test_inventory_servers_join_and_can_replace_the_filesystem_server() -> None:
    git = {
        "command": "/opt/sovereign-mcp-gateway/venv/bin/python",
        "args": ["-m", "mcp_server_git"],
        "path_arguments": ["repo_path"],
    }
    rendered = config(mcp_gateway_servers={"git": git})
    assert set(rendered["servers"]) == {"filesystem", "git"}
    assert rendered["servers"]["git"] == git
    alone = config(mcp_gateway_filesystem_server=False, mcp_gateway_servers={"git": git})
    assert set(alone["servers"]) == {"git"}
    replaced = config(
        mcp_gateway_servers={"filesystem": {"transport": "http", "url": "http://127.0.0.1:9000/mcp"}}
    )
    assert replaced["servers"]["filesystem"] == {"transport": "http", "url": "http://127.0.0.1:9000/mcp"}


def test_unit_runs_the_package_sandboxed_with_the_workspace_writable() -> None:
    unit = directives(
        render(
            "systemd/system/sovereign-mcp-gateway.service.j2",
            mcp_gateway_workspace_roots=["/srv/a", "/srv/b"],
        )
    )
    assert unit["ExecStart"][0].split() == [
        "/opt/sovereign-mcp-gateway/venv/bin/python",
        "-m",
        "sovereign_mcp_gateway",
        "--config",
        "/etc/sovereign-mcp-gateway/gateway.yml",
        "--log-level",
        "info",
    ]
    assert unit["User"] == ["sovereign-mcp-gateway"]
    assert "PYTHONPATH=/opt/sovereign-mcp-gateway/app" in unit["Environment"]
    assert unit["ReadWritePaths"] == ["/var/log/sovereign-mcp-gateway", "/srv/a", "/srv/b"]
    assert unit["ProtectSystem"] == ["strict"]
    for hardening in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictNamespaces"):
        assert unit[hardening] == ["yes"], hardening
    assert unit["CapabilityBoundingSet"] == [""]
    assert unit["IPAddressAllow"] == ["localhost"] and unit["IPAddressDeny"] == ["any"]
    # Node.js needs writable-then-executable memory for its JIT.
    assert unit["MemoryDenyWriteExecute"] == ["no"]


def test_python_only_servers_keep_memory_deny_write_execute() -> None:
    unit = directives(
        render(
            "systemd/system/sovereign-mcp-gateway.service.j2",
            mcp_gateway_filesystem_server=False,
            mcp_gateway_servers={
                "git": {"command": "/opt/venv/bin/python", "args": ["-m", "mcp_server_git"]}
            },
        )
    )
    assert unit["MemoryDenyWriteExecute"] == ["yes"]


def test_a_remote_opa_or_http_server_lifts_the_address_filter() -> None:
    remote_opa = directives(
        render(
            "systemd/system/sovereign-mcp-gateway.service.j2",
            mcp_gateway_opa_url="http://10.0.0.5:8181/v1/data/sovereign/mcp/decision",
        )
    )
    assert "IPAddressDeny" not in remote_opa
    remote_http = directives(
        render(
            "systemd/system/sovereign-mcp-gateway.service.j2",
            mcp_gateway_servers={"search": {"transport": "http", "url": "https://search.lan/mcp"}},
        )
    )
    assert "IPAddressDeny" not in remote_http


def test_logrotate_copies_and_truncates_the_audit_log() -> None:
    text = render("logrotate.d/sovereign-mcp-gateway.j2", mcp_gateway_log_rotate_days=7)
    assert text.splitlines()[0].startswith("#")
    assert "/var/log/sovereign-mcp-gateway/audit.jsonl {" in text
    assert re.search(r"^\s+copytruncate$", text, re.M)
    assert re.search(r"^\s+rotate 7$", text, re.M)
    assert re.search(r"^\s+su sovereign-mcp-gateway adm$", text, re.M)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROLE / "files" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


@pytest.mark.parametrize("abi", ["cp311", "cp313"])
def test_wheel_artifacts_name_one_wheel_per_pinned_requirement(abi: str) -> None:
    names = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["mcp_gateway_wheel_artifacts"][abi]
    projects = {re.sub(r"^pywheel-|-cp3\d+$", "", name) for name in names}
    assert projects == set(_pins())
    assert len(names) == len(projects)
    assert all(not re.search(r"-cp3\d+$", name) or name.endswith(abi) for name in names)


def test_secrets_live_per_host_on_the_controller() -> None:
    assert (
        value_of("{{ __mcp_gateway_host_secrets_dir }}", mcp_gateway_secrets_dir="/ctl/secrets")
        == "/ctl/secrets/agent-1"
    )
