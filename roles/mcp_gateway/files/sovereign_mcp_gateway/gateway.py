# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The MCP side of the gateway: tools/list from the downstream servers, and the checked tools/call.

Order of a tools/call: find the downstream tool (unknown -> error), normalise the path arguments,
ask OPA, execute only on an explicit allow (and only when every normalised path is inside the
gateway's own workspace roots: defence in depth against a too-permissive policy), write one audit
line, return the downstream result. A denied call never reaches the downstream server.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from . import __version__
from .audit import AuditLog, AuditRecord
from .decision import DecisionClient
from .downstream import Downstreams, split_name
from .paths import inside_roots, normalise_arguments

logger = logging.getLogger(__name__)

DENIED_PREFIX = "denied by policy"


def error_result(text: str) -> types.CallToolResult:
    """An MCP tool error result (``isError: true``) carrying ``text``."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def client_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The client id the HTTP layer authenticated for this request, or None."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.username if isinstance(user, AuthenticatedUser) else None


class Gateway:
    """Answers tools/list and tools/call for authenticated clients."""

    def __init__(
        self,
        downstreams: Downstreams,
        decisions: DecisionClient,
        audit: AuditLog,
        workspace_roots: tuple[str, ...],
    ) -> None:
        self.downstreams = downstreams
        self.decisions = decisions
        self.audit = audit
        self.workspace_roots = workspace_roots

    def mcp_server(self) -> Server[Any]:
        """The SDK server whose handlers are this gateway's."""
        server: Server[Any] = Server(
            "sovereign-mcp-gateway",
            version=__version__,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )
        # The SDK's default middleware is an OpenTelemetry span per message; no exporter is ever
        # installed here (hosts have no egress), so it is pure per-call cost.
        server.middleware = []
        return server

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """Every downstream tool, named ``<server>__<tool>``."""
        return types.ListToolsResult(tools=self.downstreams.tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """Decide, then (only on allow) forward one tools/call."""
        client = client_of(ctx)
        if client is None:
            # The HTTP layer refuses unauthenticated requests; reaching here without a client is a bug.
            return error_result(f"{DENIED_PREFIX}: request is not authenticated")
        return await self.checked_call(client, params.name, params.arguments or {})

    async def checked_call(self, client: str, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """The policy-checked call for an authenticated ``client``."""
        route = self.downstreams.route(name)
        if route is None:
            parts = split_name(name)
            self.audit.write(
                AuditRecord(
                    client=client,
                    server=parts[0] if parts else None,
                    tool=parts[1] if parts else name,
                    decision="deny",
                    reasons=["unknown tool"],
                    outcome="unknown_tool",
                )
            )
            return error_result(f"{DENIED_PREFIX}: unknown tool {name!r}")

        server = route.server.name
        normalised = normalise_arguments(arguments, route.server.path_arguments)
        decision = await self.decisions.decide(
            {
                "client": client,
                "server": server,
                "tool": route.tool,
                "arguments": arguments,
                "paths": normalised.paths,
                "path_errors": normalised.path_errors,
            }
        )
        reasons = list(decision.reasons)
        allow = decision.allow
        if allow and normalised.path_errors:
            allow, reasons = False, [*reasons, *normalised.path_errors]
        outside = [path for path in normalised.paths if not inside_roots(path, self.workspace_roots)]
        if allow and outside:
            allow, reasons = False, [*reasons, f"gateway: paths outside the workspace roots: {outside}"]

        record = AuditRecord(
            client=client,
            server=server,
            tool=route.tool,
            decision="allow" if allow else "deny",
            reasons=reasons,
            outcome="denied",
            paths=normalised.paths,
            opa_ms=decision.latency_ms,
        )
        if not allow:
            self.audit.write(record)
            return error_result(f"{DENIED_PREFIX}: {'; '.join(reasons) or 'no reason given'}")

        started = time.perf_counter()
        try:
            result = await self.downstreams.call(route, normalised.arguments)
        except Exception as exc:
            call_ms = (time.perf_counter() - started) * 1000.0
            logger.warning("downstream %s tool %s failed: %s", server, route.tool, type(exc).__name__)
            self.audit.write(replace(record, outcome="failed", call_ms=call_ms))
            return error_result(f"downstream server {server!r} failed ({type(exc).__name__})")
        call_ms = (time.perf_counter() - started) * 1000.0
        self.audit.write(replace(record, outcome="tool_error" if result.is_error else "ok", call_ms=call_ms))
        return result
