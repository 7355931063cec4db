# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The real SDK client over Streamable HTTP, with a bearer token, as the tests and the benchmark use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

PROTOCOL = "2025-11-25"
"""The protocol version the tests' hand-written requests (no SDK) speak."""
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@asynccontextmanager
async def connect(url: str, token: str | None) -> AsyncIterator[Client]:
    """An initialised MCP session with the gateway at ``url``."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0), trust_env=False)
        )
        yield await stack.enter_async_context(
            Client(streamable_http_client(url, http_client=http), mode="legacy")
        )


async def call(url: str, token: str, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """One tools/call in a fresh session."""
    async with connect(url, token) as client:
        return await client.call_tool(name, arguments)


def text_of(result: types.CallToolResult) -> str:
    """All text content of a result, joined."""
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def raw_request(url: str, token: str, method: str, params: Any) -> dict[str, Any]:
    """One JSON-RPC request with ``params`` exactly as given (``None`` is sent as JSON ``null``), in a
    fresh session opened by hand, for requests the SDK's client would never send."""
    auth = {**MCP_HEADERS, "authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(trust_env=False, timeout=httpx2.Timeout(30.0)) as http:
        opened = await http.post(url, headers=auth, json=INITIALIZE)
        opened.raise_for_status()
        session = {
            **auth,
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": PROTOCOL,
        }
        await http.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        answer = await http.post(
            url, headers=session, json={"jsonrpc": "2.0", "id": 2, "method": method, "params": params}
        )
    reply: dict[str, Any] = answer.json()
    return reply
