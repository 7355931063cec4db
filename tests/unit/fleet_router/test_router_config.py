# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The router's configuration and table files: defaults, and refusals that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sovereign_fleet_router.config import ConfigError, parse_config
from sovereign_fleet_router.table import TableError, load_table, parse_table

BASE = {
    "table": "/etc/sovereign/fleet-router/table.json",
    "accounting_log": "/var/log/sovereign/accounting.jsonl",
}


def test_defaults() -> None:
    config = parse_config(BASE)
    assert (config.listen_address, config.listen_port) == ("127.0.0.1", 8090)
    assert (config.health.path, config.health.eject_after) == ("/v1/models", 2)
    assert config.default_limit.requests_per_minute is None


def test_limits_per_client() -> None:
    config = parse_config({**BASE, "limits": {"clients": {"alice": {"tokens_per_day": 1000}}}})
    assert config.client_limits["alice"].tokens_per_day == 1000


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"table": "relative.json"}, "table"),
        ({"listen_address": "0.0.0.0"}, "wildcard"),
        ({"listen_address": "localhost"}, "listen_address"),
        ({"listen_port": "8090"}, "listen_port"),
        ({"connect_timeout_s": 0}, "connect_timeout_s"),
        ({"health": {"path": "health"}}, "health.path"),
        ({"health": {"eject_after": 0}}, "eject_after"),
        ({"limits": {"clients": {"alice": {"requests_per_minute": 0}}}}, "limits.clients.alice"),
        ({"limits": []}, "limits"),
    ],
)
def test_bad_settings_name_their_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config({**BASE, **change})


def test_a_table_entry_without_url_is_not_routed_to() -> None:
    replicas = [
        {"host": "a", "url": "http://127.0.0.1:8000", "engine": "llama_cpp", "context": 4096},
        {"host": "b", "url": None, "engine": "vllm", "context": 4096},
    ]
    (deployment,) = parse_table({"deployments": [{"name": "chat", "context": 4096, "replicas": replicas}]})
    assert [replica.host for replica in deployment.replicas] == ["a"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "deployments"),
        ({"deployments": [{"name": "chat"}]}, "not a table entry"),
        (
            {"deployments": [{"name": "c", "context": 1, "replicas": [{"url": "ftp://x", "context": 1}]}]},
            "http",
        ),
        ({"deployments": [{"name": "c", "context": 1, "replicas": []}] * 2}, "twice"),
    ],
)
def test_bad_tables_are_refused(document: Any, message: str) -> None:
    with pytest.raises(TableError, match=message):
        parse_table(document)


def test_a_missing_or_broken_table_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="cannot read"):
        load_table(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(TableError, match="not JSON"):
        load_table(tmp_path / "broken.json")
