# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Connections to the downstream MCP servers, kept open for the gateway's lifetime, and their tools.

Tools are exposed as ``<server>__<tool>`` (server names cannot contain ``__``, so the first ``__``
splits the name unambiguously); the list is read from the real servers when the gateway starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from .config import DownstreamServer, HttpServer, StdioServer

logger = logging.getLogger(__name__)

SEPARATOR = "__"
MAX_LIST_PAGES = 100
HEALTH_TIMEOUT_S = 2.0


def exposed_name(server: str, tool: str) -> str:
    """The name a downstream tool has on the gateway."""
    return f"{server}{SEPARATOR}{tool}"


def split_name(name: str) -> tuple[str, str] | None:
    """(server, tool) of a gateway tool name, or None when it has no ``__``."""
    server, separator, tool = name.partition(SEPARATOR)
    if not separator or not server or not tool:
        return None
    return server, tool


@dataclass(frozen=True)
class Route:
    """Where a gateway tool goes: the configured server and the tool's name there.

    ``path_arguments`` are the server's path arguments that the tool's input schema declares (the
    tool takes a path when there is one), ``required_paths`` those of them the schema requires.
    """

    server: DownstreamServer
    tool: str
    path_arguments: frozenset[str] = frozenset()
    required_paths: frozenset[str] = frozenset()


def route_for(server: DownstreamServer, tool: types.Tool) -> Route:
    """The route of ``tool``, with the path arguments its input schema declares."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    properties = schema.get("properties")
    required = schema.get("required")
    declared = frozenset(properties) if isinstance(properties, dict) else frozenset()
    must = (
        frozenset(name for name in required if isinstance(name, str))
        if isinstance(required, list)
        else frozenset()
    )
    takes = server.path_arguments & declared
    return Route(server=server, tool=tool.name, path_arguments=takes, required_paths=takes & must)


class DownstreamUnavailable(RuntimeError):
    """A downstream server could not be started, reached or listed."""


class Downstreams:
    """Opens one MCP client session per configured server and routes calls to them."""

    def __init__(self, servers: Mapping[str, DownstreamServer], call_timeout_s: float) -> None:
        self._servers = dict(servers)
        self._call_timeout_s = call_timeout_s
        self._clients: dict[str, Client] = {}
        self._tools: list[types.Tool] = []
        self._routes: dict[str, Route] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Downstreams:
        """Connect to every server and read its tools; any failure stops the gateway from starting."""
        try:
            for name, server in self._servers.items():
                try:
                    client = await self._stack.enter_async_context(await _client_for(server, self._stack))
                    listed = await _list_all_tools(client)
                except Exception as exc:
                    raise DownstreamUnavailable(
                        f"downstream server {name!r} did not start or list its tools: {exc}"
                    ) from exc
                self._clients[name] = client
                for tool in listed:
                    exposed = exposed_name(name, tool.name)
                    self._routes[exposed] = route_for(server, tool)
                    self._tools.append(tool.model_copy(update={"name": exposed}))
                logger.info("downstream %s: %d tools", name, len(listed))
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close every session (and stop the stdio servers)."""
        await self._stack.aclose()

    @property
    def tools(self) -> list[types.Tool]:
        """Every downstream tool under its gateway name."""
        return list(self._tools)

    def route(self, name: str) -> Route | None:
        """Where the gateway tool ``name`` goes, or None when no downstream server lists it."""
        return self._routes.get(name)

    async def call(self, route: Route, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call the tool on its server, bounded by the configured call timeout."""
        client = self._clients[route.server.name]
        with anyio.fail_after(self._call_timeout_s):
            return await client.call_tool(route.tool, arguments, read_timeout_seconds=self._call_timeout_s)

    async def health(self) -> dict[str, bool]:
        """Whether each server answers a tools/list within two seconds.

        (``ping`` would be lighter, but the 2026-07-28 protocol removed it and servers negotiate either era.)
        """
        status: dict[str, bool] = {}
        for name, client in self._clients.items():
            try:
                with anyio.fail_after(HEALTH_TIMEOUT_S):
                    await client.list_tools(cache_mode="bypass")
                status[name] = True
            except Exception:
                status[name] = False
        return status


async def _client_for(server: DownstreamServer, stack: AsyncExitStack) -> Client:
    if isinstance(server, StdioServer):
        parameters = StdioServerParameters(
            command=server.command, args=list(server.args), env=server.env or None, cwd=server.cwd
        )
        return Client(parameters, mode="auto")
    if isinstance(server, HttpServer):
        # The SDK's default timeouts (30 s; 300 s for a held-open stream), and no proxy from the environment.
        http_client = await stack.enter_async_context(
            httpx2.AsyncClient(
                headers=server.headers, timeout=httpx2.Timeout(30.0, read=300.0), trust_env=False
            )
        )
        return Client(streamable_http_client(server.url, http_client=http_client), mode="auto")
    raise TypeError(f"unsupported downstream server {server!r}")


async def _list_all_tools(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _page in range(MAX_LIST_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise DownstreamUnavailable(f"tools/list did not end after {MAX_LIST_PAGES} pages")
