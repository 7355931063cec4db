# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Calls the gateway as an agent would, with the official MCP SDK's client over Streamable HTTP.

Run on the gateway host with the gateway venv's python. Tokens come from the environment
(ALICE_TOKEN, BOB_TOKEN); the result, one JSON object on stdout, never contains them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

URL = sys.argv[1]
WORKSPACE_FILE = sys.argv[2]


@asynccontextmanager
async def connect(token: str) -> AsyncIterator[Client]:
    """An initialised MCP session with the gateway."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30.0), trust_env=False
            )
        )
        yield await stack.enter_async_context(
            Client(streamable_http_client(URL, http_client=http), mode="legacy")
        )


async def call(token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One tools/call in a fresh session: whether it is an error, and its text."""
    async with connect(token) as client:
        result = await client.call_tool(name, arguments)
    text = "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
    return {"is_error": bool(result.is_error), "text": text}


async def tool_names(token: str) -> list[str]:
    """The tools the gateway lists for the client of ``token``."""
    async with connect(token) as client:
        listed = await client.list_tools()
    return sorted(tool.name for tool in listed.tools)


async def main() -> None:
    alice, bob = os.environ["ALICE_TOKEN"], os.environ["BOB_TOKEN"]
    workspace = os.path.dirname(WORKSPACE_FILE)
    report = {
        "tools": await tool_names(alice),
        "bob_tools": await tool_names(bob),
        "alice_reads_workspace_file": await call(
            alice, "filesystem__read_text_file", {"path": WORKSPACE_FILE}
        ),
        "alice_lists_workspace": await call(alice, "filesystem__list_directory", {"path": workspace}),
        "alice_reads_shadow_via_dotdot": await call(
            alice, "filesystem__read_text_file", {"path": f"{workspace}/../../etc/shadow"}
        ),
        "bob_reads_workspace_file": await call(bob, "filesystem__read_text_file", {"path": WORKSPACE_FILE}),
    }
    print(json.dumps(report))


asyncio.run(main())
