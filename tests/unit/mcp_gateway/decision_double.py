# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""TEST DOUBLE of OPA's decision API (not OPA): a loopback HTTP server that applies the decision
contract's rules in Python, so the gateway's unit-level tests need no OPA build.

It can also misbehave on purpose (slow, HTTP 500, malformed JSON, ``allow: "true"``, allow
everything) so the tests can show that the gateway fails closed. The real OPA with the real policy
is exercised by the integration test.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DECISION_PATH = "/v1/data/sovereign/mcp/decision"

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
    },
    "shell_tools": ["run_command", "execute", "exec", "shell", "bash", "run_shell", "terminal"],
    "destructive_tools": ["delete_file", "move_file", "remove", "rename"],
}


def contract_decision(data: dict[str, Any], decision_input: dict[str, Any]) -> dict[str, Any]:
    """The contract's default rules, in Python: allow only what they allow, with reasons."""
    reasons: list[str] = []
    client, server, tool = (
        decision_input.get("client"),
        decision_input.get("server"),
        decision_input.get("tool"),
    )
    roots: list[str] = data["workspace_roots"]
    client_entry = data["clients"].get(client)
    if client_entry is None:
        reasons.append(f"unknown client {client}")
    else:
        listed = client_entry["servers"].get(server, [])
        if tool not in listed and not ("*" in listed and tool not in data["shell_tools"]):
            reasons.append(f"tool {tool} not allowed for client {client} on server {server}")
    if decision_input.get("path_errors"):
        reasons.append("path errors: " + "; ".join(decision_input["path_errors"]))
    for path in decision_input.get("paths", []):
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
            reasons.append(f"path {path} is not normalised")
        elif not any(path == root or path.startswith(root + "/") for root in roots):
            reasons.append(f"path {path} is outside the workspace roots")
        elif tool in data["destructive_tools"] and path in roots:
            reasons.append(f"{tool} may not target the workspace root {path}")
    return {"allow": not reasons, "reasons": reasons}


class DecisionDouble:
    """Serves the decision API on 127.0.0.1 in a thread. ``mode`` picks how it answers:

    ``contract`` (the rules above), ``slow`` (answers after ``delay_s``), ``error500``,
    ``malformed`` (not JSON), ``string_true`` (``"allow": "true"``), ``no_result`` (``{}``),
    ``allow_all`` (``allow: true`` for everything: shows the gateway's own workspace check).
    """

    def __init__(self, workspace_roots: list[str]) -> None:
        self.data = {**POLICY_DATA, "workspace_roots": workspace_roots}
        self.mode = "contract"
        self.delay_s = 2.0
        self.inputs: list[dict[str, Any]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as OPA's server does

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._send(200, b"{}")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
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
        if self.mode == "error500":
            return 500, b'{"code": "internal_error"}'
        if self.mode == "malformed":
            return 200, b'{"result": {"allow": tru'
        if self.mode == "string_true":
            return 200, json.dumps({"result": {"allow": "true", "reasons": []}}).encode()
        if self.mode == "no_result":
            return 200, b"{}"
        if self.mode == "allow_all":
            return 200, b'{"result": {"allow": true, "reasons": []}}'
        return 200, json.dumps({"result": contract_decision(self.data, decision_input)}).encode()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
