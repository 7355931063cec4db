# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Connections to the downstream MCP servers, each kept up by a supervisor task, and their tools.

Tools are exposed as ``<server>__<tool>`` (server names cannot contain ``__``, so the first ``__``
splits the name unambiguously); the list is read from the real servers when the gateway starts.

A server that dies (its stdio pipe closes, or a call finds the connection gone) is started again
by its supervisor, at once the first time and then after a growing pause (``RESTART_DELAYS_S``),
so one that keeps failing is not restarted in a tight loop; a connection that stayed up for
``STABLE_AFTER_S`` starts the back-off over. A call that arrives while its server is restarting
waits for it, within the call timeout. ``health()`` reports each server: up or not, how often it
was restarted, and when the next attempt comes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from .config import DownstreamServer, HttpServer, StdioServer

logger = logging.getLogger(__name__)

SEPARATOR = "__"
MAX_LIST_PAGES = 100
HEALTH_TIMEOUT_S = 2.0
RESTART_DELAYS_S = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
"""Pause before each attempt to start a lost server again: the first at once, the last repeated."""
STABLE_AFTER_S = 60.0
"""A connection that lived this long was not a crash loop: the next loss starts the back-off over."""

UP, RESTARTING, DOWN = "ok", "restarting", "down"


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


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the server is gone (not a tool's or a protocol error)."""
    if isinstance(exc, MCPError):
        return exc.error.code == types.CONNECTION_CLOSED
    return isinstance(
        exc,
        (
            anyio.ClosedResourceError,
            anyio.BrokenResourceError,
            anyio.EndOfStream,
            OSError,
            httpx2.TransportError,
        ),
    )


class _WatchedRead:
    """The transport's read stream, which sets ``lost`` when the server's side ends (a stdio
    server that exited closes its pipe): the supervisor then restarts it before any call needs it."""

    def __init__(self, inner: Any, lost: anyio.Event) -> None:
        self._inner = inner
        self._lost = lost

    @property
    def last_context(self) -> Any:
        """The sender's context of the last message, where the inner stream keeps one."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._lost.set()
            raise
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedRead:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedRead:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


@asynccontextmanager
async def _watched_transport(server: DownstreamServer, lost: anyio.Event) -> AsyncIterator[Any]:
    """The SDK's stdio or Streamable HTTP transport for ``server``, its read stream watched."""
    async with AsyncExitStack() as stack:
        transport: AbstractAsyncContextManager[Any]
        if isinstance(server, StdioServer):
            parameters = StdioServerParameters(
                command=server.command, args=list(server.args), env=server.env or None, cwd=server.cwd
            )
            transport = stdio_client(parameters)
        elif isinstance(server, HttpServer):
            # The SDK's default timeouts (30 s; 300 s for a held-open stream), no proxy from the environment.
            http_client = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=server.headers, timeout=httpx2.Timeout(30.0, read=300.0), trust_env=False
                )
            )
            transport = streamable_http_client(server.url, http_client=http_client)
        else:
            raise TypeError(f"unsupported downstream server {server!r}")
        read_stream, write_stream = await stack.enter_async_context(transport)
        yield _WatchedRead(read_stream, lost), write_stream


class Link:
    """One downstream server: its client while connected, and the supervisor that keeps it so."""

    def __init__(self, name: str, server: DownstreamServer) -> None:
        self.name = name
        self.server = server
        self.client: Client | None = None
        self.state = RESTARTING
        self.restarts = 0
        self.last_error = ""
        self._attempts = 0
        self._retry_at: float | None = None
        self._up = anyio.Event()
        self._lost = anyio.Event()

    def lose(self, reason: str) -> None:
        """Note that the connection is gone: the supervisor starts the server again."""
        if self.client is not None and not self._lost.is_set():
            self.last_error = reason
            self._lost.set()

    async def connected(self, timeout_s: float) -> Client:
        """The client, waiting up to ``timeout_s`` while the server is being started again."""
        with anyio.move_on_after(timeout_s):
            await self._up.wait()
        if self.client is None:
            raise DownstreamUnavailable(f"downstream server {self.name!r} is {self.state}: {self.last_error}")
        return self.client

    def report(self) -> dict[str, Any]:
        """What /healthz says of this server (never its command, arguments or URL)."""
        entry: dict[str, Any] = {"status": self.state, "restarts": self.restarts}
        if self.state != UP:
            entry["last_error"] = self.last_error
            if self._retry_at is not None:
                entry["next_attempt_in_s"] = round(max(0.0, self._retry_at - time.monotonic()), 1)
        return entry

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[list[types.Tool]] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect, and connect again whenever the connection is lost, until cancelled.

        The first connection's tool list goes to ``task_status``; its failure is raised (the
        gateway does not start with a partial tool set). The client is entered and left in this
        task only, as the SDK's task groups require.
        """
        first = True
        while True:
            started = time.monotonic()
            try:
                async with Client(_watched_transport(self.server, self._lost), mode="auto") as client:
                    listed = await _list_all_tools(client)
                    self.client, self.state, self._retry_at = client, UP, None
                    self._up.set()
                    if first:
                        task_status.started(listed)
                        first = False
                    else:
                        self.restarts += 1
                        logger.warning("downstream %s started again (restart %d)", self.name, self.restarts)
                    self.last_error = ""
                    await self._lost.wait()
                    self.last_error = self.last_error or "the connection closed (the server exited)"
                    logger.warning("downstream %s lost: %s", self.name, self.last_error)
            except Exception as exc:
                if first:
                    raise DownstreamUnavailable(
                        f"downstream server {self.name!r} did not start or list its tools: {exc}"
                    ) from exc
                # /healthz shows the kind of failure only; the journal gets the message (it may name paths).
                self.last_error = f"{type(exc).__name__} while starting"
                logger.warning("downstream %s failed: %s: %s", self.name, type(exc).__name__, exc)
            finally:
                self.client = None
                self._up = anyio.Event()
                self._lost = anyio.Event()
            if time.monotonic() - started >= STABLE_AFTER_S:
                self._attempts = 0
            delay = RESTART_DELAYS_S[min(self._attempts, len(RESTART_DELAYS_S) - 1)]
            self._attempts += 1
            self.state = RESTARTING if delay == 0 else DOWN
            self._retry_at = time.monotonic() + delay
            await anyio.sleep(delay)
            self.state = RESTARTING


class Downstreams:
    """Keeps one MCP client session per configured server and routes calls to them."""

    def __init__(self, servers: Mapping[str, DownstreamServer], call_timeout_s: float) -> None:
        self._servers = dict(servers)
        self._call_timeout_s = call_timeout_s
        self._links: dict[str, Link] = {}
        self._tools: list[types.Tool] = []
        self._routes: dict[str, Route] = {}
        self._stack = AsyncExitStack()
        self._tasks: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Downstreams:
        """Start every server's supervisor and read its tools; any failure stops the gateway from starting."""
        try:
            self._tasks = await self._stack.enter_async_context(anyio.create_task_group())
            for name, server in self._servers.items():
                link = Link(name, server)
                listed: list[types.Tool] = await self._tasks.start(link.run)
                self._links[name] = link
                for tool in listed:
                    exposed = exposed_name(name, tool.name)
                    self._routes[exposed] = route_for(server, tool)
                    self._tools.append(tool.model_copy(update={"name": exposed}))
                logger.info("downstream %s: %d tools", name, len(listed))
        except BaseException:
            if self._tasks is not None:
                self._tasks.cancel_scope.cancel()
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop every supervisor (and with it the stdio servers)."""
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
        await self._stack.aclose()

    @property
    def tools(self) -> list[types.Tool]:
        """Every downstream tool under its gateway name, as the servers listed them at start."""
        return list(self._tools)

    def route(self, name: str) -> Route | None:
        """Where the gateway tool ``name`` goes, or None when no downstream server lists it."""
        return self._routes.get(name)

    async def call(self, route: Route, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call the tool on its server, bounded by the configured call timeout.

        A server being started again is waited for within that bound. A connection found gone
        fails this call (it may have reached the server before it died) and starts the server again.
        """
        link = self._links[route.server.name]
        with anyio.fail_after(self._call_timeout_s):
            client = await link.connected(self._call_timeout_s)
            try:
                return await client.call_tool(
                    route.tool, arguments, read_timeout_seconds=self._call_timeout_s
                )
            except Exception as exc:
                if connection_lost(exc):
                    link.lose(f"{type(exc).__name__} during a call")
                raise

    async def health(self) -> dict[str, dict[str, Any]]:
        """Each server: up (it answers a tools/list within two seconds), restarting or down.

        (``ping`` would be lighter, but the 2026-07-28 protocol removed it and servers negotiate either era.)
        A server that does not answer is started again.
        """
        status: dict[str, dict[str, Any]] = {}
        for name, link in self._links.items():
            client = link.client
            if client is not None and link.state == UP:
                try:
                    with anyio.fail_after(HEALTH_TIMEOUT_S):
                        await client.list_tools(cache_mode="bypass")
                except Exception as exc:
                    link.lose(f"no tools/list answer to the health check ({type(exc).__name__})")
                    link.state = RESTARTING
            status[name] = link.report()
        return status


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
