# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""One MCP tool call through Nginx's TLS and the gateway, as an agent makes it (`make demo`).

Runs on the demo host with the gateway virtualenv's python, which holds the official MCP SDK:

    python demo_mcp_call.py URL CA_FILE TOOL JSON_ARGUMENTS

The client's token comes from the environment (MCP_TOKEN). Prints one JSON object, ``is_error``
and the tool's text, never the token.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
from contextlib import AsyncExitStack
from typing import Any

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def call(url: str, ca_file: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Open a session, call ``tool`` once, and return whether it failed and its text."""
    headers = {"Authorization": f"Bearer {os.environ['MCP_TOKEN']}"}
    verify = ssl.create_default_context(cafile=ca_file)
    timeout = httpx2.Timeout(30.0)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=timeout, verify=verify, trust_env=False)
        )
        client = await stack.enter_async_context(
            Client(streamable_http_client(url, http_client=http), mode="legacy")
        )
        result = await client.call_tool(tool, arguments)
    text = "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))
    return {"is_error": bool(result.is_error), "text": text}


def leaf_errors(error: BaseException) -> list[str]:
    """The messages of the innermost exceptions (the SDK wraps them in exception groups)."""
    inner: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    if inner:
        return [message for exception in inner for message in leaf_errors(exception)]
    return [f"{type(error).__name__}: {error}"]


def main() -> None:
    """Command line entry point; a failed call prints its error and exits 1."""
    url, ca_file, tool, arguments = sys.argv[1:5]
    try:
        print(json.dumps(asyncio.run(call(url, ca_file, tool, json.loads(arguments)))))
    except Exception as error:
        print(json.dumps({"error": "; ".join(leaf_errors(error))}))
        sys.exit(1)


if __name__ == "__main__":
    main()
