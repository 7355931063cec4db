# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The gateway's configuration file (JSON or YAML) and the tokens file it names, validated on load.

Every error names the key, the value found and what would be valid, so a bad file stops the
service at start with a message the operator can act on.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from .paths import PathRejected, check_spelling

SERVER_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]|_(?!_))*$")
"""Downstream server names: lower-case letters, digits, '-' and single '_', so '__' can separate
the server from the tool in the names the gateway exposes (``<server>__<tool>``)."""

CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHA256_HEX_PATTERN = re.compile(r"^[0-9a-f]{64}$")

DEFAULT_OPA_URL = "http://127.0.0.1:8181/v1/data/sovereign/mcp/decision"
TOOLS_RULE = "visible_tools"
"""The rule beside the decision that answers tools/list: ``opa_tools_url`` defaults to ``opa_url``
with its last path segment replaced by this name."""

DEFAULT_MOVING_TOOLS = frozenset(
    {"move_file", "move", "move_directory", "rename", "rename_file", "copy", "copy_file", "copy_directory"}
)
"""Tools that move, rename or copy what a path names: a directory they name may hold no symlink."""

TOP_LEVEL_KEYS = frozenset(
    {
        "listen_address",
        "listen_port",
        "tokens_file",
        "opa_url",
        "opa_timeout_ms",
        "opa_tools_url",
        "workspace_roots",
        "max_payload_bytes",
        "rate_limit_per_second",
        "rate_limit_burst",
        "audit_log",
        "call_timeout_s",
        "servers",
    }
)
CONFINEMENT_KEYS = frozenset({"path_arguments", "allow_hard_links", "moving_tools"})
STDIO_KEYS = frozenset({"transport", "command", "args", "env", "cwd"}) | CONFINEMENT_KEYS
HTTP_KEYS = frozenset({"transport", "url", "headers"}) | CONFINEMENT_KEYS


class ConfigError(ValueError):
    """The configuration or the tokens file is unusable; the message says why and what is valid."""


@dataclass(frozen=True)
class StdioServer:
    """A downstream MCP server the gateway starts as a subprocess and talks to over stdio."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    path_arguments: frozenset[str] = frozenset()
    allow_hard_links: bool = False
    moving_tools: frozenset[str] = DEFAULT_MOVING_TOOLS


@dataclass(frozen=True)
class HttpServer:
    """A downstream MCP server the gateway reaches over Streamable HTTP."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    path_arguments: frozenset[str] = frozenset()
    allow_hard_links: bool = False
    moving_tools: frozenset[str] = DEFAULT_MOVING_TOOLS


DownstreamServer = StdioServer | HttpServer


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs, validated. ``tokens`` maps client id -> sha256 hex of its token."""

    tokens: dict[str, str]
    servers: dict[str, DownstreamServer]
    audit_log: Path
    workspace_roots: tuple[str, ...]
    listen_address: str = "127.0.0.1"
    listen_port: int = 8800
    opa_url: str = DEFAULT_OPA_URL
    opa_tools_url: str = ""
    opa_timeout_ms: int = 500
    max_payload_bytes: int = 1_048_576
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 40
    call_timeout_s: float = 60.0


def load_config(path: str | os.PathLike[str]) -> GatewayConfig:
    """Read, parse and validate the configuration file at ``path`` and the tokens file it names."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {str(config_path)!r}: {exc.strerror}") from exc
    raw = _parse(config_path, text)
    return parse_config(raw, base_dir=config_path.parent)


def parse_config(raw: Any, base_dir: Path) -> GatewayConfig:
    """Validate an already parsed configuration mapping; relative file paths are taken from ``base_dir``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"the configuration must be a mapping of keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"unknown configuration keys {unknown}; valid keys are {sorted(TOP_LEVEL_KEYS)}")
    for required in ("tokens_file", "audit_log", "workspace_roots", "servers"):
        if required not in raw:
            raise ConfigError(f"configuration key {required!r} is required")

    tokens_file = _resolve(base_dir, _string(raw, "tokens_file"))
    defaults = GatewayConfig(tokens={}, servers={}, audit_log=Path(), workspace_roots=())
    opa_url = _http_url("opa_url", raw.get("opa_url", defaults.opa_url))
    return GatewayConfig(
        tokens=load_tokens(tokens_file),
        servers=_servers(raw["servers"]),
        audit_log=_resolve(base_dir, _string(raw, "audit_log")),
        workspace_roots=_workspace_roots(raw["workspace_roots"]),
        listen_address=_listen_address(raw.get("listen_address", defaults.listen_address)),
        listen_port=_integer(raw, "listen_port", defaults.listen_port, minimum=1, maximum=65535),
        opa_url=opa_url,
        opa_tools_url=_http_url(
            "opa_tools_url", raw.get("opa_tools_url", _sibling_rule(opa_url, TOOLS_RULE))
        ),
        opa_timeout_ms=_integer(raw, "opa_timeout_ms", defaults.opa_timeout_ms, minimum=1, maximum=60_000),
        max_payload_bytes=_integer(
            raw, "max_payload_bytes", defaults.max_payload_bytes, minimum=1024, maximum=64 * 1024 * 1024
        ),
        rate_limit_per_second=_number(raw, "rate_limit_per_second", defaults.rate_limit_per_second),
        rate_limit_burst=_integer(
            raw, "rate_limit_burst", defaults.rate_limit_burst, minimum=1, maximum=1_000_000
        ),
        call_timeout_s=_number(raw, "call_timeout_s", defaults.call_timeout_s),
    )


def load_tokens(path: Path) -> dict[str, str]:
    """Read the tokens file (JSON object: client id -> sha256 hex of the token), 0600 or stricter."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read tokens_file {str(path)!r}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"tokens_file {str(path)!r} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"tokens_file {str(path)!r} has mode {mode:04o}; it must be 0600 or stricter (no group or "
            f"other access): chmod 600 {path}"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"tokens_file {str(path)!r} is not a readable JSON object: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"tokens_file {str(path)!r} must be a non-empty JSON object of client id -> sha256 hex"
        )
    tokens: dict[str, str] = {}
    for client, digest in raw.items():
        if not CLIENT_ID_PATTERN.match(client):
            raise ConfigError(
                f"tokens_file {str(path)!r}: client id {client!r} is not valid; use 1-64 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit"
            )
        # A digest is not secret, but a value that is not one is most likely a pasted token: never echo it.
        if not isinstance(digest, str) or not SHA256_HEX_PATTERN.match(digest):
            raise ConfigError(
                f"tokens_file {str(path)!r}: the entry of client {client!r} is not a sha256 digest "
                "(64 lower-case hex digits); store sha256(token), never the token itself"
            )
        tokens[client] = digest
    return tokens


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yml", ".yaml"):
            return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"the configuration file {str(path)!r} cannot be parsed: {exc}") from exc
    raise ConfigError(
        f"the configuration file {str(path)!r} must end in .json, .yml or .yaml, got {suffix!r}"
    )


def _resolve(base_dir: Path, value: str) -> Path:
    candidate = Path(value)
    return candidate if candidate.is_absolute() else base_dir / candidate


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"configuration key {key!r} must be a non-empty string, got {value!r}")
    return value


def _integer(raw: dict[str, Any], key: str, default: int, minimum: int, maximum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(
            f"configuration key {key!r} must be an integer from {minimum} to {maximum}, got {value!r}"
        )
    return value


def _number(raw: dict[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1_000_000:
        raise ConfigError(
            f"configuration key {key!r} must be a number above 0 (at most 1000000), got {value!r}"
        )
    return float(value)


def _listen_address(value: Any) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise ConfigError(
            f"configuration key 'listen_address' must be an IP address such as 127.0.0.1, got {value!r}"
        ) from exc
    if address.is_unspecified:
        raise ConfigError(
            f"configuration key 'listen_address' is {value!r}, which listens on every interface; the gateway "
            "binds one address only: use 127.0.0.1 (the default, behind the TLS proxy) or ::1"
        )
    return str(address)


def _http_url(key: str, value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"configuration key {key!r} must be an http:// or https:// URL, got {value!r}")
    return str(value)


def _sibling_rule(url: str, rule: str) -> str:
    """``url`` with the last segment of its path replaced by ``rule`` (the rule's package is the same)."""
    parts = urlsplit(url)
    path = parts.path.rsplit("/", 1)[0] + "/" + rule
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _workspace_roots(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"configuration key 'workspace_roots' must be a non-empty list of paths, got {value!r}"
        )
    roots = []
    for root in value:
        if not isinstance(root, str) or not root.startswith("/") or root.rstrip("/") == "":
            raise ConfigError(
                f"configuration key 'workspace_roots' holds {root!r}; every root must be an absolute path "
                "other than '/'"
            )
        resolved = os.path.realpath(root)
        try:
            check_spelling(resolved)
        except PathRejected as exc:
            # Every path below such a root would be refused: say so at start, not on each call.
            raise ConfigError(
                f"configuration key 'workspace_roots' holds {root!r}, which resolves to a path the gateway "
                f"refuses in tool arguments ({exc}); rename it to plain NFC characters"
            ) from exc
        roots.append(resolved)
    return tuple(roots)


def _servers(value: Any) -> dict[str, DownstreamServer]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"configuration key 'servers' must be a non-empty mapping of name -> settings, got {value!r}"
        )
    return {name: _server(name, settings) for name, settings in value.items()}


def _server(name: Any, settings: Any) -> DownstreamServer:
    if not isinstance(name, str) or not SERVER_NAME_PATTERN.match(name):
        raise ConfigError(
            f"server name {name!r} is not valid; use lower-case letters, digits, '-' and single '_' "
            "(a double '__' separates server and tool in the exposed tool names)"
        )
    where = f"servers.{name}"
    if not isinstance(settings, dict):
        raise ConfigError(f"{where} must be a mapping, got {settings!r}")
    transport = settings.get("transport", "stdio")
    path_arguments = frozenset(_string_list(where, settings, "path_arguments"))
    allow_hard_links = settings.get("allow_hard_links", False)
    if not isinstance(allow_hard_links, bool):
        raise ConfigError(
            f"{where}.allow_hard_links must be true or false (false, the default, refuses a file with more "
            f"than one hard link), got {allow_hard_links!r}"
        )
    moving_tools = (
        frozenset(_string_list(where, settings, "moving_tools"))
        if "moving_tools" in settings
        else DEFAULT_MOVING_TOOLS
    )

    if transport == "stdio":
        _no_unknown_keys(where, settings, STDIO_KEYS)
        command = settings.get("command")
        if not isinstance(command, str) or not command:
            raise ConfigError(f"{where}.command must be a non-empty string (the executable), got {command!r}")
        env = settings.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ConfigError(f"{where}.env must be a mapping of strings to strings")
        cwd = settings.get("cwd")
        if cwd is not None and not isinstance(cwd, str):
            raise ConfigError(f"{where}.cwd must be a path string, got {cwd!r}")
        return StdioServer(
            name=name,
            command=command,
            args=tuple(_string_list(where, settings, "args")),
            env=dict(env),
            cwd=cwd,
            path_arguments=path_arguments,
            allow_hard_links=allow_hard_links,
            moving_tools=moving_tools,
        )
    if transport == "http":
        _no_unknown_keys(where, settings, HTTP_KEYS)
        headers = settings.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ConfigError(f"{where}.headers must be a mapping of strings to strings")
        return HttpServer(
            name=name,
            url=_http_url(f"{where}.url", settings.get("url")),
            headers=dict(headers),
            path_arguments=path_arguments,
            allow_hard_links=allow_hard_links,
            moving_tools=moving_tools,
        )
    raise ConfigError(f"{where}.transport must be 'stdio' or 'http', got {transport!r}")


def _no_unknown_keys(where: str, settings: dict[str, Any], valid: frozenset[str]) -> None:
    unknown = sorted(set(settings) - valid)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; valid keys are {sorted(valid)}")


def _string_list(where: str, settings: dict[str, Any], key: str) -> list[str]:
    value = settings.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}.{key} must be a list of strings, got {value!r}")
    return list(value)
