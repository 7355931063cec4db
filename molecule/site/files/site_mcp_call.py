# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Calls the MCP gateway through the TLS proxy from the tailnet peer, as an agent would.

MCP's Streamable HTTP by hand (initialize, notifications/initialized, tools/call, each a POST to
URL with the session id the gateway gave), with the standard library only: the peer is a plain
Debian host without the SDK. Tokens come from the environment (ALICE_TOKEN, BOB_TOKEN); the
result, one JSON object on stdout, never contains them.

Usage: python3 site_mcp_call.py URL CA WORKSPACE_FILE
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request
from typing import Any

URL, CA, WORKSPACE_FILE = sys.argv[1:4]
CONTEXT = ssl.create_default_context(cafile=CA)


def post(token: str, message: dict[str, Any], session: str = "") -> tuple[dict[str, Any], str]:
    """POST one JSON-RPC message; its answer (plain JSON or the last SSE data line) and the session id."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    if session:
        headers["Mcp-Session-Id"] = session
    request = urllib.request.Request(URL, data=json.dumps(message).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30, context=CONTEXT) as response:
        body = response.read().decode()
        session = response.headers.get("Mcp-Session-Id", session)
    if not body.strip():
        return {}, session
    if body.lstrip().startswith("{"):
        return json.loads(body), session
    data = [line[len("data:") :].strip() for line in body.splitlines() if line.startswith("data:")]
    return json.loads(data[-1]), session


def call(token: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One tools/call in a fresh session: whether it is an error, and its text."""
    _initialize_answer, session = post(
        token,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "site-peer", "version": "1"},
            },
        },
    )
    post(token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    answer, _same_session = post(
        token,
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}},
        session,
    )
    result = answer.get("result", {})
    blocks = result.get("content", [])
    text = "\n".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    is_error = bool(result.get("isError")) or "error" in answer
    return {"is_error": is_error, "text": text or json.dumps(answer.get("error"))}


def main() -> None:
    alice, bob = os.environ["ALICE_TOKEN"], os.environ["BOB_TOKEN"]
    workspace = os.path.dirname(WORKSPACE_FILE)
    report = {
        "alice_reads_workspace_file": call(alice, "filesystem__read_text_file", {"path": WORKSPACE_FILE}),
        "alice_reads_shadow_via_dotdot": call(
            alice, "filesystem__read_text_file", {"path": f"{workspace}/../../etc/shadow"}
        ),
        "bob_reads_workspace_file": call(bob, "filesystem__read_text_file", {"path": WORKSPACE_FILE}),
    }
    print(json.dumps(report))


main()
