# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The router's configuration file (JSON), read and checked before anything starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .health import HealthSettings
from .jsonfile import read_json
from .limits import ClientLimit


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class RouterConfig:
    """Every setting, with the defaults documented in docs/architecture.md "Fleet endpoint"."""

    table: Path
    accounting_log: Path
    listen_address: str = "127.0.0.1"
    listen_port: int = 8090
    accounting_log_max_bytes: int = 16 * 1024 * 1024
    accounting_log_backups: int = 5
    # Set by the TLS proxy from the client's bearer token (its token map); the router trusts it
    # because it listens on loopback only, where the engines themselves already answer anyone.
    client_header: str = "x-sovereign-client"
    max_body_bytes: int = 16 * 1024 * 1024
    connect_timeout_s: float = 0.5
    answer_timeout_s: float = 300.0
    health: HealthSettings = field(default_factory=HealthSettings)
    peer_ca_file: Path | None = None
    peer_token_file: Path | None = None
    default_limit: ClientLimit = field(default_factory=ClientLimit)
    client_limits: dict[str, ClientLimit] = field(default_factory=dict)


def _number(document: dict[str, Any], key: str, default: float, low: float, whole: bool = False) -> Any:
    value = document.get(key, default)
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value >= low:
        raise ConfigError(f"{key} must be a {'whole ' if whole else ''}number >= {low}, got {value!r}")
    return value


def _limit(document: Any, where: str) -> ClientLimit:
    if not isinstance(document, dict):
        raise ConfigError(f"{where} must be an object")
    values = {}
    for key in ("requests_per_minute", "tokens_per_day"):
        value = document.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{where}.{key} must be a whole number >= 1 or null, got {value!r}")
        values[key] = value
    return ClientLimit(**values)


def parse_config(document: Any) -> RouterConfig:
    """A RouterConfig from the decoded file; ConfigError for anything missing or wrong."""
    if not isinstance(document, dict):
        raise ConfigError("the configuration must be a JSON object")
    for key in ("table", "accounting_log"):
        if not isinstance(document.get(key), str) or not document[key].startswith("/"):
            raise ConfigError(f"{key} must be an absolute path")
    address = document.get("listen_address", "127.0.0.1")
    try:
        if ipaddress.ip_address(address).is_unspecified:
            raise ConfigError("listen_address must not be a wildcard: the router listens on loopback")
    except ValueError as error:
        raise ConfigError(f"listen_address must be an IP address: {error}") from None
    health = document.get("health", {})
    if not isinstance(health, dict):
        raise ConfigError("health must be an object")
    path = health.get("path", HealthSettings.path)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError("health.path must start with '/'")
    limits = document.get("limits", {})
    if not isinstance(limits, dict) or not isinstance(limits.get("clients", {}), dict):
        raise ConfigError("limits must be an object with an optional 'clients' object")
    optional = {key: Path(document[key]) for key in ("peer_ca_file", "peer_token_file") if document.get(key)}
    return RouterConfig(
        table=Path(document["table"]),
        accounting_log=Path(document["accounting_log"]),
        listen_address=address,
        listen_port=_number(document, "listen_port", 8090, 1, whole=True),
        accounting_log_max_bytes=_number(
            document, "accounting_log_max_bytes", 16 * 1024 * 1024, 4096, whole=True
        ),
        accounting_log_backups=_number(document, "accounting_log_backups", 5, 0, whole=True),
        client_header=str(document.get("client_header", "x-sovereign-client")).lower(),
        max_body_bytes=_number(document, "max_body_bytes", 16 * 1024 * 1024, 1024, whole=True),
        connect_timeout_s=_number(document, "connect_timeout_s", 0.5, 0.01),
        answer_timeout_s=_number(document, "answer_timeout_s", 300.0, 0.1),
        health=HealthSettings(
            path=path,
            interval_s=_number(health, "interval_s", 1.0, 0.05),
            timeout_s=_number(health, "timeout_s", 1.0, 0.05),
            eject_after=_number(health, "eject_after", 2, 1, whole=True),
            return_after=_number(health, "return_after", 2, 1, whole=True),
        ),
        default_limit=_limit(limits.get("default", {}), "limits.default"),
        client_limits={
            str(name): _limit(value, f"limits.clients.{name}")
            for name, value in limits.get("clients", {}).items()
        },
        **optional,
    )


def load_config(path: str | Path) -> RouterConfig:
    """Read and check the configuration file."""
    return parse_config(read_json(Path(path), ConfigError))
