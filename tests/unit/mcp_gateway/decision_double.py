# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""TEST DOUBLE of OPA's decision API (not OPA): a loopback HTTP server that applies the decision
contract's rules in Python, so the gateway's unit-level tests need no OPA build.

It also answers the tools/list query (``visible_tools``) from the same client lists, and can
misbehave on purpose (slow, HTTP 500, malformed JSON, ``allow: "true"``, NaN, Infinity, a repeated
key, allow everything) so the tests can show that the gateway fails closed. The real OPA with the
real policy is exercised by the integration tests.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DECISION_PATH = "/v1/data/sovereign/mcp/decision"
TOOLS_PATH = "/v1/data/sovereign/mcp/visible_tools"

POLICY_DATA: dict[str, Any] = {
    "clients": {
        "alice": {
            "servers": {
                "filesystem": [
                    "read_text_file",
                    "read_multiple_files",
                    "list_directory",
                    "write_file",
                    "move_file",
                    "get_file_info",
                ],
                "git": ["*"],
            }
        },
        "bob": {"servers": {"filesystem": ["read_text_file"]}},
        "carol": {"servers": {"filesystem": ["*"], "git": ["*"]}},
    },
    "shell_tools": ["run_command", "execute", "exec", "shell", "bash", "run_shell", "terminal"],
    "destructive_tools": ["delete_file", "move_file", "remove", "rename"],
}


CANNED: dict[str, tuple[int, bytes]] = {
    "error500": (500, b'{"code": "internal_error"}'),
    "malformed": (200, b'{"result": {"allow": tru'),
    "string_true": (200, b'{"result": {"allow": "true", "reasons": []}}'),
    "no_result": (200, b"{}"),
    "allow_all": (200, b'{"result": {"allow": true, "reasons": []}}'),
    # A deny from a policy that names no refusal: its reason holds a path the client must not read.
    "deny_without_refusals": (
        200,
        b'{"result": {"allow": false, "reasons": ["path /srv/secret is outside"]}}',
    ),
    # Python's json reads these three as an allow; RFC 8259 does not allow them at all.
    "nan": (200, b'{"result": {"allow": true, "reasons": NaN}}'),
    "infinity": (200, b'{"result": {"allow": true, "reasons": [], "weight": -Infinity}}'),
    "duplicate_key": (200, b'{"result": {"allow": false, "reasons": ["no"], "allow": true}}'),
}
"""The misbehaving answers, by mode."""


def listed(data: dict[str, Any], client: Any, server: Any, tool: Any) -> bool:
    """Whether ``tool`` is listed for ``client`` on ``server`` (by name, or "*" unless shell-like)."""
    client_entry = data["clients"].get(client) if isinstance(client, str) else None
    names = client_entry["servers"].get(server, []) if client_entry else []
    return tool in names or ("*" in names and tool not in data["shell_tools"])


def contract_decision(data: dict[str, Any], decision_input: dict[str, Any]) -> dict[str, Any]:
    """The contract's default rules, in Python: allow only what they allow, with reasons (detail)
    and refusals (the rule, what the client may read)."""
    refusals: dict[str, str] = {}
    reasons: list[str] = []

    def deny(rule: str, public: str, detail: str) -> None:
        refusals[f"{rule}: {public}"] = ""
        reasons.append(detail)

    client, server, tool = (
        decision_input.get("client"),
        decision_input.get("server"),
        decision_input.get("tool"),
    )
    roots: list[str] = data["workspace_roots"]
    if client not in data["clients"]:
        deny("client_not_configured", f"client {client} is not configured", f"unknown client {client}")
    elif not listed(data, client, server, tool):
        message = f"tool {tool} not allowed for client {client} on server {server}"
        deny("tool_not_allowed", message, message)
    if decision_input.get("path_errors"):
        deny(
            "path_errors",
            "the gateway could not normalise every path",
            "; ".join(decision_input["path_errors"]),
        )
    paths = decision_input.get("paths", [])
    if decision_input.get("path_arguments") and not paths:
        deny("path_missing", f"tool {tool} takes a path and the call names none", "no path")
    for path in paths:
        segments = path.split("/")
        if (
            not path.startswith("/")
            or "." in segments
            or ".." in segments
            or "//" in path
            or "%" in path
            or "\\" in path
            or "\x00" in path
        ):
            deny("path_not_clean", "a path is not normalised", f"path {path} is not normalised")
        elif not any(path == root or path.startswith(root + "/") for root in roots):
            deny(
                "path_outside_workspace",
                "a path is outside the workspace roots",
                f"path {path} is outside the workspace roots",
            )
        elif tool in data["destructive_tools"] and path in roots:
            deny(
                "destructive_on_root", f"{tool} may not target a workspace root", f"{tool} on the root {path}"
            )
    return {"allow": not reasons, "reasons": reasons, "refusals": sorted(refusals)}


def visible_tools(data: dict[str, Any], list_input: dict[str, Any]) -> list[dict[str, str]]:
    """The entries of ``list_input["tools"]`` the client's lists allow (the policy's visible_tools)."""
    return [
        entry
        for entry in list_input.get("tools", [])
        if listed(data, list_input.get("client"), entry.get("server"), entry.get("tool"))
    ]


class DecisionDouble:
    """Serves the decision API on 127.0.0.1 in a thread. ``mode`` picks how it answers:

    ``contract`` (the rules above), ``slow`` (answers after ``delay_s``), ``error500``,
    ``malformed`` (not JSON), ``string_true`` (``"allow": "true"``), ``no_result`` (``{}``),
    ``allow_all`` (``allow: true`` for everything: shows the gateway's own workspace check),
    ``nan``, ``infinity`` and ``duplicate_key`` (answers only a lax JSON reader takes as an allow),
    ``deny_without_refusals`` (a deny whose only reason holds a path). ``tools_mode`` does the same
    for the tools/list query.
    """

    def __init__(self, workspace_roots: list[str]) -> None:
        self.data = {**POLICY_DATA, "workspace_roots": workspace_roots}
        self.mode = "contract"
        self.tools_mode = "contract"
        self.delay_s = 2.0
        self.inputs: list[dict[str, Any]] = []
        self.list_inputs: list[dict[str, Any]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as OPA's server does

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._send(200, b"{}")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == TOOLS_PATH:
                    listed_input = json.loads(body)["input"]
                    double.list_inputs.append(listed_input)
                    if double.tools_mode in CANNED:
                        self._send(*CANNED[double.tools_mode])
                        return
                    self._send(200, json.dumps({"result": visible_tools(double.data, listed_input)}).encode())
                    return
                if self.path != DECISION_PATH:
                    self._send(404, b"{}")
                    return
                decision_input = json.loads(body)["input"]
                double.inputs.append(decision_input)
                self._send(*double.answer(decision_input))

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{DECISION_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, decision_input: dict[str, Any]) -> tuple[int, bytes]:
        """(HTTP status, body) for ``decision_input`` in the current mode."""
        if self.mode == "slow":
            time.sleep(self.delay_s)
        if self.mode in CANNED:
            return CANNED[self.mode]
        return 200, json.dumps({"result": contract_decision(self.data, decision_input)}).encode()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
