# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Configuration loading: defaults, both file formats, and every refusal with a usable message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gateway_fixtures import GATEWAY_FILES, TOKENS, free_port, write_tokens
from sovereign_mcp_gateway.config import (
    DEFAULT_MOVING_TOOLS,
    ConfigError,
    HttpServer,
    StdioServer,
    load_config,
)


def base_config(directory: Path) -> dict[str, Any]:
    return {
        "tokens_file": str(write_tokens(directory)),
        "audit_log": "audit.jsonl",
        "workspace_roots": [str(directory)],
        "servers": {
            "filesystem": {"command": "node", "args": ["fs.js", "/srv"], "path_arguments": ["path"]},
            "remote": {"transport": "http", "url": "http://127.0.0.1:9000/mcp"},
        },
    }


def write(directory: Path, config: dict[str, Any], name: str = "gateway.json") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(config) if name.endswith((".yml", ".yaml")) else json.dumps(config))
    return path


def test_defaults_and_servers(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, base_config(tmp_path)))
    assert (config.listen_address, config.listen_port) == ("127.0.0.1", 8800)
    assert config.opa_url == "http://127.0.0.1:8181/v1/data/sovereign/mcp/decision"
    assert config.opa_timeout_ms == 500
    assert config.audit_log == tmp_path / "audit.jsonl", (
        "relative paths are taken from the config's directory"
    )
    assert config.opa_tools_url == "http://127.0.0.1:8181/v1/data/sovereign/mcp/visible_tools", (
        "tools/list asks the rule beside the decision"
    )
    assert set(config.tokens) == set(TOKENS)
    fs, remote = config.servers["filesystem"], config.servers["remote"]
    assert isinstance(fs, StdioServer) and fs.args == ("fs.js", "/srv") and fs.path_arguments == {"path"}
    assert isinstance(remote, HttpServer) and remote.url == "http://127.0.0.1:9000/mcp"
    assert fs.allow_hard_links is False and remote.allow_hard_links is False
    assert fs.moving_tools == remote.moving_tools == DEFAULT_MOVING_TOOLS
    assert "move_file" in DEFAULT_MOVING_TOOLS


def test_confinement_settings_per_server(tmp_path: Path) -> None:
    raw = base_config(tmp_path)
    raw["servers"]["filesystem"].update(allow_hard_links=True, moving_tools=["relocate"])
    raw["opa_tools_url"] = "http://127.0.0.1:8181/v1/data/site/tools"
    config = load_config(write(tmp_path, raw))
    fs = config.servers["filesystem"]
    assert fs.allow_hard_links is True and fs.moving_tools == {"relocate"}
    assert config.servers["remote"].allow_hard_links is False
    assert config.opa_tools_url == "http://127.0.0.1:8181/v1/data/site/tools"


def test_yaml_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {**base_config(tmp_path), "listen_port": 9100}, "gateway.yml"))
    assert config.listen_port == 9100


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "0:0:0:0:0:0:0:0"])
def test_wildcard_listen_address_is_refused(tmp_path: Path, address: str) -> None:
    with pytest.raises(ConfigError, match=r"listens on every interface.*use 127\.0\.0\.1"):
        load_config(write(tmp_path, {**base_config(tmp_path), "listen_address": address}))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_tokens_file_must_be_private(tmp_path: Path, mode: int) -> None:
    config = base_config(tmp_path)
    Path(config["tokens_file"]).chmod(mode)
    with pytest.raises(ConfigError, match=f"has mode {mode:04o}; it must be 0600 or stricter"):
        load_config(write(tmp_path, config))


def test_tokens_file_0400_is_fine(tmp_path: Path) -> None:
    config = base_config(tmp_path)
    Path(config["tokens_file"]).chmod(0o400)
    assert load_config(write(tmp_path, config)).tokens


def test_plain_token_in_tokens_file_is_refused_without_echo(tmp_path: Path) -> None:
    config = base_config(tmp_path)
    tokens = Path(config["tokens_file"])
    tokens.write_text(json.dumps({"alice": "my-plain-secret-token"}))
    with pytest.raises(ConfigError, match="not a sha256 digest") as caught:
        load_config(write(tmp_path, config))
    assert "my-plain-secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"listen_address": "localhost"}, "'listen_address' must be an IP address"),
        ({"listen_port": 0}, "'listen_port' must be an integer from 1 to 65535, got 0"),
        ({"listen_port": "8800"}, "'listen_port' must be an integer"),
        ({"opa_url": "127.0.0.1:8181"}, "'opa_url' must be an http:// or https:// URL"),
        ({"opa_timeout_ms": 0}, "'opa_timeout_ms' must be an integer from 1"),
        ({"max_payload_bytes": 10}, "'max_payload_bytes' must be an integer from 1024"),
        ({"rate_limit_per_second": 0}, "'rate_limit_per_second' must be a number above 0"),
        ({"rate_limit_burst": 0}, "'rate_limit_burst' must be an integer from 1"),
        ({"workspace_roots": []}, "'workspace_roots' must be a non-empty list"),
        ({"workspace_roots": ["srv/ws"]}, "holds 'srv/ws'; every root must be an absolute path"),
        ({"workspace_roots": ["/"]}, "holds '/'; every root must be an absolute path other than '/'"),
        (
            {"workspace_roots": ["/srv/cafe\u0301"]},
            "resolves to a path the gateway refuses in tool arguments .*NFC.*rename it",
        ),
        ({"servers": {}}, "'servers' must be a non-empty mapping"),
        ({"servers": {"a__b": {"command": "x"}}}, "server name 'a__b' is not valid"),
        ({"servers": {"Files": {"command": "x"}}}, "server name 'Files' is not valid"),
        ({"servers": {"fs": {"args": []}}}, r"servers\.fs\.command must be a non-empty string"),
        (
            {"servers": {"fs": {"command": "x", "transport": "sse"}}},
            "transport must be 'stdio' or 'http', got 'sse'",
        ),
        (
            {"servers": {"fs": {"command": "x", "path_arguments": "path"}}},
            r"path_arguments must be a list of strings",
        ),
        ({"servers": {"fs": {"command": "x", "argz": []}}}, r"servers\.fs has unknown keys \['argz'\]"),
        ({"servers": {"fs": {"transport": "http", "url": "ftp://x"}}}, r"'servers\.fs\.url' must be an http"),
        ({"servers": {"fs": {"command": "x", "env": {"A": 1}}}}, "env must be a mapping of strings"),
        ({"listen_adress": "127.0.0.1"}, r"unknown configuration keys \['listen_adress'\]"),
        (
            {"servers": {"fs": {"command": "x", "allow_hard_links": "no"}}},
            r"servers\.fs\.allow_hard_links must be true or false .*, got 'no'",
        ),
        (
            {"servers": {"fs": {"command": "x", "moving_tools": "move"}}},
            "moving_tools must be a list of strings",
        ),
        ({"opa_tools_url": "tools"}, "'opa_tools_url' must be an http:// or https:// URL"),
    ],
)
def test_invalid_values_name_key_value_and_valid_range(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, {**base_config(tmp_path), **change}))


@pytest.mark.parametrize("missing", ["tokens_file", "audit_log", "workspace_roots", "servers"])
def test_required_keys(tmp_path: Path, missing: str) -> None:
    config = base_config(tmp_path)
    del config[missing]
    with pytest.raises(ConfigError, match=f"configuration key '{missing}' is required"):
        load_config(write(tmp_path, config))


def test_unreadable_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "gateway.toml").write_text("")
    with pytest.raises(ConfigError, match=r"must end in \.json, \.yml or \.yaml"):
        load_config(tmp_path / "gateway.toml")
    config = base_config(tmp_path)
    config["tokens_file"] = str(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="cannot read tokens_file"):
        load_config(write(tmp_path, config))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_mcp_gateway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(GATEWAY_FILES), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_cli_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    config = base_config(tmp_path)
    Path(config["tokens_file"]).chmod(0o644)
    result = run_cli("--config", str(write(tmp_path, config)))
    assert result.returncode == 2
    assert "configuration error: tokens_file" in result.stderr
    assert "0600 or stricter" in result.stderr


def test_cli_refuses_to_start_when_a_downstream_server_fails(tmp_path: Path) -> None:
    config = base_config(tmp_path)
    config["servers"] = {"broken": {"command": str(tmp_path / "no-such-server")}}
    config["listen_port"] = free_port()
    result = run_cli("--config", str(write(tmp_path, config)), "--log-level", "warning")
    assert result.returncode == 3
    assert "downstream server 'broken' did not start or list its tools" in result.stderr


def test_cli_check(tmp_path: Path) -> None:
    result = run_cli("--config", str(write(tmp_path, base_config(tmp_path))), "--check")
    assert result.returncode == 0, result.stderr
    assert "is valid (2 servers)" in result.stdout
